// The load clients of `bench overhead`, run as their own process (so that receiving the tokens does not take the
// gateway's CPU): `node overhead_clients.ts <gateway port> <streams> <max tokens> <prompt tokens>` keeps that many
// Generate streams open — when one ends, a fresh one starts (closed loop) — and counts what comes back. Protocol:
// prints {"event":"ready","streams":n} once the streams are opened; each "count" line on stdin is answered with
// one JSON line {tokens, ended, errors, open}; stdin closing (or SIGTERM) cancels the streams and exits.
import * as grpc from '@grpc/grpc-js';
import { createInterface } from 'node:readline';

import type { GenerateResponse__Output } from '../scheduler/gen/proto/nvlsched/v1/GenerateResponse.js';
import { loadGatewayProto } from '../scheduler/rpc/proto.js';

function arg(i: number, name: string): number {
  const value = Number(process.argv[2 + i]);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`overhead_clients: ${name}: expected an integer ≥ 1, got ${process.argv[2 + i]}\n`);
    process.exit(2);
  }
  return value;
}

const port = arg(0, 'port');
const streams = arg(1, 'streams');
const maxTokens = arg(2, 'max tokens');
const promptTokens = arg(3, 'prompt tokens');
/** Restarts stop after this many errors: a gateway that refuses everything must not be hammered forever. */
const MAX_ERRORS = 4 * streams;

const proto = loadGatewayProto();
const client = new proto.nvlsched.v1.Gateway(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const counts = { tokens: 0, ended: 0, errors: 0, open: 0 };
const calls = new Set<grpc.ClientReadableStream<GenerateResponse__Output>>();
let stopping = false;
let next = 0;

function open(): void {
  if (stopping || counts.errors >= MAX_ERRORS) return;
  // Distinct prompts (no shared prefix): every stream is its own sequence on the worker.
  const base = (next++ * promptTokens) % 1_000_000;
  const call = client.Generate({ promptTokenIds: Array.from({ length: promptTokens }, (_, k) => base + k), maxTokens });
  calls.add(call);
  counts.open++;
  let done = false;
  const finish = (error: boolean): void => {
    if (done) return;
    done = true;
    calls.delete(call);
    counts.open--;
    if (error) counts.errors++;
    else counts.ended++;
    open();
  };
  call.on('data', (c: GenerateResponse__Output) => {
    counts.tokens += c.tokenIds.length;
    if (c.finished) finish(c.finishReason === 'error');
  });
  call.on('error', (err: grpc.ServiceError) => finish(err.code !== grpc.status.CANCELLED));
  call.on('end', () => finish(false));
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const call of calls) call.cancel();
  client.close();
  process.exit(0);
}

for (let i = 0; i < streams; i++) open();
process.stdout.write(`${JSON.stringify({ event: 'ready', streams })}\n`);
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'count') process.stdout.write(`${JSON.stringify(counts)}\n`);
});
input.on('close', stop);
process.once('SIGTERM', stop);
