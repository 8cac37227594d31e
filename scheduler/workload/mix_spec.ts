// Synthetic mixes, the spec: types and the YAML validation (every bad field throws ConfigError naming it). Streams
// are per shape (`shapes:`, tenants named `<shape>-<i>`) and, optionally, per named tenant (`tenants: {A: {shapes:
// ...}}`, every request of the stream carries that tenant's name): "tenant A floods tool calls, tenant B sends a
// normal mix" is one document. Sampling is in mix.ts.
import { parse } from 'yaml';
import {
  asParams,
  ConfigError,
  onlyKeys,
  readBool,
  readEnum,
  readNumber,
  readString,
  type Params,
} from '../core/config/params.js';
import { SHAPES, type ReasoningEffort, type Shape } from '../core/types.js';
import { readDist, type Dist } from './dist.js';

export interface ArrivalSpec {
  process: 'poisson' | 'gamma';
  ratePerS: number;
  /** Coefficient of variation of the gaps (gamma; 1 = Poisson, > 1 = bursts). */
  cv: number;
}

export interface SessionSpec {
  turns: Dist;
  thinkTimeS: Dist;
  /** Probability that a turn ends in tool_use, making the next turn a tool-result turn. */
  toolTurnShare: number;
  toolThinkTimeS: Dist;
  /** Tokens each later turn appends (user text or tool output) after the previous prompt and output. */
  turnTokens: Dist;
  maxContextTokens: number;
  assumedTpotS: number;
}

export interface ShapeSpec {
  shape: Shape;
  /** A named tenant's stream (`tenants.<name>.shapes.<shape>`): every request carries this tenant. */
  tenant?: string;
  arrival: ArrivalSpec;
  /** Tenants `<shape>-<i>` drawn uniformly (1 for a named tenant's stream). */
  tenants: number;
  prefix: { sharedTokens: number; variants: number };
  uniqueTokens: Dist;
  outputTokens: Dist;
  maxOutputTokens: number;
  hasTools: boolean;
  toolResultsShare: number;
  reasoningEffort: ReasoningEffort | undefined;
  session: SessionSpec | undefined;
}

export interface MixSpec {
  name: string;
  durationS: number;
  /** Every stream: the `shapes` section's, then each named tenant's in document order. */
  shapes: ShapeSpec[];
}

/** Tenant names as the tenants config and the x-tenant header take them (config/tenants.ts). */
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const TOKENS = { integer: true, min: 0 };
const POSITIVE_TOKENS = { integer: true, min: 1 };
const SECONDS = { integer: false, min: 0 };

/** Validates a mix (YAML text or the parsed object); every bad field throws ConfigError naming it. */
export function parseMix(source: string | object, path = 'mix'): MixSpec {
  let value: unknown = source;
  if (typeof source === 'string') {
    try {
      value = parse(source);
    } catch (error) {
      throw new ConfigError(path, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const p = asParams(value, path);
  onlyKeys(p, path, ['name', 'durationS', 'shapes', 'tenants']);
  const specs = p.shapes === undefined && p.tenants !== undefined ? [] : readShapes(p.shapes, `${path}.shapes`, undefined);
  const tenants = asParams(p.tenants, `${path}.tenants`);
  for (const [tenant, value] of Object.entries(tenants)) {
    const at = `${path}.tenants.${tenant}`;
    if (!TENANT_NAME.test(tenant)) throw new ConfigError(at, 'tenant names are 1–128 characters of letters, digits and . _ : - (starting with a letter or digit)');
    const section = asParams(value, at);
    onlyKeys(section, at, ['shapes']);
    specs.push(...readShapes(section.shapes, `${at}.shapes`, tenant));
  }
  return {
    name: readString(p, 'name', path, 'mix'),
    durationS: readNumber(p, 'durationS', path, 60, { above: 0 }),
    shapes: specs,
  };
}

function readShapes(value: unknown, path: string, tenant: string | undefined): ShapeSpec[] {
  const shapes = asParams(value, path);
  onlyKeys(shapes, path, SHAPES);
  const specs = SHAPES.filter((shape) => shapes[shape] !== undefined).map((shape) => readShape(shape, asParams(shapes[shape], `${path}.${shape}`), `${path}.${shape}`, tenant));
  if (specs.length === 0) throw new ConfigError(path, `expected at least one of ${SHAPES.join(', ')}`);
  return specs;
}

function readShape(shape: Shape, p: Params, path: string, tenant: string | undefined): ShapeSpec {
  const keys = ['arrival', 'tenants', 'prefix', 'uniqueTokens', 'outputTokens', 'maxOutputTokens', 'hasTools', 'toolResultsShare', 'reasoningEffort', 'session'];
  // A named tenant's stream is that one tenant: a count of anonymous tenants would contradict it.
  onlyKeys(p, path, tenant === undefined ? keys : keys.filter((k) => k !== 'tenants'));
  if (p.arrival === undefined) throw new ConfigError(`${path}.arrival`, 'required ({process: poisson|gamma, ratePerS, cv})');
  if (p.outputTokens === undefined) throw new ConfigError(`${path}.outputTokens`, 'required (a number or a distribution)');
  const prefix = asParams(p.prefix, `${path}.prefix`);
  onlyKeys(prefix, `${path}.prefix`, ['sharedTokens', 'variants']);
  return {
    shape,
    ...(tenant !== undefined ? { tenant } : {}),
    arrival: readArrival(asParams(p.arrival, `${path}.arrival`), `${path}.arrival`),
    tenants: readNumber(p, 'tenants', path, 1, { min: 1, integer: true }),
    prefix: {
      sharedTokens: readNumber(prefix, 'sharedTokens', `${path}.prefix`, 0, { min: 0, integer: true }),
      variants: readNumber(prefix, 'variants', `${path}.prefix`, 1, { min: 1, integer: true }),
    },
    uniqueTokens: readDist(p.uniqueTokens ?? 256, `${path}.uniqueTokens`, TOKENS),
    outputTokens: readDist(p.outputTokens, `${path}.outputTokens`, POSITIVE_TOKENS),
    maxOutputTokens: readNumber(p, 'maxOutputTokens', path, 4096, { min: 1, integer: true }),
    hasTools: readBool(p, 'hasTools', path, shape === 'tool_call'),
    toolResultsShare: readNumber(p, 'toolResultsShare', path, 0, { min: 0, max: 1 }),
    reasoningEffort: p.reasoningEffort === undefined ? undefined : readEnum(p, 'reasoningEffort', path, ['none', 'low', 'medium', 'high'] as const, 'none'),
    session: p.session === undefined ? undefined : readSession(asParams(p.session, `${path}.session`), `${path}.session`),
  };
}

function readArrival(p: Params, path: string): ArrivalSpec {
  onlyKeys(p, path, ['process', 'ratePerS', 'cv']);
  const process = readEnum(p, 'process', path, ['poisson', 'gamma'] as const, 'poisson');
  if (p.ratePerS === undefined) throw new ConfigError(`${path}.ratePerS`, 'required');
  if (process === 'poisson' && p.cv !== undefined) throw new ConfigError(`${path}.cv`, 'only for process: gamma (poisson has cv 1)');
  return {
    process,
    ratePerS: readNumber(p, 'ratePerS', path, 0, { min: 0 }),
    cv: process === 'gamma' ? readNumber(p, 'cv', path, 1, { above: 0 }) : 1,
  };
}

function readSession(p: Params, path: string): SessionSpec {
  onlyKeys(p, path, ['turns', 'thinkTimeS', 'toolTurnShare', 'toolThinkTimeS', 'turnTokens', 'maxContextTokens', 'assumedTpotS']);
  if (p.turns === undefined) throw new ConfigError(`${path}.turns`, 'required (a number or a distribution of turns per session)');
  return {
    turns: readDist(p.turns, `${path}.turns`, POSITIVE_TOKENS),
    thinkTimeS: readDist(p.thinkTimeS ?? 10, `${path}.thinkTimeS`, SECONDS),
    toolTurnShare: readNumber(p, 'toolTurnShare', path, 0, { min: 0, max: 1 }),
    toolThinkTimeS: readDist(p.toolThinkTimeS ?? 2, `${path}.toolThinkTimeS`, SECONDS),
    turnTokens: readDist(p.turnTokens ?? 500, `${path}.turnTokens`, TOKENS),
    maxContextTokens: readNumber(p, 'maxContextTokens', path, 200_000, { min: 1, integer: true }),
    assumedTpotS: readNumber(p, 'assumedTpotS', path, 0.04, { min: 0 }),
  };
}
