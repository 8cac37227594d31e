// --goodput parsing: vLLM's KEY:MS pairs, shape prefixes, and an error naming each bad token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSlo, formatGoodput, parseGoodput } from './goodput.js';
import { record } from './testing/records.js';

test('good tokens: ms to seconds, global and shape-scoped, one quoted string or several arguments', () => {
  const cases: Array<[string[], ReturnType<typeof parseGoodput>]> = [
    [['ttft:500', 'tpot:30'], { all: { ttftS: 0.5, tpotS: 0.03 }, byShape: {} }],
    [['ttft:500 tpot:30'], { all: { ttftS: 0.5, tpotS: 0.03 }, byShape: {} }],
    [['e2el:5000'], { all: { e2eS: 5 }, byShape: {} }],
    [['tool_call.ttft:300', 'reasoning.tpot:45.5'], { all: {}, byShape: { tool_call: { ttftS: 0.3 }, reasoning: { tpotS: 0.0455 } } }],
    [['ttft:1000', 'chat.ttft:800', 'terminal.e2el:1e4'], { all: { ttftS: 1 }, byShape: { chat: { ttftS: 0.8 }, terminal: { e2eS: 10 } } }],
  ];
  for (const [tokens, expected] of cases) assert.deepEqual(parseGoodput(tokens), expected, tokens.join(' '));
});

test('bad tokens: one message naming the token and what is allowed', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /--goodput: needs at least one KEY:MS pair/],
    [['  '], /needs at least one/],
    [['ttft500'], /bad token 'ttft500': expected KEY:MS with KEY one of ttft, tpot, e2el/],
    [['itl:30'], /bad token 'itl:30': unknown key 'itl'; keys: ttft, tpot, e2el/],
    [['batch.ttft:30'], /bad token 'batch.ttft:30': unknown shape 'batch'; shapes: tool_call, reasoning, terminal, chat/],
    [['ttft:'], /bad token 'ttft:': '' is not a positive number/],
    [['ttft:abc'], /bad token 'ttft:abc': 'abc' is not a positive/],
    [['tpot:0'], /bad token 'tpot:0': '0' is not a positive/],
    [['tpot:-5'], /'-5' is not a positive/],
    [['ttft:Infinity'], /'Infinity' is not a positive/],
    [['ttft:500', 'ttft:600'], /bad token 'ttft:600': ttft given twice/],
    [['chat.tpot:5', 'chat.tpot:6'], /bad token 'chat.tpot:6': chat.tpot given twice/],
  ];
  for (const [tokens, message] of cases) {
    assert.throws(() => parseGoodput(tokens), (err: Error & { code?: string }) => {
      assert.match(err.message, message);
      assert.equal(err.code, 'E_USAGE');
      assert.ok(!err.message.includes('\n'));
      return true;
    }, tokens.join(' '));
  }
});

test('a shape-scoped key and the global one coexist (not "given twice")', () => {
  assert.deepEqual(parseGoodput(['ttft:500', 'chat.ttft:600']), { all: { ttftS: 0.5 }, byShape: { chat: { ttftS: 0.6 } } });
});

test('effective SLO: shape-scoped over global over the request’s own; e2e unbounded unless set', () => {
  const overrides = parseGoodput(['ttft:700', 'tool_call.ttft:300', 'tool_call.e2el:2000']);
  assert.deepEqual(effectiveSlo(record({ shape: 'tool_call' }), overrides), { ttftS: 0.3, tpotS: 0.03, e2eS: 2 });
  assert.deepEqual(effectiveSlo(record({ shape: 'reasoning' }), overrides), { ttftS: 0.7, tpotS: 0.05, e2eS: Infinity });
  assert.deepEqual(effectiveSlo(record({ shape: 'chat', slo: { ttftS: 9, tpotS: 0.2 } }), { all: {}, byShape: {} }), { ttftS: 9, tpotS: 0.2, e2eS: Infinity });
});

test('formatGoodput gives the overrides back in ms, global first', () => {
  assert.deepEqual(formatGoodput(parseGoodput(['terminal.tpot:40', 'ttft:500', 'e2el:9000'])), { ttft: 500, e2el: 9000, 'terminal.tpot': 40 });
});
