// The tuning progress bar on stderr: on a terminal one line redrawn after every trial; otherwise one plain line per
// trial (a log stays readable: a run has tens of trials, not thousands).
import type { TuneProgress } from './tune.js';

const WIDTH = 24;

export function formatTuneProgress(p: TuneProgress, elapsedS: number): string {
  const frac = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(frac * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
  return `${bar} ${p.done}/${p.total} trials, rung ${p.rung + 1}/${p.rungs} (${p.durationS} simulated s), ` +
    `last ${p.last.id} ${p.last.metrics.goodput_per_gpu_hour.toFixed(1)}, rung best ${p.best.id} ` +
    `${p.best.metrics.goodput_per_gpu_hour.toFixed(1)} good req/GPU-h, ${elapsedS.toFixed(0)} s`;
}

export function makeTuneProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, nowS: () => number) {
  const tty = stream.isTTY === true;
  const startS = nowS();
  let drawn = false;
  return {
    update(p: TuneProgress): void {
      const line = `tune: ${formatTuneProgress(p, nowS() - startS)}`;
      stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      drawn = true;
    },
    /** Ends the redrawn line (TTY) before other output. */
    finish(): void {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
