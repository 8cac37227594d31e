// The `limits:` section of the gateway config: what one request (and one connection) may ask for, each limit named
// in the 4xx it causes (`messages: 1201 messages exceed the limit limits.maxMessages = 1000`). Defaults are sane
// for a public endpoint; every field is optional.
//
//   limits:
//     maxBodyBytes: 8388608            # HTTP body / gRPC message (413 / RESOURCE_EXHAUSTED)
//     maxPromptTokens: 100000          # default: the model's context − 1
//     maxOutputTokens: 8192            # max_tokens ceiling; default: the context; an absent max_tokens is capped to it
//     maxMessages: 1000                # chat messages per request
//     maxTools: 128                    # tool definitions per request (OpenAI's own cap is 128)
//     maxConcurrentStreamsPerConnection: 100   # gRPC HTTP/2 streams on one connection
//     bodyIdleTimeoutS: 30             # no body bytes for this long while reading → 408
//     streamIdleTimeoutS: 120          # no token for this long (queue wait included) → the request ends, named
//     totalTimeoutS: 600               # a request running longer is cancelled (its KV freed), named
//     maxClientBacklogBytes: 1048576   # a streaming client this far behind (written, not yet taken) is cut off, named
// `null` turns a timeout (or a token cap) off.
import type { ChannelOptions } from '@grpc/grpc-js';

import { ConfigError, asParams, onlyKeys, readNumber, type Params } from '../../core/config/params.js';

export interface EdgeLimits {
  maxBodyBytes: number;
  maxPromptTokens: number | null;
  maxOutputTokens: number | null;
  maxMessages: number;
  maxTools: number;
  maxConcurrentStreamsPerConnection: number;
  bodyIdleTimeoutS: number | null;
  streamIdleTimeoutS: number | null;
  totalTimeoutS: number | null;
  /**
   * Bytes written to one client stream and not yet taken by the transport (gRPC: serialized messages queued in
   * grpc-js behind the client's HTTP/2 window; HTTP: the response's and its socket's buffers). Past it the request is
   * cancelled (KV freed) and the stream ends with an error naming this limit. null: unbounded.
   */
  maxClientBacklogBytes: number | null;
}

/** OpenAI's own cap on tools per request; the chat template refuses more (http/chat_prompt.ts MAX_TOOLS). */
export const MAX_TOOLS_CAP = 128;

export const EDGE_LIMITS_DEFAULTS: Readonly<EdgeLimits> = {
  maxBodyBytes: 8 * 1024 * 1024,
  maxPromptTokens: null,
  maxOutputTokens: null,
  maxMessages: 1000,
  maxTools: MAX_TOOLS_CAP,
  maxConcurrentStreamsPerConnection: 100,
  bodyIdleTimeoutS: 30,
  streamIdleTimeoutS: 120,
  // An hour: a long reasoning decode (tens of thousands of tokens at tens of ms each) must not be cut by default.
  totalTimeoutS: 3600,
  // 1 MiB: ~5,000 SSE tokens or ~25,000 gRPC token messages (grpc-js keeps each queued message as an object, several
  // times its bytes in heap). The kernel's socket buffers (a few MiB on Linux) hold more before any of this counts.
  maxClientBacklogBytes: 1024 * 1024,
};

const KEYS = Object.keys(EDGE_LIMITS_DEFAULTS);

function nullable(p: Params, key: keyof EdgeLimits, path: string, rule: { integer?: boolean; max?: number }): number | null {
  if (p[key] === null) return null;
  const fallback = EDGE_LIMITS_DEFAULTS[key] as number | null;
  if (p[key] === undefined) return fallback;
  return readNumber(p, key, path, 0, { above: 0, ...rule });
}

/** Validates the section (undefined: the defaults); errors name the field (`config.limits.maxMessages: ...`). */
export function parseLimits(value: unknown, path = 'config.limits'): EdgeLimits {
  const p = asParams(value, path);
  onlyKeys(p, path, KEYS);
  const int = (key: keyof EdgeLimits, max = Number.MAX_SAFE_INTEGER): number => {
    if (p[key] === null) throw new ConfigError(`${path}.${key}`, 'cannot be turned off (null); give a number');
    return readNumber(p, key, path, EDGE_LIMITS_DEFAULTS[key] as number, { integer: true, min: 1, max });
  };
  return {
    maxBodyBytes: int('maxBodyBytes', 1 << 30),
    maxPromptTokens: nullable(p, 'maxPromptTokens', path, { integer: true }),
    maxOutputTokens: nullable(p, 'maxOutputTokens', path, { integer: true }),
    maxMessages: int('maxMessages'),
    maxTools: int('maxTools', MAX_TOOLS_CAP),
    maxConcurrentStreamsPerConnection: int('maxConcurrentStreamsPerConnection', 1 << 20),
    bodyIdleTimeoutS: nullable(p, 'bodyIdleTimeoutS', path, { max: 86_400 }),
    streamIdleTimeoutS: nullable(p, 'streamIdleTimeoutS', path, { max: 86_400 }),
    totalTimeoutS: nullable(p, 'totalTimeoutS', path, { max: 7 * 86_400 }),
    maxClientBacklogBytes: nullable(p, 'maxClientBacklogBytes', path, { integer: true, max: 1 << 30 }),
  };
}

/** Checks the token caps against the model's context (a cap the context cannot reach is a config mistake). */
export function checkLimitsAgainstContext(l: EdgeLimits, maxContextTokens: number, path = 'config.limits'): void {
  if (l.maxPromptTokens !== null && l.maxPromptTokens >= maxContextTokens) {
    throw new ConfigError(`${path}.maxPromptTokens`, `${l.maxPromptTokens} leaves no room for output in the model's context of ${maxContextTokens}; give less than ${maxContextTokens}`);
  }
  if (l.maxOutputTokens !== null && l.maxOutputTokens > maxContextTokens) {
    throw new ConfigError(`${path}.maxOutputTokens`, `${l.maxOutputTokens} is past the model's context of ${maxContextTokens}`);
  }
}

/**
 * Options for the client-facing `new grpc.Server(options)`: HTTP/2 streams per connection (each Generate is one
 * stream; more wait for a free one — the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS the client honours) and the largest
 * request message (as the HTTP body limit).
 */
export function grpcServerOptions(l: EdgeLimits): ChannelOptions {
  return {
    'grpc.max_concurrent_streams': l.maxConcurrentStreamsPerConnection,
    'grpc.max_receive_message_length': l.maxBodyBytes,
  };
}

/** The message of a limit violation: `<field>: <what, with its verb> the limit limits.<name> = <value>`. */
export function limitMessage(field: string, what: string, name: keyof EdgeLimits, value: number): string {
  return `${field}: ${what} the limit limits.${name} = ${value}`;
}

/** Why a streaming request was cut off for a client that does not read: `stream: ... the limit limits.maxClientBacklogBytes = n`. */
export function backlogMessage(backlogBytes: number, limitBytes: number): string {
  return limitMessage('stream', `the client is not reading: ${backlogBytes} bytes written to it and not yet taken exceed`, 'maxClientBacklogBytes', limitBytes);
}
