// What the soak's clients send, drawn from the seed before anything runs: an open-loop stream of single requests
// (Poisson arrivals at `ratePerS`) over the gRPC and the HTTP API in a mix of shapes — agent tool calls (tools
// offered, tool results in the prompt), long reasoning, chat, a few requests the client cancels after its first
// token, and a few invalid ones (max_tokens past the context: a rejection naming the field) — plus `sessions`
// terminal sessions, each a chain of turns whose prompt grows by what the previous turn added (a prefix hit), sent
// one after the other. The plan is deterministic; only the send times of session turns after the first depend on
// how fast the previous turn ended (a session is closed loop, as an agent is).
import { Rng } from '../util/random.js';

export type Api = 'grpc' | 'http' | 'http-stream';
export type PlanKind = 'tool_call' | 'reasoning' | 'chat' | 'terminal' | 'cancel' | 'invalid';

export interface PlannedRequest {
  /** The request id sent (gRPC request_id, HTTP x-request-id): unique in the run. */
  id: string;
  api: Api;
  kind: PlanKind;
  /** Prompt length: token ids over gRPC, words of text over HTTP. */
  promptLen: number;
  maxTokens: number;
  /** First token of the synthetic prompt ids (distinct prompts per request; a session shares its base). */
  promptBase: number;
  numTools?: number;
  hasToolResults?: boolean;
  reasoningEffort?: 'low' | 'medium' | 'high';
  session?: { id: string; turn: number };
}

export interface OpenArrival {
  atS: number;
  request: PlannedRequest;
}

export interface SessionChain {
  id: string;
  /** First turn's send time; each next turn is sent thinkS after the previous one ended, while inside the window. */
  startS: number;
  thinkS: number;
  turns: PlannedRequest[];
}

export interface LoadPlan {
  open: OpenArrival[];
  sessions: SessionChain[];
}

export interface PlanOptions {
  seed: number;
  durationS: number;
  /** Open-loop requests per second. */
  ratePerS: number;
  sessions: number;
  /** The served model's context: invalid requests ask for more than this. */
  maxContextTokens: number;
  /** Prefix of every id (two runs on one gateway never collide). */
  idPrefix: string;
}

/** Turns per session chain at most (a chain also stops when the window ends). */
const MAX_TURNS = 12;

const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

function openRequest(rng: Rng, id: string, o: PlanOptions): PlannedRequest {
  const r = rng.next();
  const api: Api = rng.pick(['grpc', 'grpc', 'http', 'http-stream'] as const);
  const base = rng.int(1_000_000);
  if (r < 0.4) return { id, api, kind: 'tool_call', promptLen: between(rng, 300, 900), maxTokens: between(rng, 8, 32), promptBase: base, numTools: between(rng, 1, 6), hasToolResults: rng.next() < 0.5 };
  if (r < 0.52) return { id, api, kind: 'reasoning', promptLen: between(rng, 100, 400), maxTokens: between(rng, 150, 400), promptBase: base, reasoningEffort: 'high' };
  if (r < 0.87) return { id, api, kind: 'chat', promptLen: between(rng, 50, 300), maxTokens: between(rng, 24, 96), promptBase: base };
  // Client cancels are gRPC calls (cancelled after their first token); invalid ones go to either API.
  if (r < 0.95) return { id, api: 'grpc', kind: 'cancel', promptLen: between(rng, 50, 200), maxTokens: between(rng, 200, 400), promptBase: base };
  return { id, api: api === 'http-stream' ? 'http' : api, kind: 'invalid', promptLen: 20, maxTokens: o.maxContextTokens + 1, promptBase: base };
}

export function loadPlan(o: PlanOptions): LoadPlan {
  if (!(o.ratePerS > 0 && Number.isFinite(o.ratePerS))) throw new RangeError(`ratePerS: expected a number > 0, got ${o.ratePerS}`);
  if (!Number.isInteger(o.sessions) || o.sessions < 0) throw new RangeError(`sessions: expected an integer ≥ 0, got ${o.sessions}`);
  const rng = new Rng(o.seed ^ 0x5eed);
  const open: OpenArrival[] = [];
  let n = 0;
  for (let t = -Math.log(1 - rng.next()) / o.ratePerS; t < o.durationS; t += -Math.log(1 - rng.next()) / o.ratePerS) {
    open.push({ atS: Math.round(t * 1000) / 1000, request: openRequest(rng, `${o.idPrefix}${n++}`, o) });
  }
  const sessions: SessionChain[] = [];
  for (let s = 0; s < o.sessions; s++) {
    const id = `${o.idPrefix}s${s}`;
    const api: Api = s % 2 === 0 ? 'grpc' : 'http';
    const base = rng.int(1_000_000);
    let promptLen = between(rng, 200, 600);
    const turns: PlannedRequest[] = [];
    for (let k = 0; k < MAX_TURNS; k++) {
      turns.push({ id: `${id}.${k}`, api, kind: 'terminal', promptLen, maxTokens: between(rng, 16, 64), promptBase: base, numTools: 4, hasToolResults: k > 0, session: { id, turn: k } });
      promptLen += between(rng, 60, 200);
    }
    sessions.push({ id, startS: Math.round(rng.next() * Math.min(2, o.durationS / 4) * 1000) / 1000, thinkS: 0.05 + rng.next() * 0.2, turns });
  }
  return { open, sessions };
}
