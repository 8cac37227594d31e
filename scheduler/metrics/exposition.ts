// A parser for the Prometheus text exposition format 0.0.4 (what GET /metrics returns), written from the format's
// description (prometheus.io/docs/instrumenting/exposition_formats): `# HELP name text`, `# TYPE name type`, and
// samples `name{label="value",...} value [timestamp]` with \\, \" and \n escapes in label values. Used by the tests
// to check values after a real scrape; strict, so a malformed line fails with its line number.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
}

export interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '' }));
    return f;
  };
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'HELP') f.help = meta[3]!;
      else f.type = meta[3]!;
      return;
    }
    if (line.startsWith('#')) return;
    samples.push(parseSample(line, where));
  });
  return { families, samples };
}

function parseSample(line: string, where: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`${where}: no metric name in ${JSON.stringify(line)}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (let guard = 0; !rest.startsWith('}'); guard++) {
      if (guard > 1000) throw new Error(`${where}: too many labels`);
      const key = LABEL.exec(rest)?.[0];
      if (!key || rest[key.length] !== '=' || rest[key.length + 1] !== '"') throw new Error(`${where}: bad label at ${JSON.stringify(rest)}`);
      const [value, after] = readQuoted(rest.slice(key.length + 2), where);
      labels[key] = value;
      rest = after.startsWith(',') ? after.slice(1) : after;
      if (!rest.startsWith('}') && after === rest) throw new Error(`${where}: expected , or } at ${JSON.stringify(rest)}`);
    }
    rest = rest.slice(1);
  }
  const fields = rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new Error(`${where}: expected a value (and optional timestamp) after ${name}`);
  const value = parseValue(fields[0]!);
  if (Number.isNaN(value) && fields[0] !== 'NaN') throw new Error(`${where}: bad value ${JSON.stringify(fields[0])}`);
  return { name, labels, value };
}

/** A label value up to its closing quote; returns the value and what follows the quote. */
function readQuoted(s: string, where: string): [string, string] {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return [out, s.slice(i + 1)];
    if (c === '\\') {
      const next = s[++i];
      if (next === 'n') out += '\n';
      else if (next === '\\' || next === '"') out += next;
      else throw new Error(`${where}: bad escape \\${next ?? ''}`);
    } else out += c;
  }
  throw new Error(`${where}: unterminated label value`);
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** The one sample of `name` whose labels include all of `match`; throws if none or several. */
export function sampleValue(e: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = select(e, name, match);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${found.length} samples match`);
  return found[0]!.value;
}

/** Samples of `name` whose labels include all of `match`. */
export function select(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum over the samples of `name` whose labels include `match` (0 when none). */
export function sumValues(e: Exposition, name: string, match: Record<string, string> = {}): number {
  return select(e, name, match).reduce((a, s) => a + s.value, 0);
}
