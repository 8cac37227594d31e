// The replica's Forwarder (frontend.ts): decides, from state mirrored out of Redis (never a round trip on the
// request's path), whether another replica should serve a request, and keeps that shared state current from what
// this replica admits and ends.
//
// Decision: a session whose directory record names another live replica, or a prompt whose leading blocks another
// replica's KV summary holds further than any local instance does, goes there — only when the prefill it saves
// beats one extra hop: prefillS(uncached here) − prefillS(uncached there) > hopS, both from the performance model.
// Everything else, and everything while Redis is down, is served here.
import type { Scheduler } from '../../core/scheduler.js';
import type { PlacementCostModel, ScheduleRequest, Shape } from '../../core/types.js';
import { makePrefixColumns } from '../../core/kvindex/index.js';
import type { Finished, Forwarder, ForwardStart, StreamSink } from '../frontend.js';
import type { ParsedRequest } from '../request.js';
import type { SessionDirectory } from './directory.js';
import type { RedisLink } from './redis_link.js';
import type { ReplicaRegistry } from './registry.js';
import { startRelay, type ForwardTarget, type RelayDeps } from './relay.js';
import { summaryDepth, type SummaryTracker } from './summary.js';

export interface ForwarderOptions {
  replicaId: string;
  sched: Scheduler;
  /** This replica's instances (the registry and summaries name them by index). */
  instances: readonly string[];
  pool: string;
  blockTokens: number;
  link: RedisLink;
  directory: SessionDirectory;
  registry: ReplicaRegistry;
  tracker: SummaryTracker;
  relay: Omit<RelayDeps, 'peerFailed' | 'peerOk' | 'servedHere'>;
  /** The shape a forwarded request reports at start (same rules as the serving replica's classifier). */
  classify(req: ScheduleRequest): Shape;
  cost: PlacementCostModel;
  /** Seconds one forward adds (a gRPC stream to the peer and the relay of its chunks). */
  hopS: number;
  /** Never forward to save fewer blocks than this. */
  minSavedBlocks: number;
  log: (line: string) => void;
}

export interface ForwarderCounts {
  /** Forwards started, by reason. */
  session: number;
  prefix: number;
  /** Forwards served here after all: before the first token / mid-stream. */
  fallback: number;
  continuation: number;
  /** Candidates not worth the hop. */
  notWorth: number;
}

interface Candidate extends ForwardTarget {
  cachedTokens: number;
  why: 'session' | 'prefix';
}

export class ReplicaForwarder implements Forwarder {
  readonly counts: ForwarderCounts = { session: 0, prefix: 0, fallback: 0, continuation: 0, notWorth: 0 };
  private readonly live = new Set<ForwardStart>();
  private readonly columns;
  private nextId = 0;
  private readonly relayDeps: RelayDeps;

  constructor(private readonly o: ForwarderOptions) {
    this.columns = makePrefixColumns(Math.max(1, o.instances.length));
    this.relayDeps = {
      ...o.relay,
      peerFailed: (replicaId, why) => {
        o.registry.peerFailed(replicaId);
        o.log(`replica: forward to ${replicaId} failed (${why}); serving here, that replica is skipped for a while`);
      },
      peerOk: (replicaId) => o.registry.peerOk(replicaId),
      servedHere: (kind) => this.counts[kind]++,
    };
  }

  forward(parsed: ParsedRequest, sink: StreamSink): ForwardStart | null {
    const target = this.decide(parsed.req);
    if (!target) return null;
    this.counts[target.why]++;
    const remoteId = `fwd-${this.o.replicaId}-${++this.nextId}`;
    const handle: ForwardStart = startRelay(this.relayDeps, parsed, sink, target, remoteId, this.o.classify(parsed.req), this.o.pool, () => this.live.delete(handle));
    this.live.add(handle);
    return handle;
  }

  admitted(parsed: ParsedRequest, instanceId: string): void {
    const r = parsed.req;
    this.o.tracker.note(r.blockHashes, instanceId);
    if (r.sessionId !== undefined) this.o.directory.record(r.sessionId, instanceId, r.promptTokens);
  }

  ended(parsed: ParsedRequest, instanceId: string, f: Finished): void {
    const sessionId = parsed.req.sessionId;
    if (sessionId === undefined || (f.finishReason !== 'length' && f.finishReason !== 'stop')) return;
    this.o.directory.record(sessionId, instanceId, f.usage.promptTokens + f.usage.completionTokens);
  }

  /** Forwards in flight. */
  get liveForwards(): number {
    return this.live.size;
  }

  cancelAll(reason: string): void {
    for (const h of [...this.live]) h.cancel(reason);
  }

  /** Blocks of `hashes` the best usable peer's summary holds (tests wait on it). */
  peerPrefixBlocks(hashes: readonly bigint[]): number {
    let best = 0;
    for (const p of this.o.registry.usablePeers()) if (p.summary) best = Math.max(best, summaryDepth(p.summary, hashes).blocks);
    return best;
  }

  private decide(req: ScheduleRequest): Candidate | null {
    const o = this.o;
    // Hints the Generate proto cannot carry would be lost on the way: such requests stay here.
    if (!o.link.up || req.hintOutputTokens !== undefined || req.slo !== undefined) return null;
    const bt = o.blockTokens;
    let best: Candidate | null = null;
    if (req.sessionId !== undefined) {
      const rec = o.directory.lookup(req.sessionId);
      if (rec && rec.replicaId === o.replicaId) return null;
      const peer = rec ? o.registry.usable(rec.replicaId) : undefined;
      if (rec && peer) {
        // The retained context covers the previous turn; the peer's summary may know more of this prompt.
        const fromSummary = peer.summary ? summaryDepth(peer.summary, req.blockHashes).blocks * bt : 0;
        const cachedTokens = Math.min(req.promptTokens, Math.max(Math.floor(rec.contextTokens / bt) * bt, fromSummary));
        best = { replicaId: rec.replicaId, address: peer.rec.address, instanceId: rec.instanceId, cachedTokens, why: 'session' };
      }
    }
    if (!best && req.blockHashes.length > 0) {
      for (const peer of o.registry.usablePeers()) {
        if (!peer.summary) continue;
        const hit = summaryDepth(peer.summary, req.blockHashes);
        const cachedTokens = Math.min(req.promptTokens, hit.blocks * bt);
        if (hit.blocks > 0 && (!best || cachedTokens > best.cachedTokens)) {
          best = { replicaId: peer.rec.replicaId, address: peer.rec.address, instanceId: peer.rec.instances[hit.instance] ?? peer.rec.replicaId, cachedTokens, why: 'prefix' };
        }
      }
    }
    if (!best) return null;
    const localTokens = this.localCachedTokens(req);
    if (best.cachedTokens - localTokens < o.minSavedBlocks * bt || this.savedS(req, localTokens, best.cachedTokens) <= o.hopS) {
      this.counts.notWorth++;
      return null;
    }
    return best;
  }

  /** The longest prefix any local instance holds (device, then Grace, then a neighbour), in tokens. */
  private localCachedTokens(req: ScheduleRequest): number {
    const c = this.columns;
    this.o.sched.kvIndex.prefixHits(req.blockHashes, this.o.instances, c);
    let blocks = 0;
    for (let i = 0; i < this.o.instances.length; i++) {
      blocks = Math.max(blocks, (c.deviceBlocks[i] as number) + (c.hostBlocks[i] as number) + (c.neighbourBlocks[i] as number));
    }
    return Math.min(req.promptTokens, blocks * this.o.blockTokens);
  }

  /** Prefill seconds saved by serving where `remoteTokens` are cached instead of here (`localTokens`). */
  private savedS(req: ScheduleRequest, localTokens: number, remoteTokens: number): number {
    const view = this.o.sched.instanceView(this.o.instances[0] as string);
    const here = this.o.cost.prefillS(view, Math.max(1, req.promptTokens - localTokens), localTokens);
    const there = this.o.cost.prefillS(view, Math.max(1, req.promptTokens - remoteTokens), remoteTokens);
    return here - there;
  }
}
