// `nvlsched batch`: flag errors (one line naming the flag), and on a real Redis (skipped with a message without one)
// the whole CLI flow against a gateway with a drainer — submit prints its JSON line, a bad file exits 2 listing
// every bad line by number (--skip-invalid submits the rest), wait --progress draws a bar and prints the batch
// object, results come in input order to stdout or --out, cancel, list — and an unreachable --redis is one line
// naming the URL, exit 2, from the real CLI process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';

import { batchLines, startBatchRig, testQueue, type BatchRig } from '../batch/testing/rig.js';
import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { packageRoot } from '../util/paths.js';
import { parseBatchArgs, runBatch, type BatchArgs } from './batch.js';

const dir = mkdtempSync(path.join(tmpdir(), 'batch-cli-'));
const good = path.join(dir, 'good.jsonl');
writeFileSync(good, batchLines(12).join('\n') + '\n');
const redis: TestRedis = await startTestRedis();

test('bad batch flags are refused with one line naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /a subcommand is required: submit, status, cancel, requeue, results, wait, list/],
    [['frobnicate', 'x', '--redis', 'redis://h:1'], /unknown subcommand 'frobnicate'/],
    [['submit', good], /--redis <redis:\/\/host:port> is required/],
    [['submit', '/no/such.jsonl', '--redis', 'redis://h:1'], /no such file '\/no\/such.jsonl'/],
    [['status', '--redis', 'redis://h:1'], /batch status: the batch id is required/],
    [['status', 'b', '--redis', 'http://h:1'], /--redis: 'http:\/\/h:1' is not a redis:\/\/ or rediss:\/\/ URL/],
    [['status', 'b', '--redis', 'redis://h:1', '--skip-invalid'], /--skip-invalid: not a flag of batch status/],
    [['submit', good, '--redis', 'redis://h:1', '--chunk-lines', '0'], /--chunk-lines must be an integer in \[1, 100000\], got 0/],
    [['submit', good, '--redis', 'redis://h:1', '--model', 'gpt-9'], /--model: unknown 'gpt-9'/],
    [['results', 'b', '--redis', 'redis://h:1', '--out', '/no/dir/r.jsonl'], /--out: directory '\/no\/dir' does not exist/],
    [['status', 'b', 'c', '--redis', 'redis://h:1'], /unexpected argument 'c'/],
    [['status', 'b', '--redis', 'redis://h:1', '--queue', 'a:b'], /--queue: 'a:b' must be/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseBatchArgs(argv), (e: Error & { code?: string }) => e.code === 'E_USAGE' && message.test(e.message), argv.join(' '));
  }
});

test('an unreachable --redis: the real CLI exits 2 with one line naming the URL', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(packageRoot(), 'scheduler', 'cli', 'main.ts'), 'batch', 'status', 'batch_x', '--redis', 'redis://127.0.0.1:1'], { cwd: packageRoot(), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /^nvlsched: E_USAGE: --redis: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
});

describe('batch CLI on a real Redis', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  const url = redis.url;
  const queue = testQueue('cli');
  let br: BatchRig;
  before(async () => {
    br = await startBatchRig(redis.url, queue, { maxInFlight: 8 });
  });
  after(async () => {
    await br.close();
    await redis.stop();
  });

  async function cli(argv: string[], q = queue): Promise<{ code: number; out: string; err: string }> {
    const args = parseBatchArgs([...argv, '--redis', url, '--queue', q]);
    assert.notEqual(args, 'help');
    let out = '';
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await runBatch(args as BatchArgs, { stdout: (t) => void (out += t), stderr });
    return { code, out, err };
  }

  test('submit → wait --progress → status → results (stdout and --out) → list', async () => {
    const s = await cli(['submit', good, '--chunk-lines', '5']);
    assert.equal(s.code, 0, s.err);
    const sub = JSON.parse(s.out) as { id: string; total: number; chunks: number; skipped: number };
    assert.match(sub.id, /^batch_[0-9a-f]{24}$/);
    assert.deepEqual([sub.total, sub.chunks, sub.skipped], [12, 3, 0]);
    const w = await cli(['wait', sub.id, '--progress', '--timeout-s', '30']);
    assert.equal(w.code, 0);
    assert.match(w.err, new RegExp(`batch ${sub.id}: \\[#{24}\\] 12/12 lines \\(12 ok, 0 failed, 0 cancelled\\), [0-9.]+ lines/s, [0-9.]+ s, completed\\n$`));
    const view = JSON.parse(w.out) as { status: string; input_file: string; request_counts: Record<string, number> };
    assert.equal(view.status, 'completed');
    assert.equal(view.input_file, 'good.jsonl');
    assert.deepEqual(view.request_counts, { total: 12, completed: 12, failed: 0, cancelled: 0, in_progress: 0 });
    const st = await cli(['status', sub.id]);
    assert.deepEqual(JSON.parse(st.out), view);
    const r = await cli(['results', sub.id]);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    assert.deepEqual(lines.map((l) => l.custom_id), Array.from({ length: 12 }, (_, i) => `req-${i}`));
    assert.ok(lines.every((l) => l.response.status_code === 200));
    const file = path.join(dir, 'out.jsonl');
    const rf = await cli(['results', sub.id, '--out', file]);
    assert.equal(rf.out, '');
    assert.match(rf.err, /12 result\(s\) written to .*out\.jsonl\n$/);
    assert.equal(readFileSync(file, 'utf8'), r.out);
    const l = await cli(['list', '--limit', '5']);
    assert.ok(l.out.trim().split('\n').some((x) => (JSON.parse(x) as { id: string }).id === sub.id));
  });

  test('a bad file exits 2 listing every bad line; --skip-invalid submits the rest; cancel; unknown id', async () => {
    const [a, b, c] = batchLines(3);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, [a, '{"custom_id": "req-0", "method": "POST", "url": "/v1/completions", "body": {"prompt": "x"}}', b, 'garbage', c, '{"custom_id": "z", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}'].join('\n'));
    const refused = await cli(['submit', bad]);
    assert.equal(refused.code, 2);
    assert.equal(refused.out, '');
    const errLines = refused.err.trim().split('\n');
    assert.match(errLines[0] as string, /^line 2: custom_id: "req-0" is already used on line 1$/);
    assert.match(errLines[1] as string, /^line 4: line: not JSON/);
    assert.match(errLines[2] as string, /^line 6: body\.messages: /);
    assert.equal(errLines[3], 'nvlsched: batch submit: 3 invalid line(s); fix them or pass --skip-invalid');
    // A queue no gateway drains, so the batch is still pending when it is cancelled.
    const idle = `${queue}-idle`;
    const skipped = await cli(['submit', bad, '--skip-invalid'], idle);
    assert.equal(skipped.code, 0);
    assert.equal(skipped.err.trim().split('\n').length, 3);
    assert.match(skipped.err, /^skipped line 2: /);
    const sub = JSON.parse(skipped.out) as { id: string; total: number; skipped: number };
    assert.deepEqual([sub.total, sub.skipped], [3, 3]);
    const cancelled = await cli(['cancel', sub.id], idle);
    const v = JSON.parse(cancelled.out) as { status: string; skipped_invalid: number; request_counts: { total: number; cancelled: number; in_progress: number } };
    assert.equal(v.status, 'cancelled');
    assert.deepEqual([v.request_counts.total, v.request_counts.cancelled, v.request_counts.in_progress, v.skipped_invalid], [3, 3, 0, 3]);
    const r = await cli(['results', sub.id], idle);
    assert.deepEqual(r.out.trim().split('\n').map((l) => (JSON.parse(l) as { error: { code: string } }).error.code), ['batch_cancelled', 'batch_cancelled', 'batch_cancelled']);
    // Cancelling a finished batch leaves it completed.
    const done = JSON.parse((await cli(['submit', good])).out) as { id: string };
    await cli(['wait', done.id, '--timeout-s', '30']);
    assert.equal((JSON.parse((await cli(['cancel', done.id])).out) as { status: string }).status, 'completed');
    await assert.rejects(cli(['status', 'batch_nope']), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /no batch 'batch_nope' in queue/.test(e.message));
  });
});
