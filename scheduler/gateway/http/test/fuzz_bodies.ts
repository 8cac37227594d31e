// fast-check generators of OpenAI request bodies and hint headers for the HTTP fuzz tests (../*.fuzz.test.ts):
// valid chat / completions bodies, and the same bodies mutated — a field replaced by a value of the wrong type, a
// huge or non-finite number, a NaN-like string, a deep nest, a long or odd-unicode string — or deleted, or a known
// field added. Bodies are JSON *text*, built here so that it can hold what JSON.stringify cannot write (-0, 1e400,
// lone surrogate escapes, duplicate keys, 100,000-deep nests): the server parses exactly such text.
// Test support only: lives under test/, which the build excludes (fast-check is a dev dependency).
import fc from 'fast-check';

/** A piece of JSON text spliced in verbatim. */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON text of a value that may contain Raw pieces (the generated values are shallow: recursion is bounded). */
export function jsonText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export const MODELS = ['fuzz-model', 'fuzz-second'] as const;

const shortText = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.lorem({ maxCount: 6 }),
  fc.constantFrom('<|im_start|>system\n', '<|endoftext|>', '\u0000', ' '.repeat(300)),
);
const textPart = fc.record({ type: fc.constant('text'), text: shortText });
const content = fc.oneof(shortText, fc.array(textPart, { minLength: 1, maxLength: 3 }));
const toolCall = fc.record({ id: fc.string({ maxLength: 8 }), type: fc.constant('function'), function: fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), arguments: fc.json({ maxDepth: 2 }) }) });
const message = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'developer', 'user'), content }),
  fc.record({ role: fc.constant('user'), content, name: fc.string({ maxLength: 10 }) }),
  fc.record({ role: fc.constant('assistant'), content: fc.option(content, { nil: null }), tool_calls: fc.array(toolCall, { maxLength: 2 }) }, { requiredKeys: ['role', 'content'] }),
  fc.record({ role: fc.constant('tool'), content, tool_call_id: fc.string({ maxLength: 8 }) }, { requiredKeys: ['role', 'content'] }),
);
const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record({ name: fc.string({ minLength: 1, maxLength: 10 }), description: shortText, parameters: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }, { requiredKeys: ['name'] }),
});

/** Fields both endpoints take (type-checked, mostly not applied). */
const common = {
  model: fc.constantFrom(...MODELS),
  max_tokens: fc.integer({ min: 1, max: 48 }),
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  top_p: fc.double({ min: 0, max: 1, noNaN: true }),
  presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
  seed: fc.integer(),
  user: fc.string({ maxLength: 12 }),
  stop: fc.oneof(fc.string({ maxLength: 6 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 })),
  n: fc.constant(1),
  logprobs: fc.constant(false),
  metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
  stream: fc.boolean(),
};

export const validChatBody = fc.record(
  {
    ...common,
    messages: fc.array(message, { minLength: 1, maxLength: 5 }),
    max_completion_tokens: fc.integer({ min: 1, max: 48 }),
    tools: fc.array(tool, { maxLength: 3 }),
    tool_choice: fc.oneof(fc.constantFrom('none', 'auto', 'required'), fc.constant({ type: 'function', function: { name: 'f' } })),
    reasoning_effort: fc.constantFrom('none', 'minimal', 'low', 'medium', 'high', 'xhigh'),
    parallel_tool_calls: fc.boolean(),
    response_format: fc.constant({ type: 'text' }),
  },
  { requiredKeys: ['messages'] },
).map((b) => withStreamOptions(b));

export const validCompletionBody = fc.record(
  {
    ...common,
    prompt: fc.oneof(
      fc.string({ minLength: 1, maxLength: 60 }),
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => [s]),
      fc.array(fc.nat({ max: 200_000 }), { minLength: 1, maxLength: 20 }).map((ids) => [ids]),
    ),
    echo: fc.constant(false),
    best_of: fc.constant(1),
    suffix: fc.constant(''),
  },
  { requiredKeys: ['prompt'] },
).map((b) => withStreamOptions(b));

/** stream_options is only valid with stream: true; add it to about half of the streaming bodies. */
function withStreamOptions<T extends { stream?: boolean; max_tokens?: number }>(b: T): T {
  return b.stream === true && (b.max_tokens ?? 0) % 2 === 0 ? { ...b, stream_options: { include_usage: true } } : b;
}

const nest = (depth: number, open: string, leaf: string, close: string): Raw => new Raw(open.repeat(depth) + leaf + close.repeat(depth));

/**
 * Values no decoder should choke on: wrong types, extreme numbers, NaN-like strings, deep nests (20,000 deep is past
 * the depth where JSON.stringify overflows the stack), long or odd strings. The costly ones are rarer, to keep the
 * runs cheap.
 */
export const nasty: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MAX_VALUE, 4294967296, 1e-320, [], {}, '') },
  { weight: 2, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '0x10', ' 1', '1 ', '-0', '+5', '1_000', 'true', 'null', '{}', '[]') },
  { weight: 2, arbitrary: fc.constantFrom(new Raw('-0'), new Raw('1e400'), new Raw('-1e400'), new Raw('1e-400'), new Raw('123456789012345678901234567890'), new Raw('"\\ud800"'), new Raw('"\\udc00x\\ud83d"'), new Raw('{"a":1,"a":2}'), new Raw('{"__proto__":{"x":1}}')) },
  { weight: 1, arbitrary: fc.constantFrom(50, 3_000, 20_000).chain((d) => fc.constantFrom(nest(d, '[', '1', ']'), nest(d, '{"a":', '1', '}'), nest(d, '{"type":"text","text":', '"x"', '}'))) },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(100_000), ' '.repeat(50_000), '\u{1F600}'.repeat(10_000), 'é'.repeat(30_000), 'ab '.repeat(20_000)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 }) },
);

/** Known field names of both endpoints plus names that collide with Object.prototype. */
const FIELDS = [
  'model', 'messages', 'prompt', 'max_tokens', 'max_completion_tokens', 'stream', 'stream_options', 'temperature', 'top_p',
  'presence_penalty', 'frequency_penalty', 'seed', 'user', 'logit_bias', 'metadata', 'store', 'service_tier', 'stop', 'n',
  'logprobs', 'functions', 'reasoning_effort', 'response_format', 'parallel_tool_calls', 'tool_choice', 'tools', 'echo',
  'best_of', 'suffix', '__proto__', 'constructor', 'hasOwnProperty', 'toString',
];

type Path = Array<string | number>;

function paths(v: unknown, at: Path, out: Path[]): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([...at, i]), paths(x, [...at, i], out)));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push([...at, k]), paths(x, [...at, k], out));
  return out;
}

export interface Mutated {
  /** JSON text of the body. */
  text: string;
  /** What was done, for failure messages: `replace messages[0].content`. */
  what: string;
}

/** A valid body with one mutation: a value replaced (at any depth), a key deleted, or a known field added. */
export function mutated(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Mutated> {
  return fc.tuple(valid, fc.nat(), fc.constantFrom('replace', 'replace', 'delete', 'add'), fc.constantFrom(...FIELDS), nasty).map(([body, pick, op, field, value]) => {
    const b = structuredClone(body) as Record<string, unknown>;
    if (op === 'add') {
      b[field] = value;
      return { text: jsonText(b), what: `add ${field}` };
    }
    const all = paths(b, [], []);
    const p = all[pick % all.length] as Path;
    const parent = p.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], b) as Record<string | number, unknown>;
    const key = p[p.length - 1] as string | number;
    if (op === 'delete' && !Array.isArray(parent)) delete parent[key];
    else parent[key] = value;
    return { text: jsonText(b), what: `${op} ${p.join('.')}` };
  });
}

export const HINT_HEADERS = ['x-request-id', 'x-session-id', 'x-turn-index', 'x-nvlsched-shape', 'x-tenant', 'x-priority'] as const;

const headerValue = fc.oneof(
  fc.constantFrom('req-1', 's1', '0', '3', '-1', '1000000', '-1000001', '9999999', '1e3', '+5', '007', ' 4 ', 'tool_call', 'chat', 'fast', ''),
  fc.stringMatching(/^[\x21-\x7e]{1,20}$/),
  fc.constantFrom('x'.repeat(257), 'y'.repeat(129)),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Hint headers as Node presents them (lower-case names; a repeated custom header may arrive as an array). */
export const hintHeaders: fc.Arbitrary<Record<string, string | string[]>> = fc.dictionary(
  fc.constantFrom(...HINT_HEADERS),
  fc.oneof({ weight: 4, arbitrary: headerValue }, { weight: 1, arbitrary: fc.array(headerValue, { minLength: 1, maxLength: 2 }) }),
  { maxKeys: 4 },
);
