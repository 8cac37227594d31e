// The response objects, shaped as OpenAI's API reference gives them: `chat.completion`, `chat.completion.chunk`,
// `text_completion` (whole and streamed), the usage block, and the model list.
import type { Finished } from '../frontend.js';
import type { ApiKind } from './parse.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/** What every object of one response repeats. */
export interface ResponseHead {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

export type FinishReason = 'stop' | 'length';

export function usageOf(f: Finished): Usage {
  const u = f.usage;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedPromptTokens },
  };
}

export function wholeResponse(kind: ApiKind, h: ResponseHead, text: string, finish: FinishReason, usage: Usage): object {
  if (kind === 'chat') {
    return {
      id: h.id,
      object: 'chat.completion',
      created: h.created,
      model: h.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finish }],
      usage,
      system_fingerprint: null,
    };
  }
  return {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
    usage,
    system_fingerprint: null,
  };
}

/**
 * One streamed chunk. `delta`: chat's first chunk carries the role, the last one is empty with the finish reason.
 * `withUsage` (stream_options.include_usage): every chunk has `usage: null`, the extra last chunk (`choices: []`)
 * has the usage.
 */
export function chunk(kind: ApiKind, h: ResponseHead, part: { text?: string; role?: boolean; finish?: FinishReason }, withUsage: boolean): object {
  const finish = part.finish ?? null;
  const choice =
    kind === 'chat'
      ? { index: 0, delta: part.role ? { role: 'assistant', content: part.text ?? '' } : part.text !== undefined ? { content: part.text } : {}, logprobs: null, finish_reason: finish }
      : { text: part.text ?? '', index: 0, logprobs: null, finish_reason: finish };
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return { id: h.id, object, created: h.created, model: h.model, system_fingerprint: null, choices: [choice], ...(withUsage ? { usage: null } : {}) };
}

export function usageChunk(kind: ApiKind, h: ResponseHead, usage: Usage): object {
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return { id: h.id, object, created: h.created, model: h.model, system_fingerprint: null, choices: [], usage };
}

export function modelObject(id: string, createdS: number): object {
  return { id, object: 'model', created: createdS, owned_by: 'nvlsched' };
}
