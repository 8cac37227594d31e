// `serve --config <file.yaml>`: one YAML document for a gateway — the scheduler sections `nvlsched config` knows
// (policy, classification; validated by building every plugin) plus a `serve` section whose keys are the serve
// flags in camelCase (cluster, model, localWorkers, grpcPort, httpPort, ...). Flags given on the command line win
// over the file. `pools` is refused for now: the gateway serves the one self-hosted pool built from serve.cluster
// and serve.model. Every error names its field (E_BAD_CONFIG), YAML syntax errors their line. File paths in the
// section (the TLS certificate keys) are relative to the config file's folder, as a kubeconfig's are. Instance
// roles of the served instances come as `serve.roles: {prefill: 1, decode: 1}` (or a list), the --roles flag's
// mapping form (gateway/README.md "Disaggregation and migration").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

import { ConfigError, asParams } from '../core/config/params.js';
import { readRoles, type RolesSpec } from '../core/config/roles.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../core/scheduler_config.js';
import { parseLimits } from '../gateway/tenancy/limits.js';
import type { FlagSpec, ParsedFlags } from './args.js';

export interface ServeConfig {
  scheduler: SchedulerConfig;
  /** The policy and classification sections as written (what the Scheduler takes; validated above). */
  policy: unknown;
  classification: unknown;
  /** The `tenants:` section as written (validated; quotas at the edge, fair share in the scheduler), if any. */
  tenants?: unknown;
  /** The `limits:` section as written (validated; gateway/tenancy/limits.ts), if any. */
  limits?: unknown;
  /** Flag values from the `serve` section, by flag name (kebab-case). */
  flags: ParsedFlags;
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Keys of the `serve` section: every serve flag except these (they belong elsewhere or only to the command line). */
const NOT_IN_FILE = new Set(['config', 'help', 'policy']);

export function parseServeConfig(value: unknown, flagSpecs: Readonly<Record<string, FlagSpec>>, path = 'config'): ServeConfig {
  const doc = asParams(value ?? {}, path);
  if (doc.pools !== undefined) {
    throw new ConfigError(`${path}.pools`, 'serve drives one self-hosted pool built from serve.cluster and serve.model; multi-pool serving is not built yet (remove pools)');
  }
  // `deploy` belongs to `nvlsched deploy render` (the same file describes the deployment): serve ignores it.
  const { serve, deploy: _deploy, limits, ...schedulerPart } = doc;
  const scheduler = parseSchedulerConfig(schedulerPart, path);
  if (limits !== undefined) parseLimits(limits, `${path}.limits`);
  const section = asParams(serve ?? {}, `${path}.serve`);
  const allowed = Object.keys(flagSpecs).filter((f) => !NOT_IN_FILE.has(f)).map(camel);
  const flags: ParsedFlags = {};
  for (const [key, raw] of Object.entries(section)) {
    const flag = kebab(key);
    const spec = flagSpecs[flag];
    if (!spec || NOT_IN_FILE.has(flag)) throw new ConfigError(`${path}.serve.${key}`, `unknown key; known: ${allowed.join(', ')}`);
    const field = `${path}.serve.${key}`;
    if (flag === 'roles' && typeof raw === 'object' && raw !== null) {
      // `roles: {prefill: 1, decode: 1}` or a list: validated here, carried as the flag's text form.
      flags[flag] = rolesText(readRoles(raw, field) as RolesSpec);
    } else if ((flag === 'worker-ports' || flag === 'workers') && Array.isArray(raw)) {
      flags[flag] = raw.map(String).join(',');
    } else if (spec.type === 'number') {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new ConfigError(field, `expected a number, got ${JSON.stringify(raw)}`);
      flags[flag] = raw;
    } else if (spec.type === 'boolean') {
      if (typeof raw !== 'boolean') throw new ConfigError(field, `expected true or false, got ${JSON.stringify(raw)}`);
      flags[flag] = raw;
    } else {
      if (typeof raw !== 'string') throw new ConfigError(field, `expected a string, got ${JSON.stringify(raw)}`);
      flags[flag] = raw;
    }
  }
  return {
    scheduler, policy: schedulerPart.policy, classification: schedulerPart.classification, flags,
    ...(schedulerPart.tenants !== undefined ? { tenants: schedulerPart.tenants } : {}),
    ...(limits !== undefined ? { limits } : {}),
  };
}

/** The --roles text of a roles spec: `prefill=1,decode=2` or `prefill,decode,mixed`. */
export function rolesText(spec: RolesSpec): string {
  return Array.isArray(spec) ? spec.join(',') : `prefill=${(spec as { prefill: number }).prefill},decode=${(spec as { decode: number }).decode}`;
}

/** --roles: `prefill=N,decode=M` (the first N served instances prefill, the next M decode, the rest mixed) or one role per instance. */
export function parseRolesText(raw: string, field = '--roles'): RolesSpec {
  const parts = raw.split(',').map((x) => x.trim());
  if (parts.some((x) => x.includes('='))) {
    const counts: Record<string, number> = {};
    for (const part of parts) {
      const m = /^([a-z]+)=(\d+)$/.exec(part);
      if (!m) throw new ConfigError(field, `expected prefill=N,decode=M or a list of prefill|decode|mixed, got '${raw}'`);
      counts[m[1] as string] = Number(m[2]);
    }
    return readRoles(counts, field) as RolesSpec;
  }
  return readRoles(parts, field) as RolesSpec;
}

/**
 * Reads and validates the file; `flagSpecs` are serve's flags (the `serve` section's vocabulary). `pathFlags`: the
 * flags whose values are file paths, resolved against the file's folder when relative.
 */
export function loadServeConfig(file: string, flagSpecs: Readonly<Record<string, FlagSpec>>, pathFlags: Iterable<string> = []): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', `cannot read ${file}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const line = text.slice(0, problem.pos[0]).split('\n').length;
    throw new ConfigError(`${file}:${line}`, `not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  const config = parseServeConfig(doc.toJS(), flagSpecs);
  const base = path.dirname(path.resolve(file));
  for (const flag of pathFlags) {
    const value = config.flags[flag];
    if (typeof value === 'string' && value !== '' && !path.isAbsolute(value)) config.flags[flag] = path.join(base, value);
  }
  return config;
}

/** The file's flag values under the command line's: a flag given on the command line wins. */
export function mergeFlags(fromFile: ParsedFlags, fromCommandLine: ParsedFlags): ParsedFlags {
  const out: ParsedFlags = { ...fromFile };
  for (const [k, v] of Object.entries(fromCommandLine)) if (v !== undefined) out[k] = v;
  return out;
}
