// NCCL collective predictor over NVLink (inside one NVLink domain). message_size in the perf tables counts
// elements of nccl_dtype (half = 2 bytes, int8 = 1), as nccl-tests' "count"; bytes = message_size x element bytes.
// Ring/NVLS algorithms move f x bytes through each GPU's link, f = 2(n-1)/n for all_reduce and (n-1)/n for
// all_gather, reduce_scatter and alltoall.
//   bandwidth = f bytes / (NVLink per direction x busEff)
//   latency   = lat0 + lat1 (n - 1)       (microseconds; protocol hops grow with the ring)
//   time      = smoothMax_q(latency, bandwidth) + rampUs bytes / (bytes + rampBytes), q = 1 + qExtra
// Parameters [busEff, lat0Us, lat1Us, qExtra, rampUs, rampBytes] per op and dtype and GPU generation. Monotone in bytes and n.
import { type Gpu } from '../gpus.js';
import { smoothMax2 } from './common.js';

export const NCCL_OPS = ['all_reduce', 'all_gather', 'reduce_scatter', 'alltoall'] as const;
export type NcclOp = (typeof NCCL_OPS)[number];
export const NCCL_PARAMS = ['busEff', 'lat0Us', 'lat1Us', 'qExtra', 'rampUs', 'rampBytes'] as const;
export const NCCL_INIT: readonly number[] = [0.8, 8, 1, 1, 20, 4e6];

/** Traffic factor per byte of message for an op (1 = all_reduce, 0 = the others). */
export function ncclMs(gpu: Gpu, isAllReduce: number, p: ArrayLike<number>, numGpus: number, bytes: number): number {
  const share = (numGpus - 1) / numGpus;
  const f = isAllReduce ? 2 * share : share;
  const bandwidthS = (f * bytes) / (gpu.nvlinkBytesPerS * (p[0] as number));
  const latencyS = ((p[1] as number) + (p[2] as number) * (numGpus - 1)) * 1e-6;
  // Pipeline/protocol ramp: mid-size messages pay up to rampUs more (LL -> LL128 -> Simple protocol switch,
  // pipeline fill), saturating above rampBytes; keeps the large-message slope at the true bus bandwidth.
  const rampS = (p[4] as number) * 1e-6 * (bytes / (bytes + (p[5] as number)));
  return smoothMax2(latencyS, bandwidthS, 1 + (p[3] as number)) * 1e3 + rampS * 1e3;
}
