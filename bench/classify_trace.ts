// Claude Code sessions (../shared/data/traces/claude-code-sessions, format in that folder's README) as replayable
// requests: one session per file, each sub-agent its own session (own cache context and turn order).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface TraceTurn {
  /** Seconds since its session's start. */
  tS: number;
  promptTokens: number;
  outputTokens: number;
  /** Client gap before this request (s); undefined when the trace lacks it. */
  thinkS?: number;
  /** Seconds the API took (arrival to last token); undefined when the trace lacks it. */
  apiS?: number;
  hasToolResults: boolean;
}

export interface TraceSession {
  sessionId: string;
  /** Seconds after the parent session's start (sub-agents); 0 for top-level sessions. */
  offsetS: number;
  parent?: string;
  hasTools: boolean;
  turns: TraceTurn[];
}

interface RawRequest {
  type?: string;
  t?: number;
  in?: number;
  out?: number;
  think_time?: number;
  api_time?: number;
  input_types?: string[];
  agent_id?: string;
  tool_tokens?: number;
  requests?: RawRequest[];
}

/** The trace's marker of a tool result in the prompt (input_types values seen: text, tool_result, tool_use, thinking). */
export const TOOL_RESULT_TYPE = 'tool_result';

/** Sessions of the first `limit` files (sorted by name), sub-agents after their parent. */
export function loadClaudeCodeSessions(dir: string, limit = Infinity): TraceSession[] {
  const files = readdirSync(dir).filter((f) => /^trace_.*\.json$/.test(f)).sort().slice(0, limit);
  const out: TraceSession[] = [];
  for (const file of files) {
    const raw = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { id?: string; tool_tokens?: number; requests?: RawRequest[] };
    const id = raw.id ?? file.replace(/\.json$/, '');
    addSession(out, id, 0, undefined, (raw.tool_tokens ?? 0) > 0, raw.requests ?? []);
  }
  return out;
}

function addSession(out: TraceSession[], sessionId: string, offsetS: number, parent: string | undefined, hasTools: boolean, requests: RawRequest[]): void {
  const session: TraceSession = { sessionId, offsetS, hasTools, turns: [], ...(parent ? { parent } : {}) };
  out.push(session);
  for (const r of requests) {
    if (r.type === 'subagent') {
      addSession(out, `${sessionId}/${r.agent_id ?? out.length}`, r.t ?? 0, sessionId, (r.tool_tokens ?? 0) > 0, r.requests ?? []);
      continue;
    }
    session.turns.push({
      tS: r.t ?? 0,
      promptTokens: r.in ?? 0,
      outputTokens: r.out ?? 0,
      ...(typeof r.think_time === 'number' ? { thinkS: r.think_time } : {}),
      ...(typeof r.api_time === 'number' ? { apiS: r.api_time } : {}),
      hasToolResults: (r.input_types ?? []).includes(TOOL_RESULT_TYPE),
    });
  }
}

/**
 * API seconds for turns the trace gives no api_time (757 of 4,012): least squares over the 3,200 turns that have
 * one, api_time ≈ 2.92 s + 0.0154 s × output tokens. (The next turn's think_time cannot stand in: on those turns
 * it is measured from an earlier response, e.g. 104 s of "think" 89 s after the previous request.)
 */
export const FITTED_API_S = { fixedS: 2.92, perOutputTokenS: 0.0154 } as const;

/** When a turn's last token came; always after its arrival, so a turn is never observed before it is predicted. */
export function turnEndS(turns: readonly TraceTurn[], i: number): number {
  const turn = turns[i] as TraceTurn;
  const apiS = turn.apiS ?? FITTED_API_S.fixedS + FITTED_API_S.perOutputTokenS * turn.outputTokens;
  return turn.tS + Math.max(apiS, 1e-3);
}
