// The o200k tokenizer: known encodings, round trips, special-token text encoded as plain text, long unbroken runs
// cut (bounded time), early stop at maxTokens, and decode of arbitrary ids (wrap-around, junk) without throwing,
// with a character split across stream pushes coming out whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultTokenizer } from './tokenizer.js';

const tk = defaultTokenizer();

test('o200k_base: known ids, round trip, special markers as plain text', () => {
  // "Hello world" is [13225, 2375] in o200k_base (tiktoken gives the same).
  assert.deepEqual(tk.encode('Hello world'), [13225, 2375]);
  assert.equal(tk.name, 'o200k_base');
  assert.equal(tk.vocabSize, 199998);
  for (const text of ['', 'Hello world', 'é 日本語 😀 — naïve', 'line one\n\n  indented\tline two\r\n', '{"a": [1, 2.5, null]}']) {
    assert.equal(tk.decode(tk.encode(text)), text, text);
  }
  const marker = tk.encode('<|endoftext|>');
  assert.ok(marker.length > 1, 'several ordinary tokens, not the special id');
  assert.ok(marker.every((id) => id < tk.vocabSize));
  assert.equal(tk.decode(marker), '<|endoftext|>');
});

test('long unbroken runs are cut: linear time, still a faithful round trip', () => {
  // Uncut, 100,000 × "a" takes ~10 s in gpt-tokenizer (quadratic merges); cut, well under a second.
  for (const text of ['a'.repeat(100_000), ' '.repeat(100_000), '😀'.repeat(20_000), 'ab'.repeat(50_000)]) {
    const t0 = performance.now();
    const ids = tk.encode(text);
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `${text.slice(0, 2)}…: ${ms.toFixed(0)} ms`);
    assert.equal(tk.decode(ids), text);
  }
  // Equal text, equal ids (the prefix cache depends on it), and a shared prefix gives a shared id prefix.
  const base = 'You are a helpful assistant. '.repeat(50);
  const a = tk.encode(base + 'What is 2+2?');
  const b = tk.encode(base + 'Name a colour.');
  assert.deepEqual(tk.encode(base + 'What is 2+2?'), a);
  const common = tk.encode(base).length - 1;
  assert.deepEqual(a.slice(0, common), b.slice(0, common));
});

test('maxTokens stops early: the result passes the limit but the text is not all encoded', () => {
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20_000);
  const full = tk.encode(text).length;
  const limited = tk.encode(text, 1000);
  assert.ok(limited.length > 1000, `${limited.length}`);
  assert.ok(limited.length < full, `${limited.length} of ${full}`);
  assert.equal(tk.encode('short text', 1000).length, tk.encode('short text').length);
});

test('decode never throws: ids wrap modulo the vocabulary, non-integers are skipped', () => {
  const n = tk.vocabSize;
  assert.equal(tk.decode([n + 13225, -n + 13225, 13225 + 7 * n]), 'HelloHelloHello');
  assert.equal(tk.decode([1.5, Number.NaN, Infinity, 13225]), 'Hello');
  assert.equal(tk.decode([]), '');
  // Every id of a synthetic 128k vocabulary decodes to a string.
  let chars = 0;
  for (let id = 0; id < 128_256; id += 97) chars += tk.decode([id]).length;
  assert.ok(chars > 0);
});

test('stream decode: a character split across pushes comes out whole', () => {
  // 🦩 and 𓀀 are several byte-level tokens each in o200k; pushed one at a time, no U+FFFD appears.
  const text = '🦩 ok 𓀀';
  const ids = tk.encode(text);
  assert.ok(ids.length >= 8, `${ids.length} tokens`);
  const s = tk.decodeStream();
  let out = '';
  for (const id of ids) out += s.push([id]);
  out += s.end();
  assert.equal(out, text);
  // A stream ending inside a character flushes U+FFFD instead of dropping the bytes silently.
  const cut = tk.decodeStream();
  const first = tk.encode('🦩')[0] as number;
  assert.equal(cut.push([first]), '');
  assert.equal(cut.end(), '\uFFFD');
});
