// Chat messages (+ tool definitions) → one prompt text, and the features the scheduler classifies by. The template
// is ChatML-like (OpenAI's ChatML markers, also Qwen's): `<|im_start|>role\ncontent<|im_end|>\n` per message, then
// `<|im_start|>assistant\n` to generate. The served models' own templates differ; what matters here is that the
// token count tracks the conversation (tool schemas cost prompt tokens, as they do on real servers) and that a
// session's next turn extends the previous turn's text (prefix caching). Markers are encoded as plain text.
//
// Order: leading system/developer messages, then the tools block, then the rest — so the prefix stays the same as
// the conversation grows and across requests that share a system prompt.
import { FieldError } from './errors.js';
import { describe, isObject, optArray, optObject, optString, path, type JsonObject } from './fields.js';

export const MAX_MESSAGES = 100_000;
/** OpenAI's own limit on tools per request. */
export const MAX_TOOLS = 128;
const MAX_TOOL_CALLS = 1024;

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
type Role = (typeof ROLES)[number];

export interface ChatPrompt {
  text: string;
  numTools: number;
  /** A tool message after the last user message: the agent loop's next step. */
  hasToolResults: boolean;
  /** Assistant messages so far: the session's turn index when the client gives none. */
  assistantTurns: number;
}

/** Text of `content`: a string, or an array of text parts (and refusal parts for the assistant). */
function contentText(m: JsonObject, at: string, role: Role, nullable: boolean): string {
  const v = m['content'];
  if (v === undefined || v === null) {
    if (nullable) return '';
    throw new FieldError(path(at, 'content'), `required for role ${role}`);
  }
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw new FieldError(path(at, 'content'), `expected a string or an array of content parts, got ${describe(v)}`);
  const parts: string[] = [];
  v.forEach((p, j) => {
    const pat = path(path(at, 'content'), j);
    if (!isObject(p)) throw new FieldError(pat, `expected a content part object, got ${describe(p)}`);
    const type = p['type'];
    if (type === 'text') parts.push(requireString(p, 'text', pat));
    else if (type === 'refusal' && role === 'assistant') parts.push(requireString(p, 'refusal', pat));
    else throw new FieldError(path(pat, 'type'), `only "text" parts are supported${role === 'assistant' ? ' (and "refusal")' : ''}, got ${describe(type)}`);
  });
  return parts.join('\n');
}

function requireString(o: JsonObject, key: string, at: string): string {
  const v = optString(o, key, at);
  if (v === undefined) throw new FieldError(path(at, key), 'required');
  return v;
}

function toolCallsText(m: JsonObject, at: string): string {
  const calls = optArray(m, 'tool_calls', at, MAX_TOOL_CALLS) ?? [];
  const lines: string[] = [];
  calls.forEach((c, k) => {
    const cat = path(path(at, 'tool_calls'), k);
    if (!isObject(c)) throw new FieldError(cat, `expected a tool call object, got ${describe(c)}`);
    const fn = optObject(c, 'function', cat);
    if (fn === undefined) throw new FieldError(path(cat, 'function'), 'required');
    const name = requireString(fn, 'name', path(cat, 'function'));
    const args = optString(fn, 'arguments', path(cat, 'function')) ?? '';
    lines.push(`<tool_call>${JSON.stringify({ id: optString(c, 'id', cat) ?? '', name, arguments: args })}</tool_call>`);
  });
  return lines.join('\n');
}

function toolsBlock(body: JsonObject): { text: string; count: number } {
  const tools = optArray(body, 'tools', '', MAX_TOOLS);
  if (tools === undefined || tools.length === 0) return { text: '', count: 0 };
  const lines = tools.map((t, i) => {
    const at = path('tools', i);
    if (!isObject(t)) throw new FieldError(at, `expected a tool object, got ${describe(t)}`);
    if (t['type'] !== 'function') throw new FieldError(path(at, 'type'), `expected "function", got ${describe(t['type'])}`);
    const fn = optObject(t, 'function', at);
    if (fn === undefined) throw new FieldError(path(at, 'function'), 'required');
    requireString(fn, 'name', path(at, 'function'));
    optString(fn, 'description', path(at, 'function'));
    optObject(fn, 'parameters', path(at, 'function'));
    try {
      return JSON.stringify(fn);
    } catch {
      // JSON.stringify recurses: a schema nested thousands deep overflows the stack.
      throw new FieldError(path(at, 'function'), 'too deeply nested');
    }
  });
  return { text: `<|im_start|>system\n# Tools\n<tools>\n${lines.join('\n')}\n</tools><|im_end|>\n`, count: tools.length };
}

export function chatPrompt(body: JsonObject): ChatPrompt {
  const messages = optArray(body, 'messages', '', MAX_MESSAGES);
  if (messages === undefined || messages.length === 0) throw new FieldError('messages', messages === undefined ? 'required' : 'expected at least one message');
  const tools = toolsBlock(body);
  let text = '';
  let toolsPlaced = tools.count === 0;
  let lastUser = -1;
  let lastTool = -1;
  let assistantTurns = 0;
  messages.forEach((m, i) => {
    const at = path('messages', i);
    if (!isObject(m)) throw new FieldError(at, `expected a message object, got ${describe(m)}`);
    const role = m['role'];
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new FieldError(path(at, 'role'), `expected one of ${ROLES.join(', ')}, got ${describe(role)}`);
    const r = role as Role;
    if (!toolsPlaced && r !== 'system' && r !== 'developer') {
      text += tools.text;
      toolsPlaced = true;
    }
    const name = optString(m, 'name', at, 256);
    let body = contentText(m, at, r, r === 'assistant');
    if (r === 'assistant') {
      assistantTurns++;
      const calls = toolCallsText(m, at);
      body = body && calls ? `${body}\n${calls}` : body || calls;
    }
    if (r === 'tool') {
      const id = optString(m, 'tool_call_id', at, 256);
      if (id !== undefined) body = `<tool_response id=${JSON.stringify(id)}>\n${body}\n</tool_response>`;
      lastTool = i;
    }
    if (r === 'user') lastUser = i;
    text += `<|im_start|>${r}${name !== undefined ? ` name=${name}` : ''}\n${body}<|im_end|>\n`;
  });
  if (!toolsPlaced) text += tools.text;
  text += '<|im_start|>assistant\n';
  return { text, numTools: tools.count, hasToolResults: lastTool > lastUser, assistantTurns };
}
