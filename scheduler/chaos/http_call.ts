// One planned request over the gateway's OpenAI-compatible HTTP API (POST /v1/chat/completions), tracked for
// exactly-once. Not streamed: one response — 200 with a finish_reason, or an OpenAI error body whose message says
// why. Streamed (SSE): exactly one chunk with a finish_reason then `[DONE]`, or one error event and the end of the
// stream without `[DONE]`; anything after either is a slip.
import { newOutcome, promptText, type ClientOutcome } from './outcome.js';
import type { PlannedRequest } from './plan.js';
import type { RunningCall } from './grpc_call.js';

interface ErrorBody {
  error?: { message?: string; code?: string | null; type?: string };
}

const TOOL = (i: number): object => ({ type: 'function', function: { name: `tool_${i}`, description: `tool number ${i}`, parameters: { type: 'object', properties: { arg: { type: 'string' } } } } });

export function chatBody(p: PlannedRequest): Record<string, unknown> {
  const messages: object[] = [{ role: 'user', content: promptText(p.promptBase, p.promptLen) }];
  if (p.hasToolResults) {
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'tool_0', arguments: '{"arg":"x"}' } }] });
    messages.push({ role: 'tool', tool_call_id: 'call_1', content: 'ok' });
  }
  const body: Record<string, unknown> = { messages, max_tokens: p.maxTokens };
  if (p.numTools) body.tools = Array.from({ length: p.numTools }, (_, i) => TOOL(i));
  if (p.reasoningEffort !== undefined) body.reasoning_effort = p.reasoningEffort;
  if (p.api === 'http-stream') Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  return body;
}

export function startHttpCall(baseUrl: string, p: PlannedRequest, timeoutS: number): RunningCall {
  const out = newOutcome(p);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no end within the ${timeoutS} s request timeout`)), timeoutS * 1000);
  timer.unref();
  let abandoned = false;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': p.id, 'x-tenant': 'chaos' };
  if (p.session) Object.assign(headers, { 'x-session-id': p.session.id, 'x-turn-index': String(p.session.turn) });
  const run = async (): Promise<void> => {
    const res = await fetch(`${baseUrl}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(chatBody(p)), signal: abort.signal });
    if (res.status !== 200) return errorResponse(out, res.status, await res.text());
    if (p.api === 'http-stream') return readStream(out, res);
    const body = (await res.json()) as { choices?: Array<{ finish_reason?: string }>; usage?: { completion_tokens?: number } };
    out.ends++;
    out.finishReason = body.choices?.[0]?.finish_reason ?? '';
    out.usageTokens = body.usage?.completion_tokens;
    out.tokens = out.usageTokens ?? 0;
    if (out.finishReason === 'length' || out.finishReason === 'stop') out.outcome = 'completed';
    else {
      out.outcome = 'failed';
      out.message = `200 with finish_reason ${JSON.stringify(out.finishReason)}`;
      out.problems.push(out.message);
    }
  };
  const done = run()
    .catch((error: Error) => {
      if (abandoned) return;
      out.ends++;
      if (out.ends > 1) out.problems.push(`a transport error after the end: ${error.message}`);
      else {
        out.outcome = 'failed';
        out.message = `transport: ${(abort.signal.reason as Error | undefined)?.message ?? error.message}`;
      }
    })
    .then(() => {
      clearTimeout(timer);
      return out;
    });
  return {
    outcome: out,
    done,
    abandon() {
      if (out.ends > 0) return;
      abandoned = true;
      abort.abort(new Error('abandoned at the bound'));
    },
  };
}

function errorResponse(out: ClientOutcome, status: number, text: string): void {
  out.ends++;
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    out.problems.push(`HTTP ${status} with a body that is not JSON: ${text.slice(0, 120)}`);
  }
  const message = body.error?.message ?? '';
  if (!message) out.problems.push(`HTTP ${status} without an error message`);
  // 4xx: refused before running (bad input, load); 5xx: it ran and failed (a worker failure), or the gateway stops.
  out.outcome = status >= 400 && status < 500 ? 'rejected' : 'failed';
  out.code = body.error?.code ?? body.error?.type ?? `HTTP_${status}`;
  out.message = `HTTP ${status}: ${message}`;
}

async function readStream(out: ClientOutcome, res: Response): Promise<void> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let finishes = 0;
  let doneMarks = 0;
  let errorEvent: string | undefined;
  let chunks = 0;
  const onData = (data: string): void => {
    if (doneMarks > 0 || errorEvent !== undefined) out.problems.push(`an SSE event after the end: ${data.slice(0, 80)}`);
    if (data === '[DONE]') {
      doneMarks++;
      return;
    }
    const ev = JSON.parse(data) as ErrorBody & { choices?: Array<{ finish_reason?: string | null; delta?: { content?: string } }>; usage?: { completion_tokens?: number } | null };
    if (ev.error) {
      errorEvent = ev.error.message ?? '';
      return;
    }
    const c = ev.choices?.[0];
    if (c?.delta?.content) chunks++;
    if (c?.finish_reason) {
      finishes++;
      out.finishReason ??= c.finish_reason;
    }
    if (ev.usage) out.usageTokens = ev.usage.completion_tokens;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) onData(line.slice(6));
    }
  }
  out.ends = (finishes > 0 || doneMarks > 0 ? 1 : 0) + (errorEvent !== undefined ? 1 : 0);
  out.tokens = out.usageTokens ?? chunks;
  if (finishes > 1) out.problems.push(`${finishes} chunks with a finish_reason`);
  if (doneMarks > 1) out.problems.push(`${doneMarks} [DONE] marks`);
  if (errorEvent !== undefined) {
    out.outcome = 'failed';
    out.message = `SSE error: ${errorEvent}`;
    if (!errorEvent) out.problems.push('an SSE error event without a message');
    if (finishes > 0 || doneMarks > 0) out.problems.push('an SSE error event beside a normal end');
    return;
  }
  if (finishes === 1 && doneMarks === 1 && (out.finishReason === 'length' || out.finishReason === 'stop')) {
    out.outcome = 'completed';
    return;
  }
  out.outcome = 'failed';
  out.message = `the stream ended with ${finishes} finish chunk(s), ${doneMarks} [DONE] (finish_reason ${out.finishReason ?? 'none'})`;
  out.problems.push(out.message);
  out.ends = Math.max(out.ends, 1);
}
