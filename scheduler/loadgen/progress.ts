// The live run's progress on stderr: on a TTY one bar redrawn in place; otherwise (when asked) a plain line every
// few seconds, so that logs stay readable.
export interface LoadProgress {
  elapsedS: number;
  /** When sending stops (the duration cap), s of run clock. */
  durationS: number;
  /** Requests ended (completed, rejected, cancelled, failed). */
  ended: number;
  /** Requests the run will send, when known in advance (open loop); undefined for closed loop. */
  total?: number;
  live: number;
  completed: number;
  rejected: number;
  failed: number;
}

export interface ProgressBar {
  update(p: LoadProgress): void;
  /** The last state, then a newline (TTY) — call once at the end. */
  finish(p: LoadProgress): void;
}

const WIDTH = 24;

export function formatProgress(p: LoadProgress): string {
  // Open loop: requests done / total. Closed loop (total unknown): time against the sending window.
  const frac = p.total !== undefined ? (p.total === 0 ? 1 : p.ended / p.total) : Math.min(1, p.elapsedS / Math.max(p.durationS, 1e-9));
  const filled = Math.max(0, Math.min(WIDTH, Math.round(frac * WIDTH)));
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
  const count = p.total !== undefined ? `${p.ended}/${p.total}` : `${p.ended}`;
  return `${bar} ${count} requests done (${p.completed} ok, ${p.rejected} rejected, ${p.failed} failed), ${p.live} live, ` +
    `${p.elapsedS.toFixed(1)} s / ${p.durationS.toFixed(0)} s`;
}

export function makeProgressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, o: { prefix: string; plainEveryS?: number }): ProgressBar {
  const tty = stream.isTTY === true;
  const everyS = o.plainEveryS ?? 5;
  let nextPlainS = 0;
  return {
    update(p) {
      if (tty) stream.write(`\r${o.prefix}${formatProgress(p)}\x1b[K`);
      else if (p.elapsedS >= nextPlainS) {
        nextPlainS = p.elapsedS + everyS;
        stream.write(`${o.prefix}${formatProgress(p)}\n`);
      }
    },
    finish(p) {
      stream.write(`${tty ? '\r' : ''}${o.prefix}${formatProgress(p)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}
