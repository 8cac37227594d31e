// A small flag parser: `--name value`, `--name=value`, boolean `--flag`. Unknown flags are errors that name the
// flag and list the known ones, so a typo never silently falls back to a default.

export interface FlagSpec {
  /** 'boolean' flags take no value. */
  type: 'string' | 'number' | 'boolean';
  help: string;
}

export type ParsedFlags = Record<string, string | number | boolean | undefined>;

export function usageError(message: string): Error {
  return Object.assign(new Error(message), { code: 'E_USAGE' });
}

export function parseFlags(argv: string[], specs: Record<string, FlagSpec>): { flags: ParsedFlags; rest: string[] } {
  const flags: ParsedFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) {
      throw usageError(`unknown flag --${name}; known: ${Object.keys(specs).map((k) => `--${k}`).join(', ') || 'none'}`);
    }
    if (spec.type === 'boolean') {
      if (eq >= 0) throw usageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw usageError(`--${name} needs a value (${spec.help})`);
    if (spec.type === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw usageError(`--${name} must be a number, got '${raw}'`);
      flags[name] = value;
    } else {
      flags[name] = raw;
    }
  }
  return { flags, rest };
}

export function flagHelp(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs)
    .map(([name, spec]) => `  --${name}${spec.type === 'boolean' ? '' : ` <${spec.type}>`}  ${spec.help}`)
    .join('\n');
}
