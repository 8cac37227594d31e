// `batch wait --progress`: one line of a batch's progress — a bar over lines with a result, the counts, the rate
// since waiting began — redrawn in place on a TTY, else printed every few seconds (logs stay readable).
import { statusOf, type BatchMeta } from './store.js';

const WIDTH = 24;

export function formatBatchProgress(m: BatchMeta, elapsedS: number, doneAtStart: number): string {
  const done = m.completed + m.failed + m.cancelled;
  const frac = m.total === 0 ? 1 : done / m.total;
  const filled = Math.max(0, Math.min(WIDTH, Math.round(frac * WIDTH)));
  const rate = elapsedS > 0 ? (done - doneAtStart) / elapsedS : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${m.total} lines (${m.completed} ok, ${m.failed} failed, ${m.cancelled} cancelled), ` +
    `${rate.toFixed(1)} lines/s, ${elapsedS.toFixed(1)} s, ${statusOf(m)}`;
}

export interface BatchProgressBar {
  update(m: BatchMeta): void;
  finish(m: BatchMeta): void;
}

export function makeBatchProgressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, prefix: string, plainEveryS = 5): BatchProgressBar {
  const tty = stream.isTTY === true;
  const t0 = Date.now();
  let doneAtStart: number | undefined;
  let nextPlainS = 0;
  const line = (m: BatchMeta): string => {
    doneAtStart ??= m.completed + m.failed + m.cancelled;
    return `${prefix}${formatBatchProgress(m, (Date.now() - t0) / 1000, doneAtStart)}`;
  };
  return {
    update(m) {
      const elapsedS = (Date.now() - t0) / 1000;
      if (tty) stream.write(`\r${line(m)}\x1b[K`);
      else if (elapsedS >= nextPlainS) {
        nextPlainS = elapsedS + plainEveryS;
        stream.write(`${line(m)}\n`);
      }
    },
    finish(m) {
      stream.write(`${tty ? '\r' : ''}${line(m)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}
