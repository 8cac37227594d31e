// Live migration, phase 2 — the tail (phase 1 is a HandoffSend with precopy = true: the destination parks a copy of
// the sequence's first `precopied_tokens` tokens while the source keeps decoding). The gateway stopped planning the
// sequence; the source reads the tokens written since, from the start of the block that was partly filled at the
// pre-copy (KV is append-only: earlier full blocks are unchanged, so they are not sent again), and sends them to
// the destination (HandoffAppend), which appends them to its parked copy and adopts it under the same id; then the
// source frees its sequence. Any failure before the destination adopted leaves the source sequence as it was and
// the parked copy freed (the destination frees it on any error, or when the pre-copy's timeout passes if the tail
// never reaches it), so the gateway can fall back to a stop-and-copy of the whole KV.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';

import type { HandoffAppendRequest } from '../gen/proto/nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffAppendRequest__Output } from '../gen/proto/nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffAppendResult, HandoffAppendResult__Output } from '../gen/proto/nvlsched/v1/HandoffAppendResult.js';
import type { HandoffTailRequest__Output } from '../gen/proto/nvlsched/v1/HandoffTailRequest.js';
import type { HandoffTailResult } from '../gen/proto/nvlsched/v1/HandoffTailResult.js';
import type { HandoffSite } from './handoff_send.js';
import { DEFAULT_HANDOFF_TIMEOUT_S, fromServiceError, HandoffFailure, MAX_CHUNK_BYTES, MAX_HANDOFF_TIMEOUT_S } from './handoff_wire.js';

const EMPTY = Buffer.alloc(0);
const bad = (field: string, why: string): HandoffFailure => new HandoffFailure('E_INVALID_ARGUMENT', `${field}: ${why}`);

function checksumOf(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Source side (the gateway's HandoffTail). */
export async function handoffTail(site: HandoffSite, r: HandoffTailRequest__Output): Promise<HandoffTailResult> {
  const startMs = performance.now();
  const { backend } = site;
  if (r.instanceId === '' || r.instanceId.length > 256) throw bad('instance_id', `expected 1-256 characters, got ${r.instanceId.length}`);
  if (r.destinationInstanceId === '' || r.destinationInstanceId.length > 256) throw bad('destination_instance_id', `expected 1-256 characters, got ${r.destinationInstanceId.length}`);
  if (r.destinationAddress === '') throw bad('destination_address', 'expected host:port of the destination worker');
  if (!(Number.isFinite(r.timeoutS) && r.timeoutS >= 0 && r.timeoutS <= MAX_HANDOFF_TIMEOUT_S)) throw bad('timeout_s', `expected seconds in [0, ${MAX_HANDOFF_TIMEOUT_S}], got ${r.timeoutS}`);
  const timeoutS = r.timeoutS === 0 ? DEFAULT_HANDOFF_TIMEOUT_S : r.timeoutS;
  const client = site.peers.get(r.destinationAddress);
  const call = (req: HandoffAppendRequest): Promise<HandoffAppendResult__Output> =>
    new Promise((resolve, reject) => {
      client.HandoffAppend(req, new grpc.Metadata(), { deadline: Date.now() + timeoutS * 1000 }, (err, res) => {
        if (err || !res) reject(err ? fromServiceError(err, `destination ${r.destinationAddress}`) : new HandoffFailure('E_PEER_UNAVAILABLE', 'HandoffAppend answered nothing'));
        else resolve(res);
      });
    });
  const base = { destinationInstanceId: r.destinationInstanceId, destinationSeqId: r.destinationSeqId };
  if (r.abort) {
    await call({ ...base, abort: true });
    return { numTokens: 0, tailTokens: 0, bytesSent: '0', elapsedMs: performance.now() - startMs, sourceFreed: false };
  }
  const held = backend.sequence(r.instanceId, r.seqId);
  if (!held) throw new HandoffFailure('E_UNKNOWN_SEQUENCE', `seq_id: instance ${r.instanceId} runs no sequence ${r.seqId} on this worker`);
  if (r.precopiedTokens > held.tokens) throw bad('precopied_tokens', `the sequence has ${held.tokens} tokens, fewer than the ${r.precopiedTokens} pre-copied`);
  const tpb = backend.kv.tokensPerBlock;
  const fromToken = Math.floor(r.precopiedTokens / tpb) * tpb;
  const bytesMode = backend.kv.backendInfo().dataMode === 'bytes';
  const data = bytesMode && held.tokens > fromToken ? Buffer.from(backend.kv.read(held.native, fromToken, held.tokens - fromToken)) : EMPTY;
  if (data.length > MAX_CHUNK_BYTES) throw new HandoffFailure('E_TOO_LARGE', `the tail is ${data.length} bytes, over the ${MAX_CHUNK_BYTES}-byte limit of one message: pre-copy again first`);
  const res = await call({ ...base, fromToken, numTokens: held.tokens, data, checksum: bytesMode ? checksumOf(data) : '' });
  const sourceFreed = backend.freeSequence(r.instanceId, r.seqId);
  return { numTokens: res.numTokens, tailTokens: res.tailTokens, bytesSent: String(data.length), elapsedMs: performance.now() - startMs, sourceFreed };
}

/** Destination side (HandoffAppend from the source worker): append to the parked copy, then adopt it. */
export function handoffAppend(site: HandoffSite, r: HandoffAppendRequest__Output): HandoffAppendResult {
  const { backend } = site;
  const kv = backend.kv;
  const id = `instance ${r.destinationInstanceId} sequence ${r.destinationSeqId}`;
  if (r.abort) {
    site.parked.drop(r.destinationInstanceId, r.destinationSeqId);
    return { numTokens: 0, tailTokens: 0 };
  }
  // Taken now: whatever goes wrong below, the copy is freed (the source keeps its sequence and falls back).
  const held = site.parked.take(r.destinationInstanceId, r.destinationSeqId);
  // Not E_UNKNOWN_SEQUENCE: that code says the SOURCE lost the sequence (the gateway then recomputes); here the
  // source still holds it and a whole-KV copy can follow.
  if (!held) throw new HandoffFailure('E_HANDOFF_STATE', `destination_seq_id: no pre-copied ${id} is parked on this worker (never copied, aborted, or timed out)`);
  try {
    const tpb = kv.tokensPerBlock;
    if (r.fromToken % tpb !== 0 || r.fromToken > held.tokens) throw bad('from_token', `expected a block boundary at or below the parked ${held.tokens} tokens, got ${r.fromToken}`);
    if (r.numTokens < held.tokens) throw bad('num_tokens', `expected at least the parked ${held.tokens} tokens, got ${r.numTokens}`);
    const bytesMode = kv.backendInfo().dataMode === 'bytes';
    if (bytesMode) {
      const want = (r.numTokens - r.fromToken) * kv.bytesPerToken;
      if (r.data.length !== want) throw bad('data', `expected ${want} bytes (tokens ${r.fromToken}..${r.numTokens}), got ${r.data.length}`);
      if (checksumOf(r.data) !== r.checksum) throw bad('checksum', 'the tail bytes do not match their checksum (torn in transit)');
    }
    if (backend.sequence(r.destinationInstanceId, r.destinationSeqId)) throw new HandoffFailure('E_ALREADY_RUNNING', `destination_seq_id: ${id} already runs on this worker`);
    if (r.numTokens > held.tokens) kv.append(held.native, r.numTokens - held.tokens);
    if (bytesMode && r.data.length > 0) kv.write(held.native, r.fromToken, r.data);
    backend.adopt(r.destinationInstanceId, r.destinationSeqId, { ...held, tokens: r.numTokens });
  } catch (error) {
    try {
      kv.free(held.native);
    } catch {
      // the manager closed under us: nothing is left to release
    }
    throw error;
  }
  return { numTokens: r.numTokens, tailTokens: r.numTokens - r.fromToken };
}
