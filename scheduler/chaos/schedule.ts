// The soak's fault schedule, drawn from the seed: when each fault starts (as a fraction of the load window, so a
// 6 s test and a 60 s soak hit the same phases), which tray it hits and how long the thing stays down. The three
// faults never overlap, and the killed tray and the cut tray differ when there are two or more workers, so that
// each fault is seen alone and the cluster always keeps a healthy tray to re-run requests on.
import { Rng } from '../util/random.js';

export interface FaultSchedule {
  /** SIGKILL of this tray's worker process, restarted on the same port after downS. */
  kill: { tray: number; atS: number; downS: number };
  /** Every connection between the gateway and this tray's worker severed (its Step streams break); the proxy
   *  refuses new connections for downS, then accepts again. */
  cut: { tray: number; atS: number; downS: number };
  /** SIGKILL of Redis (append-only file, fsync always), restarted on the same port after downS. */
  redis: { atS: number; downS: number };
  /** When the batch job is submitted: shortly before Redis goes, so that its lines are draining across the restart. */
  batch: { atS: number };
}

export interface ScheduleOptions {
  seed: number;
  workers: number;
  /** Seconds of load: every fault starts and ends inside it. */
  durationS: number;
}

/** Down times scale with the window, within these bounds (s): long enough for a rejoin probe to miss once. */
const DOWN_MIN_S = 0.3;
const DOWN_MAX_S = 3;

function down(rng: Rng, durationS: number): number {
  const s = durationS * (0.05 + 0.05 * rng.next());
  return Math.round(Math.min(DOWN_MAX_S, Math.max(DOWN_MIN_S, s)) * 1000) / 1000;
}

const at = (rng: Rng, from: number, to: number, durationS: number): number => Math.round(durationS * (from + (to - from) * rng.next()) * 1000) / 1000;

export function faultSchedule(o: ScheduleOptions): FaultSchedule {
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`workers: expected an integer ≥ 1, got ${o.workers}`);
  if (!(o.durationS > 0 && Number.isFinite(o.durationS))) throw new RangeError(`durationS: expected a number > 0, got ${o.durationS}`);
  const rng = new Rng(o.seed ^ 0xc4a05);
  const killTray = rng.int(o.workers);
  const cutTray = o.workers === 1 ? 0 : (killTray + 1 + rng.int(o.workers - 1)) % o.workers;
  // Phases: kill in [15 %, 25 %), cut in [45 %, 55 %), Redis in [70 %, 80 %) of the window; each down at most 10 %,
  // so a fault is over (its thing restarted) before the next begins and before the load stops.
  const redisAtS = at(rng, 0.7, 0.8, o.durationS);
  return {
    kill: { tray: killTray, atS: at(rng, 0.15, 0.25, o.durationS), downS: down(rng, o.durationS) },
    cut: { tray: cutTray, atS: at(rng, 0.45, 0.55, o.durationS), downS: down(rng, o.durationS) },
    redis: { atS: redisAtS, downS: down(rng, o.durationS) },
    batch: { atS: Math.round((redisAtS - Math.min(1, 0.1 * o.durationS)) * 1000) / 1000 },
  };
}
