// The hand-encoded token chunk against protobufjs (the generic path it replaces): for random request ids (unicode
// too), token ids over the whole uint32 range and every shape, the bytes are the generic encoder's bytes, and the
// client's decoder reads back the same message. The wrapped service definition sends a Buffer as is and still
// encodes plain objects (the final message).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';

import { loadGatewayProto } from '../rpc/proto.js';
import { fuzzParams } from '../util/fuzz.js';
import { encodeRequestIdField, encodeTokenChunk, withEncodedChunks } from './token_chunk.js';

const SHAPES = ['SHAPE_UNSPECIFIED', 'SHAPE_TOOL_CALL', 'SHAPE_REASONING', 'SHAPE_TERMINAL', 'SHAPE_CHAT'] as const;
const generate = loadGatewayProto().nvlsched.v1.Gateway.service.Generate as grpc.MethodDefinition<unknown, unknown>;

test('a hand-encoded chunk decodes to the same message as the generic encoding (byte for byte without defaults)', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 80, unit: 'binary' }),
      fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 40 }),
      fc.constantFrom(...SHAPES),
      (requestId, tokenIds, shape) => {
        const mine = encodeTokenChunk(encodeRequestIdField(requestId), tokenIds, shape);
        // protobufjs writes the fields the object has even at their defaults ('' and SHAPE_UNSPECIFIED); proto3 lets
        // them out, as this encoder does. Without defaults the bytes are the same.
        if (requestId !== '' && shape !== 'SHAPE_UNSPECIFIED') assert.deepEqual(mine, generate.responseSerialize({ requestId, tokenIds, shape }));
        const back = generate.responseDeserialize(mine) as { requestId: string; tokenIds: number[]; shape: string; finished: boolean };
        assert.equal(back.requestId, requestId);
        assert.deepEqual(back.tokenIds, tokenIds);
        assert.equal(back.shape, shape);
        assert.equal(back.finished, false);
      },
    ),
    fuzzParams(500, 71),
  );
});

test('the wrapped Generate sends a Buffer as is and still encodes the final message object', () => {
  const original = loadGatewayProto().nvlsched.v1.Gateway.service;
  const service = withEncodedChunks(original);
  const wrapped = service.Generate as grpc.MethodDefinition<unknown, unknown>;
  const chunk = encodeTokenChunk(encodeRequestIdField('r-1'), [5, 300], 'SHAPE_CHAT');
  assert.equal(wrapped.responseSerialize(chunk), chunk);
  const final = { requestId: 'r-1', finished: true, finishReason: 'length', usage: { promptTokens: 3, completionTokens: 2, cachedPromptTokens: 0, costUsd: 0.5 } };
  assert.deepEqual(wrapped.responseSerialize(final), generate.responseSerialize(final));
  assert.equal(service.Cancel, original.Cancel, 'the other methods are untouched');
});
