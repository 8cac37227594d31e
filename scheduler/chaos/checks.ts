// The soak's invariants, as a pure function of what was observed (so each can be tested on hand-made facts): every
// request the clients sent has exactly one end and the client and the gateway agree on it; the gateway's Prometheus
// counter matches its own per-request record; the batch job has one result per input line; the workers hold no
// sequence once the gateway is idle and no KV block once its streams are closed; every fault really happened and
// every failed instance rejoined; no process the soak started is still running. Each violation is one line.
import type { Finished } from '../gateway/frontend.js';
import type { ClientOutcome } from './outcome.js';
import type { TapEntry } from './tap.js';
import { usedBlocks, type WorkerKv } from './worker_kv.js';

export interface BatchFacts {
  id: string;
  /** Lines with a result when Redis was killed (null: not read). */
  doneAtRedisKill?: number | null;
  /** The batch object's status when the soak stopped waiting. */
  status: string;
  /** custom_ids of the input, in order. */
  inputIds: string[];
  /** Output lines read back (parsed JSON). */
  results: Array<{ custom_id?: string; response?: { status_code?: number; body?: { error?: { message?: string } } } | null; error?: { code?: string; message?: string } | null }>;
}

export interface WorkerFacts {
  tray: number;
  /** Scraped before any load: a fresh worker holds nothing (the baseline the end must return to). */
  baseline: WorkerKv | { error: string };
  /** Scraped after the load settled, the gateway still up. */
  settled: WorkerKv | { error: string };
  /** Scraped after the gateway closed its Step streams. */
  closed: WorkerKv | { error: string };
  /** The gateway engines' blocks for this tray when settled: running requests, idle sessions retained (the worker must not hold more). */
  gatewayLedger?: { used: number; retained: number };
}

export interface FaultFacts {
  killed: boolean;
  restarted: boolean;
  /** Connections the proxy severed (at least the gateway's one). */
  severed: number;
  redisRestarted: boolean;
  /** Instances on the killed and on the cut tray (each must have failed and rejoined). */
  instancesHit: number;
}

export interface SoakFacts {
  sentIds: readonly string[];
  outcomes: readonly ClientOutcome[];
  tap: ReadonlyMap<string, TapEntry>;
  /** nvlsched_requests_total summed by outcome label, scraped after settling. */
  metricsByOutcome: Record<string, number>;
  gatewayLive: number;
  schedulerLive: number;
  driver: { failures: number; rejoins: number; reruns: number };
  batch: BatchFacts | null;
  workers: readonly WorkerFacts[];
  faults: FaultFacts;
  /** Pids of processes the soak started that were still alive after it stopped them. */
  leftRunning: readonly number[];
}

/** Gateway codes that never reach the scheduler, so the Prometheus counter does not count them. */
const NOT_COUNTED = new Set(['E_SHUTTING_DOWN', 'E_EXTERNAL_POOL']);

function outcomeOfFinish(f: Finished): 'completed' | 'error' | 'cancelled' {
  return f.finishReason === 'length' || f.finishReason === 'stop' ? 'completed' : f.finishReason === 'error' ? 'error' : 'cancelled';
}

function checkClient(o: ClientOutcome, v: string[]): void {
  const at = `request ${o.id} (${o.api}, ${o.kind})`;
  if (o.outcome === 'open') return void v.push(`${at}: no end within the bound`);
  if (o.ends !== 1) v.push(`${at}: ${o.ends} ends seen by the client (exactly one expected)`);
  for (const p of o.problems) v.push(`${at}: ${p}`);
  if ((o.outcome === 'rejected' || o.outcome === 'failed') && !o.message) v.push(`${at}: ${o.outcome} without a message`);
  if (o.outcome === 'rejected' && !o.code) v.push(`${at}: rejected without a code`);
  if (o.kind === 'invalid' && o.outcome !== 'rejected') v.push(`${at}: an invalid request ended ${o.outcome}, not rejected`);
  if (o.kind === 'cancel' && o.outcome === 'cancelled' && o.tokens === 0) v.push(`${at}: cancelled before its first token`);
  if (o.kind !== 'cancel' && o.outcome === 'cancelled') v.push(`${at}: cancelled, but the client never cancelled it`);
  if (o.outcome === 'completed') {
    // A re-run continues the stream: a request cut short by a worker failure still gets every token it asked for.
    if (o.finishReason === 'length' && o.tokens !== o.maxTokens) v.push(`${at}: finish_reason length with ${o.tokens} of ${o.maxTokens} tokens`);
    if (o.finishReason === 'stop' && o.tokens >= o.maxTokens) v.push(`${at}: finish_reason stop at ${o.tokens} of ${o.maxTokens} tokens`);
  }
  if (o.api === 'grpc' && o.usageTokens !== undefined && o.usageTokens !== o.tokens) v.push(`${at}: usage says ${o.usageTokens} completion tokens, the client received ${o.tokens}`);
}

/** The client's end and the gateway's record of the same request agree. */
function checkAgainstTap(o: ClientOutcome, e: TapEntry | undefined, v: string[]): void {
  const at = `request ${o.id}`;
  if (o.outcome === 'open') return; // already a violation of its own
  if (!e) {
    // Refused by the API's own validation (before the frontend): only invalid requests may be.
    if (o.kind !== 'invalid') v.push(`${at}: the gateway never saw it (client: ${o.outcome} ${o.message ?? ''})`);
    return;
  }
  if (e.starts !== 1) v.push(`${at}: started ${e.starts} times at the gateway`);
  if (e.admitted !== e.ends.length) v.push(`${at}: admitted ${e.admitted} time(s), ${e.ends.length} end(s) at the gateway`);
  if (e.rejections.length > 0) {
    if (o.outcome !== 'rejected') v.push(`${at}: the gateway rejected it (${e.rejections[0]?.code}), the client saw ${o.outcome}`);
    return;
  }
  const f = e.ends[0];
  if (!f) return;
  const gw = outcomeOfFinish(f);
  const want = gw === 'completed' ? ['completed'] : gw === 'error' ? ['failed'] : o.kind === 'cancel' ? ['cancelled'] : ['failed'];
  if (!want.includes(o.outcome)) v.push(`${at}: the gateway ended it ${f.finishReason}${f.error ? ` (${f.error})` : ''}, the client saw ${o.outcome}`);
  if (gw === 'error' && !f.error) v.push(`${at}: finish_reason error without a reason at the gateway`);
}

function checkTapAlone(tap: ReadonlyMap<string, TapEntry>, clientIds: ReadonlySet<string>, v: string[]): void {
  for (const e of tap.values()) {
    if (clientIds.has(e.id)) continue;
    // Batch lines (ids of the drainer's own): each admitted run ends exactly once.
    if (e.admitted !== e.ends.length) v.push(`gateway request ${e.id}: admitted ${e.admitted} time(s), ${e.ends.length} end(s)`);
  }
}

function checkMetrics(f: SoakFacts, v: string[]): void {
  const want: Record<string, number> = { completed: 0, error: 0, cancelled: 0, rejected: 0 };
  for (const e of f.tap.values()) {
    for (const end of e.ends) want[outcomeOfFinish(end)] = (want[outcomeOfFinish(end)] ?? 0) + 1;
    for (const r of e.rejections) if (!NOT_COUNTED.has(r.code)) want.rejected = (want.rejected ?? 0) + 1;
  }
  for (const k of new Set([...Object.keys(want), ...Object.keys(f.metricsByOutcome)])) {
    const got = f.metricsByOutcome[k] ?? 0;
    if (got !== (want[k] ?? 0)) v.push(`gateway metrics: nvlsched_requests_total{outcome="${k}"} = ${got}, its frontend saw ${want[k] ?? 0}`);
  }
}

function checkBatch(b: BatchFacts | null, v: string[]): void {
  if (!b) return void v.push('batch: no batch job was checked');
  if (b.status !== 'completed') v.push(`batch ${b.id}: status ${b.status}, expected completed`);
  const seen = new Map<string, number>();
  for (const r of b.results) seen.set(r.custom_id ?? '', (seen.get(r.custom_id ?? '') ?? 0) + 1);
  for (const id of b.inputIds) {
    const n = seen.get(id) ?? 0;
    if (n !== 1) v.push(`batch ${b.id}: line ${id} has ${n} results (exactly one expected)`);
  }
  const input = new Set(b.inputIds);
  for (const id of seen.keys()) if (!input.has(id)) v.push(`batch ${b.id}: a result for ${JSON.stringify(id)}, which is not an input line`);
  for (const r of b.results) {
    const code = r.response?.status_code;
    if (r.response && code !== 200 && !r.response.body?.error?.message) v.push(`batch ${b.id}: line ${r.custom_id} failed with status ${code} and no error message`);
    if (!r.response && !r.error) v.push(`batch ${b.id}: line ${r.custom_id} has neither a response nor an error`);
  }
}

function checkWorkers(ws: readonly WorkerFacts[], v: string[]): void {
  for (const w of ws) {
    if ('error' in w.baseline) v.push(`worker ${w.tray}: no metrics before the load: ${w.baseline.error}`);
    if ('error' in w.settled) v.push(`worker ${w.tray}: no metrics after settling: ${w.settled.error}`);
    else if (w.settled.liveSequences !== 0) v.push(`worker ${w.tray}: ${w.settled.liveSequences} live sequences with the gateway idle (leaked)`);
    else if (w.gatewayLedger) {
      // Held sessions: the worker may hold fewer blocks than the gateway counts (sessions sharing a prefix share its
      // blocks there; the ledger counts each), never more — blocks the gateway does not know of are leaked.
      const held = usedBlocks(w.settled);
      const counted = w.gatewayLedger.used + w.gatewayLedger.retained;
      if (held > counted) v.push(`worker ${w.tray}: holds ${held} KV blocks with the gateway idle, the gateway counts ${counted} (leaked or unaccounted)`);
    }
    if ('error' in w.closed) v.push(`worker ${w.tray}: no metrics after the gateway closed: ${w.closed.error}`);
    else {
      if (w.closed.liveSequences !== 0) v.push(`worker ${w.tray}: ${w.closed.liveSequences} live sequences after the gateway closed (leaked)`);
      const base = 'error' in w.baseline ? undefined : w.baseline;
      for (const u of w.closed.used) {
        const b = base?.used.find((x) => x.gpu === u.gpu && x.tier === u.tier)?.blocks ?? 0;
        if (u.blocks !== b) v.push(`worker ${w.tray}: ${u.blocks} KV blocks used on ${u.tier}${u.gpu ? ` gpu ${u.gpu}` : ''} after the gateway closed (baseline ${b})`);
      }
    }
  }
}

function checkFaults(f: SoakFacts, v: string[]): void {
  const x = f.faults;
  if (!x.killed || !x.restarted) v.push(`fault: worker kill ${x.killed ? 'done' : 'not done'}, restart ${x.restarted ? 'done' : 'not done'}`);
  if (x.severed === 0) v.push('fault: the stream cut severed no connection');
  if (!x.redisRestarted) v.push('fault: Redis was not restarted');
  if (f.driver.failures < x.instancesHit) v.push(`gateway: ${f.driver.failures} instance failures, but the faults hit ${x.instancesHit} instances`);
  if (f.driver.rejoins !== f.driver.failures) v.push(`gateway: ${f.driver.failures} instance failures but ${f.driver.rejoins} rejoins (an instance did not come back)`);
  if (f.gatewayLive !== 0) v.push(`gateway: ${f.gatewayLive} requests still live after settling`);
  if (f.schedulerLive !== 0) v.push(`scheduler: ${f.schedulerLive} requests still live after settling`);
}

export function checkSoak(f: SoakFacts): string[] {
  const v: string[] = [];
  const byId = new Map<string, ClientOutcome[]>();
  for (const o of f.outcomes) byId.set(o.id, [...(byId.get(o.id) ?? []), o]);
  for (const id of f.sentIds) {
    const os = byId.get(id) ?? [];
    if (os.length !== 1) v.push(`request ${id}: ${os.length} client records (exactly one expected)`);
  }
  const clientIds = new Set(f.sentIds);
  for (const o of f.outcomes) {
    if (!clientIds.has(o.id)) v.push(`request ${o.id}: a client record for a request never sent`);
    checkClient(o, v);
    checkAgainstTap(o, f.tap.get(o.id), v);
  }
  checkTapAlone(f.tap, clientIds, v);
  checkMetrics(f, v);
  checkBatch(f.batch, v);
  checkWorkers(f.workers, v);
  checkFaults(f, v);
  for (const pid of f.leftRunning) v.push(`process ${pid}: still running after the soak stopped`);
  return v;
}
