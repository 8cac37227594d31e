// SLO overrides in the syntax load testers already use: vLLM bench's `--goodput ttft:500 tpot:30 e2el:5000`
// (KEY:VALUE in milliseconds, space-separated, inclusive bounds), plus a `shape.` prefix that scopes one to a
// shape (`tool_call.ttft:300`). A request is judged against, per key: the shape-scoped override, else the global
// override, else the SLO the scheduler gave the request (per shape and pool).
import { SHAPES, type Shape } from '../core/types.js';
import type { RequestRecord } from '../workload/types.js';

export const GOODPUT_KEYS = ['ttft', 'tpot', 'e2el'] as const;
export type GoodputKey = (typeof GOODPUT_KEYS)[number];

/** Bounds in seconds; a key left out keeps the request's own SLO (ttft, tpot) or no bound (e2el). */
export interface SloBounds {
  ttftS?: number;
  tpotS?: number;
  e2eS?: number;
}

export interface SloOverrides {
  all: SloBounds;
  byShape: Partial<Record<Shape, SloBounds>>;
}

export const NO_OVERRIDES: SloOverrides = { all: {}, byShape: {} };

const FIELD: Record<GoodputKey, keyof SloBounds> = { ttft: 'ttftS', tpot: 'tpotS', e2el: 'e2eS' };

function syntaxError(message: string): Error {
  return Object.assign(new Error(`--goodput: ${message}`), { code: 'E_USAGE' });
}

const EXPECTED = `expected KEY:MS with KEY one of ${GOODPUT_KEYS.join(', ')}, optionally prefixed by a shape ` +
  `(${SHAPES.map((s) => `${s}.`).join(', ')})`;

/**
 * Parses `['ttft:500', 'tpot:30', 'tool_call.ttft:300']` (a token may also hold several space-separated pairs, as
 * AIPerf's quoted form does). Every error names the bad token; a key given twice for the same scope is an error
 * rather than last-one-wins, so a pasted command line never silently loses a bound.
 */
export function parseGoodput(tokens: readonly string[]): SloOverrides {
  const out: SloOverrides = { all: {}, byShape: {} };
  const pairs = tokens.flatMap((t) => t.split(/\s+/)).filter((t) => t !== '');
  if (pairs.length === 0) throw syntaxError(`needs at least one KEY:MS pair (${EXPECTED})`);
  for (const token of pairs) {
    const colon = token.indexOf(':');
    if (colon < 0) throw syntaxError(`bad token '${token}': ${EXPECTED}`);
    const name = token.slice(0, colon);
    const rawValue = token.slice(colon + 1);
    const dot = name.indexOf('.');
    const scope = dot >= 0 ? name.slice(0, dot) : undefined;
    const key = dot >= 0 ? name.slice(dot + 1) : name;
    if (scope !== undefined && !(SHAPES as readonly string[]).includes(scope)) {
      throw syntaxError(`bad token '${token}': unknown shape '${scope}'; shapes: ${SHAPES.join(', ')}`);
    }
    if (!(GOODPUT_KEYS as readonly string[]).includes(key)) {
      throw syntaxError(`bad token '${token}': unknown key '${key}'; keys: ${GOODPUT_KEYS.join(', ')} (milliseconds)`);
    }
    const ms = rawValue.trim() === '' ? NaN : Number(rawValue);
    if (!Number.isFinite(ms) || ms <= 0) {
      throw syntaxError(`bad token '${token}': '${rawValue}' is not a positive number of milliseconds`);
    }
    const bounds = scope === undefined ? out.all : (out.byShape[scope as Shape] ??= {});
    const field = FIELD[key as GoodputKey];
    if (bounds[field] !== undefined) throw syntaxError(`bad token '${token}': ${name} given twice`);
    bounds[field] = ms / 1000;
  }
  return out;
}

/** The overrides back in `--goodput` form (milliseconds), for the report to state what it judged against. */
export function formatGoodput(overrides: SloOverrides): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (prefix: string, bounds: SloBounds) => {
    for (const key of GOODPUT_KEYS) {
      const s = bounds[FIELD[key]];
      if (s !== undefined) out[`${prefix}${key}`] = Number((s * 1000).toPrecision(9));
    }
  };
  put('', overrides.all);
  for (const shape of SHAPES) {
    const b = overrides.byShape[shape];
    if (b) put(`${shape}.`, b);
  }
  return out;
}

/** The bounds a record is judged against (seconds); e2eS is Infinity when nobody set one. */
export function effectiveSlo(record: RequestRecord, overrides: SloOverrides): Required<SloBounds> {
  const scoped = overrides.byShape[record.shape] ?? {};
  return {
    ttftS: scoped.ttftS ?? overrides.all.ttftS ?? record.slo.ttftS,
    tpotS: scoped.tpotS ?? overrides.all.tpotS ?? record.slo.tpotS,
    e2eS: scoped.e2eS ?? overrides.all.e2eS ?? Infinity,
  };
}
