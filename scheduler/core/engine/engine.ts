// One model instance's step loop, without a clock: the caller passes nowS to every call, so the same engine runs
// live (the gateway's clock) and in virtual time (the simulator). Strict alternation: planStep, execute the plan,
// completeStep with its outcome, then the next planStep. Any number of enqueue/cancel/session calls in between.
import type { TenantsConfig } from '../config/tenants.js';
import { SHAPES, type EngineSequence, type StepOutcome } from '../types.js';
import { adopt, checkAdoptInit, holdIncoming, releaseIncoming, runningDecodes, type AdoptState } from './adopt.js';
import { completeStep, endSeq } from './completer.js';
import type { EngineConfig } from './config.js';
import { EngineError } from './errors.js';
import { CountingKvLedger, type KvLedger } from './kv_ledger.js';
import { planStep } from './planner.js';
import { blocksFor, type Seq } from './seq.js';
import { enterQueue, makeState, type EngineState } from './state.js';
import type { EngineBatchPolicy, EngineLoad, EnginePlan, EnqueueResult, FinishedSeq, SeqInit } from './types.js';

export interface InstanceEngineOptions {
  instanceId: string;
  config: EngineConfig;
  policy: EngineBatchPolicy;
  /** Default: a CountingKvLedger of config.kvBlocksTotal HBM and config.hostKvBlocksTotal Grace blocks. */
  ledger?: KvLedger;
  /**
   * Rewrite a completed plan's item objects in the next plan instead of allocating new ones (about a thousand
   * objects a step that GC pauses would otherwise turn into the p99). Default false: plans stay valid forever.
   * Turn it on where a plan is consumed before its completeStep (the simulator, the worker stream); copy what is kept.
   */
  recyclePlans?: boolean;
  /**
   * Weighted fair share between tenants (and their priority bands) in the queue: fair_share.ts. Absent: every
   * sequence waits in one group and the order is the batch policy's alone, as without tenants.
   */
  tenants?: TenantsConfig;
}

export class InstanceEngine {
  private readonly st: EngineState;

  constructor(opts: InstanceEngineOptions) {
    const ledger = opts.ledger ?? new CountingKvLedger(opts.config.kvBlocksTotal, opts.config.hostKvBlocksTotal);
    this.st = makeState(opts.instanceId, opts.config, opts.policy, ledger, opts.recyclePlans ?? false, opts.tenants);
  }

  get policyName(): string {
    return this.st.policy.name;
  }

  /** Queues a request; rejected (never queued) when it can never fit in KV or the queue is full. */
  enqueue(init: SeqInit, nowS: number): EnqueueResult {
    checkInit(init);
    const st = this.st;
    const maxBlocks = blocksFor(init.promptTokens + init.maxOutputTokens, st.cfg.blockTokens);
    if (maxBlocks > st.ledger.deviceBlocksTotal) {
      const reason = `prompt + max output needs ${maxBlocks} KV blocks; the instance has ${st.ledger.deviceBlocksTotal}`;
      return { ok: false, end: { kind: 'rejected', code: 'E_KV_CAPACITY', reason } };
    }
    const queued = st.counts.waiting + st.counts.swapped;
    // With tenants, a tenant under its weighted share of the bound still gets in: refusals fall on who filled it.
    if (queued >= st.cfg.maxQueuedSeqs && !st.fair.underShare(st.fair.groupOf(init.tenant ?? ''), queued, st.cfg.maxQueuedSeqs)) {
      return { ok: false, end: { kind: 'rejected', code: 'E_QUEUE_FULL', reason: `${queued} sequences queued (maxQueuedSeqs ${st.cfg.maxQueuedSeqs})` } };
    }
    const s = newSeq(st.nextSeqId++, init, nowS);
    s.floorTokens = Math.min(st.policy.kvFloorTokens(s), s.promptTokens + s.maxOutputTokens);
    st.seqs.set(s.seqId, s);
    st.counts.pendingPrefillTokens += s.promptTokens - s.computedTokens;
    enterQueue(st, s, nowS, 'waiting');
    return { ok: true, seqId: s.seqId };
  }

  planStep(nowS: number): EnginePlan {
    if (this.st.outstanding) throw new EngineError('E_PLAN_OUTSTANDING', `step ${this.st.outstanding.plan.stepId} has not been completed`);
    const built = planStep(this.st, nowS);
    this.st.outstanding = built;
    return built.plan;
  }

  completeStep(plan: EnginePlan, outcome: StepOutcome, nowS: number): FinishedSeq[] {
    return completeStep(this.st, plan, outcome, nowS);
  }

  /** Ends a sequence in any phase; undefined when it is unknown or already ended. */
  cancel(seqId: number, reason: string): FinishedSeq | undefined {
    const s = this.st.seqs.get(seqId);
    return s ? endSeq(this.st, s, { kind: 'cancelled', reason }) : undefined;
  }

  /** Holds HBM blocks for KV on its way here (hand-off, migration); all or nothing. holdId: negative, unused. */
  holdIncoming(holdId: number, blocks: number): boolean {
    return holdIncoming(this.st, holdId, blocks);
  }

  releaseIncoming(holdId: number): void {
    releaseIncoming(this.st, holdId);
  }

  /**
   * A sequence that lived elsewhere continues here (adopt.ts): decoding on KV that arrived, or queued to recompute.
   * Undefined when its KV cannot be had (the hold is released either way).
   */
  adopt(init: SeqInit, state: AdoptState, nowS: number): number | undefined {
    checkInit(init);
    checkAdoptInit(init);
    const s = newSeq(this.st.nextSeqId++, init, nowS);
    return adopt(this.st, s, state);
  }

  /** Running decodes, for a migration policy (the engine's own records: read, never change). */
  runningDecodes(): readonly EngineSequence[] {
    return runningDecodes(this.st);
  }

  get(seqId: number): EngineSequence | undefined {
    return this.st.seqs.get(seqId);
  }

  /** Whether the queue is ordered by weighted fair share between tenants (a tenants section was given). */
  get fairShare(): boolean {
    return this.st.fair.enabled;
  }

  /**
   * The queue as a new request of `tenant` meets it under fair share: sequences and prefill tokens that will be
   * served before it (swapped and running ones, every higher band, its own tenant's, and the interleaved part of
   * each same-band tenant's; see FairShare.aheadOf). Without tenants: the whole queue, as view(). O(active tenants).
   */
  queueAhead(tenant: string, ownPrefillTokens: number): { queuedRequests: number; pendingPrefillTokens: number } {
    const { counts, fair } = this.st;
    if (!fair.enabled) return { queuedRequests: counts.waiting + counts.swapped, pendingPrefillTokens: counts.pendingPrefillTokens };
    const ahead = fair.aheadOf(tenant, ownPrefillTokens);
    const outsideQueue = counts.pendingPrefillTokens - fair.queuedPrefillTokens;
    return { queuedRequests: counts.swapped + ahead.waiting, pendingPrefillTokens: outsideQueue + ahead.prefillTokens };
  }

  view(): EngineLoad {
    const { ledger, counts, cfg } = this.st;
    const retained = ledger.retainedDeviceBlocks();
    return {
      queuedRequests: counts.waiting + counts.swapped,
      runningRequests: counts.running,
      pendingPrefillTokens: counts.pendingPrefillTokens,
      decodingSequences: counts.decoding,
      decodeSloWeightPerS: counts.decodeSloWeightPerS,
      kvBlocksTotal: ledger.deviceBlocksTotal,
      kvBlocksUsed: ledger.deviceBlocksTotal - ledger.deviceBlocksFree() - retained,
      kvBlocksRetained: retained,
      stepTokenBudget: cfg.stepTokenBudget,
      swappedSequences: counts.swapped,
      hostKvBlocksUsed: ledger.hostBlocksUsed(),
    };
  }

  /**
   * Holds an idle session's KV between turns: 'device' keeps it in HBM (reclaimed, oldest first, when live work
   * needs blocks: the next plan lists it in evictedSessions), 'host' demotes it to Grace (a move in the next plan).
   * False when the tier lacks room; the caller then treats the session as dropped.
   */
  retainSession(sessionKey: string, kvBlocks: number, tier: 'device' | 'host'): boolean {
    if (!Number.isInteger(kvBlocks) || kvBlocks < 1) throw new EngineError('E_BAD_CALL', `kvBlocks: expected an integer ≥ 1, got ${kvBlocks}`);
    const st = this.st;
    const from = this.sessionTier(sessionKey);
    if (!st.ledger.retain(sessionKey, kvBlocks, tier)) return false;
    st.retainedDevice.delete(sessionKey);
    st.retainedHost.delete(sessionKey);
    (tier === 'device' ? st.retainedDevice : st.retainedHost).set(sessionKey, kvBlocks);
    if (from !== tier && (from !== undefined || tier === 'host')) st.sessionMoves.push({ sessionKey, kvBlocks, to: tier });
    return true;
  }

  /** Brings a demoted session back to HBM ahead of its next turn; false when unknown, not in Grace, or no room. */
  promoteSession(sessionKey: string): boolean {
    const blocks = this.st.retainedHost.get(sessionKey);
    return blocks !== undefined && this.retainSession(sessionKey, blocks, 'device');
  }

  /** Frees a session's retained KV (its next turn arrived, or it was dropped); returns the blocks freed. */
  releaseSession(sessionKey: string): number {
    this.st.retainedDevice.delete(sessionKey);
    this.st.retainedHost.delete(sessionKey);
    return this.st.ledger.unretain(sessionKey);
  }

  sessionTier(sessionKey: string): 'device' | 'host' | undefined {
    if (this.st.retainedDevice.has(sessionKey)) return 'device';
    return this.st.retainedHost.has(sessionKey) ? 'host' : undefined;
  }

  /** KV blocks retained for an idle session (0 when none). */
  sessionKvBlocks(sessionKey: string): number {
    return this.st.retainedDevice.get(sessionKey) ?? this.st.retainedHost.get(sessionKey) ?? 0;
  }

  /** Keys of every idle session retained here, in HBM or Grace. */
  retainedSessions(): string[] {
    return [...this.st.retainedDevice.keys(), ...this.st.retainedHost.keys()];
  }
}

function newSeq(seqId: number, init: SeqInit, nowS: number): Seq {
  // At least the last prompt token is computed, so the step that finishes the prompt can sample (vLLM does the same).
  const cached = Math.min(init.cachedPromptTokens, init.promptTokens - 1);
  return {
    seqId,
    requestId: init.requestId,
    shape: init.shape,
    priority: init.priority ?? 0,
    arrivalS: init.arrivalS,
    enqueuedS: nowS,
    promptTokens: init.promptTokens,
    cachedPromptTokens: cached,
    prefilledTokens: cached,
    outputTokens: 0,
    maxOutputTokens: init.maxOutputTokens,
    predictedOutputTokens: init.predictedOutputTokens,
    kvBlocks: 0,
    phase: 'waiting',
    preemptions: 0,
    slo: init.slo,
    computedTokens: cached,
    decoding: false,
    swapped: false,
    queueKeyValue: 0,
    heapIndex: -1,
    planIndex: -1,
    eosPending: false,
    floorTokens: 0,
    tenant: init.tenant ?? '',
    group: null,
  };
}

function checkInt(value: number, field: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new EngineError('E_BAD_SEQ', `seq.${field}: expected an integer ≥ ${min}, got ${value}`);
}

function checkInit(init: SeqInit): void {
  if (!(SHAPES as readonly string[]).includes(init.shape)) throw new EngineError('E_BAD_SEQ', `seq.shape: expected one of ${SHAPES.join(', ')}, got ${JSON.stringify(init.shape)}`);
  checkInt(init.promptTokens, 'promptTokens', 1);
  checkInt(init.cachedPromptTokens, 'cachedPromptTokens', 0);
  if (init.cachedPromptTokens > init.promptTokens) throw new EngineError('E_BAD_SEQ', `seq.cachedPromptTokens: ${init.cachedPromptTokens} exceeds promptTokens ${init.promptTokens}`);
  checkInt(init.maxOutputTokens, 'maxOutputTokens', 1);
  if (!(init.predictedOutputTokens >= 0)) throw new EngineError('E_BAD_SEQ', `seq.predictedOutputTokens: expected a number ≥ 0, got ${init.predictedOutputTokens}`);
  if (!Number.isFinite(init.arrivalS)) throw new EngineError('E_BAD_SEQ', `seq.arrivalS: expected a finite number, got ${init.arrivalS}`);
  if (init.tenant !== undefined && typeof init.tenant !== 'string') throw new EngineError('E_BAD_SEQ', `seq.tenant: expected a string, got ${JSON.stringify(init.tenant)}`);
  if (init.priority !== undefined && !Number.isFinite(init.priority)) throw new EngineError('E_BAD_SEQ', `seq.priority: expected a finite number, got ${init.priority}`);
  if (!(init.slo?.ttftS > 0) || !(init.slo?.tpotS > 0)) throw new EngineError('E_BAD_SEQ', `seq.slo: expected ttftS > 0 and tpotS > 0, got ${JSON.stringify(init.slo)}`);
}
