// Reusing closed-loop session scripts: more concurrent sessions than the trace holds replay its scripts again with
// fresh hash namespaces (architecture §6 `--sessions`), except the prefix every session shares, which stays shared.
import { chainHash, namespaceKey, toBigInt } from './hash.js';
import type { ClosedLoopWorkload, SessionScript, WorkloadRequest } from './types.js';

const shared = new WeakMap<ClosedLoopWorkload, ReadonlySet<bigint>>();
const NONE: ReadonlySet<bigint> = new Set();

export function rememberSharedHashes(workload: ClosedLoopWorkload, hashes: ReadonlySet<bigint>): void {
  shared.set(workload, hashes);
}

/** Hashes of the prefix all sessions of this workload share (empty when its reader recorded none). */
export function sharedHashesOf(workload: ClosedLoopWorkload): ReadonlySet<bigint> {
  return shared.get(workload) ?? NONE;
}

/** The session id of copy `copy` of a script (copy 0 is the script itself). */
export function copySessionId(sessionId: string, copy: number): string {
  return copy === 0 ? sessionId : `${sessionId}~${copy}`;
}

/**
 * Copy `copy` (≥ 1) of a script: session id `<id>~<copy>` (its parent's too, so copy a session and its sub-agents
 * with the same number), request ids renamed, and every block hash outside `keep` remapped to
 * chainHash(hash, key(copy)) — equal hashes stay equal, so prefix sharing inside the copy is what it was in the
 * original, while nothing but the `keep` hashes meets the original or other copies.
 */
export function freshSessionCopy(script: SessionScript, copy: number, keep: ReadonlySet<bigint> = NONE): SessionScript {
  if (!Number.isSafeInteger(copy) || copy < 1) throw new RangeError(`freshSessionCopy: copy must be an integer ≥ 1, got ${copy}`);
  const salt = toBigInt(namespaceKey(`session-copy:${copy}`));
  const memo = new Map<bigint, bigint>();
  const remap = (hash: bigint): bigint => {
    if (keep.has(hash)) return hash;
    let out = memo.get(hash);
    if (out === undefined) {
      out = chainHash(hash, salt);
      memo.set(hash, out);
    }
    return out;
  };
  const sessionId = copySessionId(script.sessionId, copy);
  const turns = script.turns.map(({ thinkTimeS, request }, k) => ({ thinkTimeS, request: copyRequest(request, sessionId, k, remap) }));
  const out: SessionScript = { sessionId, tenant: script.tenant, turns };
  if (script.parent) out.parent = { sessionId: copySessionId(script.parent.sessionId, copy), afterTurn: script.parent.afterTurn };
  return out;
}

function copyRequest(request: WorkloadRequest, sessionId: string, turn: number, remap: (h: bigint) => bigint): WorkloadRequest {
  const copy: WorkloadRequest = {
    req: { ...request.req, requestId: `${sessionId}#${turn}`, sessionId, blockHashes: request.req.blockHashes.map(remap) },
    outputTokens: request.outputTokens,
  };
  if (request.traceShape !== undefined) copy.traceShape = request.traceShape;
  return copy;
}
