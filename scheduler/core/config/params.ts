// Reading plugin parameters from parsed YAML/JSON with errors that name the field. Every plugin validates its own
// parameters through these, so an operator's typo reads "placement.scorers[2].weight: expected a number ≥ 0, got
// "x"" instead of a NaN deep inside a score.

export class ConfigError extends Error {
  readonly code = 'E_BAD_CONFIG';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Params = Readonly<Record<string, unknown>>;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The object at `path`, or an error naming it. undefined/null read as {} (all defaults). */
export function asParams(value: unknown, path: string): Params {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(path, `expected a mapping, got ${show(value)}`);
  return value as Params;
}

/** Rejects keys the plugin does not know (a misspelt key would otherwise silently keep its default). */
export function onlyKeys(params: Params, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${path}.${key}`, `unknown field; allowed: ${allowed.length ? allowed.join(', ') : '(none)'}`);
    }
  }
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  integer?: boolean;
}

export function readNumber(params: Params, key: string, path: string, fallback: number, rule: NumberRule = {}): number {
  const value = params[key];
  if (value === undefined) return fallback;
  const field = `${path}.${key}`;
  const bounds = [
    rule.min !== undefined ? `≥ ${rule.min}` : '',
    rule.above !== undefined ? `> ${rule.above}` : '',
    rule.max !== undefined ? `≤ ${rule.max}` : '',
  ].filter(Boolean).join(' and ');
  const want = `${rule.integer ? 'an integer' : 'a number'}${bounds ? ' ' + bounds : ''}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(field, `expected ${want}, got ${show(value)}`);
  if (rule.integer && !Number.isInteger(value)) throw new ConfigError(field, `expected ${want}, got ${value}`);
  if (rule.min !== undefined && value < rule.min) throw new ConfigError(field, `expected ${want}, got ${value}`);
  if (rule.above !== undefined && value <= rule.above) throw new ConfigError(field, `expected ${want}, got ${value}`);
  if (rule.max !== undefined && value > rule.max) throw new ConfigError(field, `expected ${want}, got ${value}`);
  return value;
}

export function readBool(params: Params, key: string, path: string, fallback: boolean): boolean {
  const value = params[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(`${path}.${key}`, `expected true or false, got ${show(value)}`);
  return value;
}

export function readString(params: Params, key: string, path: string, fallback: string): string {
  const value = params[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${path}.${key}`, `expected a non-empty string, got ${show(value)}`);
  return value;
}

export function readEnum<T extends string>(params: Params, key: string, path: string, allowed: readonly T[], fallback: T): T {
  const value = params[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** A per-shape table such as {tool_call: 0.05, reasoning: 0.5}; missing shapes take the fallback's value. */
export function readShapeTable(
  params: Params,
  key: string,
  path: string,
  shapes: readonly string[],
  fallback: Readonly<Record<string, number>>,
  rule: NumberRule = {},
): Record<string, number> {
  const table = asParams(params[key], `${path}.${key}`);
  onlyKeys(table, `${path}.${key}`, shapes);
  const out: Record<string, number> = {};
  for (const shape of shapes) out[shape] = readNumber(table, shape, `${path}.${key}`, fallback[shape] ?? 0, rule);
  return out;
}

/**
 * Builds the plugin named at `path` from `{name, params}` (absent → `defaultName` with default params); an unknown
 * name is refused with the known ones. `what` names the kind in the message ("batch policy", "plugin").
 */
export function makeNamedPlugin<T>(
  value: unknown,
  path: string,
  registry: Readonly<Record<string, (params: unknown, path: string) => T>>,
  defaultName: string,
  what = 'plugin',
): T {
  const spec = asParams(value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = readString(spec, 'name', path, defaultName);
  const factory = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown ${what} ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`);
  return factory(spec.params, `${path}.params`);
}
