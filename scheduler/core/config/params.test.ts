import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, asParams, onlyKeys, readEnum, readNumber, readShapeTable } from './params.js';

test('readNumber names the field and the rule', () => {
  const p = asParams({ weight: 'x', n: 2.5, neg: -1 }, 'placement.scorers[0]');
  assert.throws(() => readNumber(p, 'weight', 'placement.scorers[0]', 1), /placement\.scorers\[0\]\.weight: expected a number, got "x"/);
  assert.throws(() => readNumber(p, 'n', 'x', 1, { integer: true }), /x\.n: expected an integer, got 2.5/);
  assert.throws(() => readNumber(p, 'neg', 'x', 1, { min: 0 }), /x\.neg: expected a number ≥ 0, got -1/);
  assert.equal(readNumber(p, 'missing', 'x', 7), 7);
  assert.equal(readNumber(p, 'n', 'x', 0, { min: 0, max: 3 }), 2.5);
});

test('unknown keys, bad enums and shape tables are rejected with the path', () => {
  assert.throws(() => onlyKeys({ wieght: 1 }, 'a.b', ['weight']), (e: unknown) => e instanceof ConfigError && e.field === 'a.b.wieght' && e.code === 'E_BAD_CONFIG');
  assert.throws(() => readEnum({ mode: 'fast' }, 'mode', 'p', ['fcfs', 'wspt'], 'fcfs'), /p\.mode: expected one of fcfs, wspt, got "fast"/);
  assert.throws(() => asParams([1], 'p'), /p: expected a mapping/);
  const t = readShapeTable({ w: { tool_call: 0.1 } }, 'w', 'p', ['tool_call', 'chat'], { tool_call: 1, chat: 2 });
  assert.deepEqual(t, { tool_call: 0.1, chat: 2 });
  assert.throws(() => readShapeTable({ w: { tool: 1 } }, 'w', 'p', ['tool_call'], {}), /p\.w\.tool: unknown field/);
});
