// The plan's progress bar on stderr: on a terminal one line redrawn after every capacity search; otherwise one plain
// line per search (a log stays readable: tens of searches, not thousands).
import type { PlanProgress } from './search.js';

const WIDTH = 24;
const sig = (x: number | null) => (x === null ? 'none' : String(Number(x.toPrecision(3))));

export function formatPlanProgress(p: PlanProgress, elapsedS: number): string {
  const frac = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(frac * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${p.done}/${p.total} splits, rung ${p.rung + 1}/${p.rungs} ` +
    `(${p.durationS} simulated s), last ${p.last.candidate.id} capacity ${sig(p.last.capacity)} (${p.last.probes.length} runs), ` +
    `rung best ${p.best.candidate.id} ${sig(p.best.capacity)}, ${elapsedS.toFixed(0)} s`;
}

export function makePlanProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, nowS: () => number) {
  const tty = stream.isTTY === true;
  const startS = nowS();
  let drawn = false;
  return {
    update(p: PlanProgress): void {
      const line = `plan: ${formatPlanProgress(p, nowS() - startS)}`;
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
