// The `limits:` section: defaults, null turning a timeout off, and every mistake named by its field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../../core/config/params.js';
import { backlogMessage, checkLimitsAgainstContext, EDGE_LIMITS_DEFAULTS, grpcServerOptions, parseLimits } from './limits.js';

test('defaults, overrides and null', () => {
  assert.deepEqual(parseLimits(undefined), EDGE_LIMITS_DEFAULTS);
  const l = parseLimits({ maxMessages: 10, maxPromptTokens: 4000, totalTimeoutS: null, bodyIdleTimeoutS: 0.5 });
  assert.equal(l.maxMessages, 10);
  assert.equal(l.maxPromptTokens, 4000);
  assert.equal(l.totalTimeoutS, null);
  assert.equal(l.bodyIdleTimeoutS, 0.5);
  assert.equal(l.maxTools, 128);
  assert.equal(l.maxClientBacklogBytes, 1024 * 1024, 'default 1 MiB');
  assert.equal(parseLimits({ maxClientBacklogBytes: 4096 }).maxClientBacklogBytes, 4096);
  assert.equal(parseLimits({ maxClientBacklogBytes: null }).maxClientBacklogBytes, null);
  assert.equal(backlogMessage(5000, 4096), 'stream: the client is not reading: 5000 bytes written to it and not yet taken exceed the limit limits.maxClientBacklogBytes = 4096');
  assert.deepEqual(grpcServerOptions(parseLimits({ maxConcurrentStreamsPerConnection: 4 })), { 'grpc.max_concurrent_streams': 4, 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
});

test('mistakes name the field', () => {
  const bad = (v: unknown, field: string, msg: RegExp) =>
    assert.throws(() => parseLimits(v), (e: unknown) => e instanceof ConfigError && e.field === field && msg.test(e.message), `${JSON.stringify(v)}`);
  bad({ maxMessage: 3 }, 'config.limits.maxMessage', /unknown field/);
  bad({ maxMessages: 0 }, 'config.limits.maxMessages', /integer ≥ 1/);
  bad({ maxMessages: 2.5 }, 'config.limits.maxMessages', /integer/);
  bad({ maxMessages: null }, 'config.limits.maxMessages', /cannot be turned off/);
  bad({ maxTools: 129 }, 'config.limits.maxTools', /≤ 128/);
  bad({ totalTimeoutS: 0 }, 'config.limits.totalTimeoutS', /> 0/);
  bad({ streamIdleTimeoutS: 'x' }, 'config.limits.streamIdleTimeoutS', /a number/);
  bad({ maxOutputTokens: -1 }, 'config.limits.maxOutputTokens', /> 0/);
  bad({ maxClientBacklogBytes: 0 }, 'config.limits.maxClientBacklogBytes', /> 0/);
  bad({ maxClientBacklogBytes: 1.5 }, 'config.limits.maxClientBacklogBytes', /integer/);
  bad({ maxClientBacklogBytes: 2 ** 31 }, 'config.limits.maxClientBacklogBytes', /≤ 1073741824/);
  bad([], 'config.limits', /a mapping/);
  assert.throws(() => checkLimitsAgainstContext(parseLimits({ maxPromptTokens: 8192 }), 8192), (e: unknown) => e instanceof ConfigError && e.field === 'config.limits.maxPromptTokens');
  assert.throws(() => checkLimitsAgainstContext(parseLimits({ maxOutputTokens: 9000 }), 8192), (e: unknown) => e instanceof ConfigError && e.field === 'config.limits.maxOutputTokens');
  checkLimitsAgainstContext(parseLimits({ maxPromptTokens: 8191, maxOutputTokens: 8192 }), 8192);
});
