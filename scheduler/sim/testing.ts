// Small seeded workloads for the simulator's tests and benchmark (the trace readers live in scheduler/workload/;
// nothing here depends on them). Block hashes are chained at 64-token blocks like the traces'.
import type { ScheduleRequest } from '../core/types.js';
import { Rng } from '../util/random.js';
import type { ClosedLoopWorkload, OpenLoopWorkload, SessionScript, WorkloadRequest } from '../workload/types.js';

export const BLOCK_TOKENS = 64;

/** Chained 64-bit hashes (SplitMix-style mixing of parent and id): equal prefixes give equal chains. */
export function chain(ids: readonly bigint[], parent = 0n): bigint[] {
  const out: bigint[] = [];
  let h = parent;
  for (const id of ids) {
    let z = (h * 0x9e3779b97f4a7c15n + id + 0x632be59bd9b4e019n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    h = z ^ (z >> 31n);
    out.push(h);
  }
  return out;
}

export interface OpenMix {
  seed: number;
  count: number;
  ratePerS: number;
  /** Share of requests that start with the shared system prefix. */
  sharedShare?: number;
  sharedPrefixBlocks?: number;
  /** Mean prompt and output lengths (exponential-ish around them). */
  meanPromptTokens?: number;
  meanOutputTokens?: number;
  maxOutputTokens?: number;
}

function request(base: Omit<ScheduleRequest, 'blockHashes'>, hashes: bigint[], outputTokens: number): WorkloadRequest {
  return { req: { ...base, blockHashes: hashes }, outputTokens };
}

/** Poisson arrivals; a share of prompts share a system prefix (the rest are unique). */
export function openMix(o: OpenMix): OpenLoopWorkload {
  const rng = new Rng(o.seed);
  const sharedBlocks = o.sharedPrefixBlocks ?? 32;
  const shared = chain(Array.from({ length: sharedBlocks }, (_, i) => 0x5eed00n + BigInt(i)));
  const meanPrompt = o.meanPromptTokens ?? 3000;
  const meanOut = o.meanOutputTokens ?? 150;
  const requests: WorkloadRequest[] = [];
  let t = 0;
  for (let i = 0; i < o.count; i++) {
    t += -Math.log(1 - rng.next()) / o.ratePerS;
    const promptTokens = Math.max(16, Math.round(-Math.log(1 - rng.next()) * meanPrompt));
    const outputTokens = Math.max(1, Math.round(-Math.log(1 - rng.next()) * meanOut));
    const full = Math.floor(promptTokens / BLOCK_TOKENS);
    const useShared = rng.next() < (o.sharedShare ?? 0.5) && full > sharedBlocks;
    const head = useShared ? shared : [];
    const own = chain(Array.from({ length: full - head.length }, () => rng.u64()), head[head.length - 1] ?? 0n);
    requests.push(request({
      requestId: `r${i}`, tenant: 't0', arrivalS: t, promptTokens, maxOutputTokens: o.maxOutputTokens ?? 4096, hasTools: useShared, hasToolResults: false,
    }, [...head, ...own], outputTokens));
  }
  return { kind: 'open', name: `open-mix-${o.seed}`, requests, durationS: t };
}

export interface SessionMix {
  seed: number;
  sessions: number;
  turns: number;
  thinkTimeS: number;
  systemBlocks?: number;
  /** New blocks each turn adds to the context (besides the previous output). */
  growBlocks?: number;
  outputTokens?: number;
  /** Give every k-th session one sub-agent after its first turn (0: none). */
  subAgentEvery?: number;
}

/** Agent-like sessions: a shared system prefix, contexts that grow by the previous output plus new input. */
export function sessionMix(o: SessionMix): ClosedLoopWorkload {
  const rng = new Rng(o.seed);
  const system = chain(Array.from({ length: o.systemBlocks ?? 16 }, (_, i) => 0xa9e00n + BigInt(i)));
  const scripts: SessionScript[] = [];
  const makeScript = (sessionId: string, parent?: SessionScript['parent']): SessionScript => {
    const turns: SessionScript['turns'] = [];
    let ids = [...system];
    let tokens = ids.length * BLOCK_TOKENS;
    for (let k = 0; k < o.turns; k++) {
      const grow = (o.growBlocks ?? 4) + rng.int(4);
      ids = [...ids, ...chain(Array.from({ length: grow }, () => rng.u64()), ids[ids.length - 1] as bigint)];
      tokens = ids.length * BLOCK_TOKENS + rng.int(BLOCK_TOKENS);
      const outputTokens = (o.outputTokens ?? 100) + rng.int(50);
      const req: ScheduleRequest = {
        requestId: `${sessionId}.t${k}`, tenant: 't0', arrivalS: 0, promptTokens: tokens, maxOutputTokens: 4096, blockHashes: [...ids],
        hasTools: true, hasToolResults: k > 0, sessionId, turnIndex: k,
      };
      turns.push({ thinkTimeS: k === 0 ? 0 : o.thinkTimeS, request: { req, outputTokens } });
      // The next prompt holds this output: its blocks come first in the next turn's growth.
      const outBlocks = Math.floor(outputTokens / BLOCK_TOKENS);
      if (outBlocks > 0) ids = [...ids, ...chain(Array.from({ length: outBlocks }, () => rng.u64()), ids[ids.length - 1] as bigint)];
    }
    return { sessionId, tenant: 't0', turns, ...(parent ? { parent } : {}) };
  };
  for (let s = 0; s < o.sessions; s++) {
    const id = `s${s}`;
    scripts.push(makeScript(id));
    if (o.subAgentEvery && s % o.subAgentEvery === 0) scripts.push(makeScript(`${id}.sub`, { sessionId: id, afterTurn: 0 }));
  }
  return { kind: 'closed', name: `sessions-${o.seed}`, sessions: scripts };
}
