// A worker's KV state as its /metrics shows it (scheduler/metrics/worker_metrics.ts, filled at scrape time from the
// native KV manager's stats): live sequences, and KV blocks in use per GPU and tier. "In use" is the native
// manager's usedBlocks — blocks referenced by a sequence (or a held session) or pinned; blocks kept only as prefix
// cache (unreferenced, evictable) are not counted, so prefix-cache retention never reads as a leak.

export interface WorkerKv {
  liveSequences: number;
  /** One entry per pool: `gpu` is '' for the tray's host (Grace) tier. */
  used: Array<{ gpu: string; tier: string; blocks: number }>;
}

const USED = /^nvlsched_worker_kv_cache_used_blocks\{([^}]*)\} (\S+)$/;
const LIVE = /^nvlsched_worker_live_sequences(?:\{[^}]*\})? (\S+)$/;

function label(labels: string, name: string): string {
  return new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1] ?? '';
}

export function parseWorkerKv(text: string): WorkerKv {
  let live: number | undefined;
  const used: WorkerKv['used'] = [];
  for (const line of text.split('\n')) {
    const u = USED.exec(line);
    if (u) used.push({ gpu: label(u[1] as string, 'gpu'), tier: label(u[1] as string, 'tier'), blocks: Number(u[2]) });
    const l = LIVE.exec(line);
    if (l) live = Number(l[1]);
  }
  if (live === undefined) throw new Error('no nvlsched_worker_live_sequences in the scrape');
  if (used.length === 0) throw new Error('no nvlsched_worker_kv_cache_used_blocks in the scrape');
  return { liveSequences: live, used };
}

export async function scrapeWorkerKv(metricsPort: number, timeoutMs = 2000): Promise<WorkerKv> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseWorkerKv(await res.text());
}

export const usedBlocks = (kv: WorkerKv): number => kv.used.reduce((n, u) => n + u.blocks, 0);
