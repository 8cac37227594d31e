// ServeGen stores each probability mass function as a Python dict literal in a string: "{45: 0.0096, 46: 0.0117}".
// This reads exactly that shape — numeric keys, numeric values — and nothing else: no eval, no nested values.

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(text: string, what: string): number {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) throw new Error(`${what} ${JSON.stringify(trimmed.slice(0, 30))} is not a number`);
  return Number(trimmed);
}

/** Keys and values of a `{number: number, ...}` literal, in file order. Throws with the offending entry. */
export function parseNumberDict(text: string): { keys: number[]; values: number[] } {
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) throw new Error('expected a dict literal {key: value, ...}');
  const inner = body.slice(1, -1).trim();
  const keys: number[] = [];
  const values: number[] = [];
  if (inner === '') return { keys, values };
  const entries = inner.split(',');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as string;
    if (entry.trim() === '' && i === entries.length - 1) break; // trailing comma
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`entry ${i + 1} ${JSON.stringify(entry.trim().slice(0, 30))} has no ':'`);
    keys.push(parseNumber(entry.slice(0, colon), `entry ${i + 1}: key`));
    values.push(parseNumber(entry.slice(colon + 1), `entry ${i + 1}: value`));
  }
  return { keys, values };
}
