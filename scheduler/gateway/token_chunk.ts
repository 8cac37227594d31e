// The Generate stream's token chunks, encoded by hand. A gateway step writes one chunk to every decoding client
// stream (64 and more per step), and the generic path — protobufjs turning a plain object into a message, then
// encoding it — costs several times the bytes' own work. A chunk is always the same three fields of
// GenerateResponse (proto/nvlsched/v1/gateway.proto): request_id = 1 (string), token_ids = 2 (packed uint32),
// shape = 8 (enum); everything else in the stream (the final message with usage and timings) keeps the generic
// path. `withEncodedChunks` wraps the service definition so that a Buffer written to the stream goes out as is.
import type * as grpc from '@grpc/grpc-js';

import type { Shape as ProtoShape } from '../gen/proto/nvlsched/v1/Shape.js';
import { varintSize, writeVarint } from '../rpc/varint.js';

/** The Shape enum's numbers (proto/nvlsched/v1/common.proto). */
const SHAPE_NUMBER: Readonly<Record<ProtoShape & string, number>> = {
  SHAPE_UNSPECIFIED: 0,
  SHAPE_TOOL_CALL: 1,
  SHAPE_REASONING: 2,
  SHAPE_TERMINAL: 3,
  SHAPE_CHAT: 4,
};

const TAG_REQUEST_ID = (1 << 3) | 2;
const TAG_TOKEN_IDS = (2 << 3) | 2;
const TAG_SHAPE = (8 << 3) | 0;

/** The request id's field, encoded once per stream. */
export function encodeRequestIdField(requestId: string): Buffer {
  // proto3 leaves an empty string out.
  if (requestId === '') return Buffer.alloc(0);
  const text = Buffer.from(requestId, 'utf8');
  const out = Buffer.allocUnsafe(1 + varintSize(text.length) + text.length);
  out[0] = TAG_REQUEST_ID;
  const at = writeVarint(out, 1, text.length);
  text.copy(out, at);
  return out;
}

/**
 * One chunk: `requestIdField` from encodeRequestIdField, the token ids (each an integer in [0, 2^32), as the field's
 * uint32 — the caller's ids come from the worker, already in range), and the shape.
 */
export function encodeTokenChunk(requestIdField: Buffer, tokenIds: readonly number[], shape: ProtoShape): Buffer {
  let payload = 0;
  for (const id of tokenIds) payload += varintSize(id);
  const shapeNumber = SHAPE_NUMBER[shape as ProtoShape & string] ?? 0;
  const size = requestIdField.length + (tokenIds.length > 0 ? 1 + varintSize(payload) + payload : 0) + (shapeNumber !== 0 ? 2 : 0);
  const out = Buffer.allocUnsafe(size);
  requestIdField.copy(out, 0);
  let at = requestIdField.length;
  if (tokenIds.length > 0) {
    out[at++] = TAG_TOKEN_IDS;
    at = writeVarint(out, at, payload);
    for (const id of tokenIds) at = writeVarint(out, at, id);
  }
  // proto3 leaves a default (0) enum out, as the generic encoder does.
  if (shapeNumber !== 0) {
    out[at++] = TAG_SHAPE;
    out[at++] = shapeNumber;
  }
  return out;
}

/** The Gateway service definition whose Generate stream sends a written Buffer as it is (an encoded chunk). */
export function withEncodedChunks(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const generate = service.Generate as grpc.MethodDefinition<unknown, unknown>;
  const serialize = generate.responseSerialize;
  return {
    ...service,
    Generate: { ...generate, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) },
  };
}
