// GPU catalog for the op-level performance model. Every figure names its source: keys in brackets resolve in
// ../shared/docs/reference/anchors-performance.md ("Sources"); figures that file lacks name their public source and
// are marked ASSUMPTION where they are our reading rather than a vendor number. All throughputs are per GPU, dense.
//
// nvfp4 on Hopper: H100/H200 tensor cores have no FP4 path (fp4Dense = null). The predictors refuse nvfp4 there
// with an error rather than silently running it as fp8 — a scheduler asking for it has a configuration bug.

export type GpuName = 'h100' | 'h200' | 'b200' | 'gb200' | 'gb300';
/** Efficiency parameters are fitted per generation; GPUs of one generation share kernels. */
export type Generation = 'hopper' | 'blackwell';
export type ComputeDtype = 'bf16' | 'fp8' | 'fp4';

export interface Gpu {
  readonly name: GpuName;
  readonly generation: Generation;
  /** HBM capacity visible to software, bytes. */
  readonly hbmBytes: number;
  readonly hbmBytesPerS: number;
  /** Dense tensor-core FLOP/s per dtype; fp4 is null where the hardware has none. */
  readonly flopsPerS: { readonly bf16: number; readonly fp8: number; readonly fp4: number | null };
  readonly smCount: number;
  readonly boostClockHz: number;
  /** Special-function (exp) throughput, exponentials/s: bounds softmax in attention. */
  readonly expPerS: number;
  /** NVLink bandwidth per direction, bytes/s, and one-hop small-message latency, s. */
  readonly nvlinkBytesPerS: number;
  readonly nvlinkLatencyS: number;
  /** GPUs in one NVLink domain (8 for HGX boards, 72 for NVL72 racks). */
  readonly nvlinkDomainGpus: number;
  /** CPU<->GPU link per direction, bytes/s (NVLink-C2C on Grace parts, PCIe Gen5 x16 on x86 boards). */
  readonly hostLinkBytesPerS: number;
  /** Scale-out NIC per GPU, bytes/s, and its latency, s. */
  readonly scaleOutBytesPerS: number;
  readonly scaleOutLatencyS: number;
  readonly tdpW: number;
}

const GB = 1e9;
const TB = 1e12;
const T = 1e12;

// Shared assumptions:
// - NVLink one-hop latency ~2 us and scale-out (InfiniBand, RDMA) ~5 us: ASSUMPTION, order of magnitude of NCCL's
//   small-message latency in nccl-tests; the fitted NCCL latency terms replace it for predictions.
// - PCIe Gen5 x16 = 64 GB/s per direction (PCI-SIG Gen5 spec, 32 GT/s x 16 lanes, ~63 GB/s after encoding).
const NVLINK_LATENCY_S = 2e-6; // ASSUMPTION (see above)
const IB_LATENCY_S = 5e-6; // ASSUMPTION (see above)
const PCIE5_X16_BYTES_PER_S = 64 * GB;

export const GPUS: Readonly<Record<GpuName, Gpu>> = {
  h100: {
    name: 'h100',
    generation: 'hopper',
    hbmBytes: 80 * GB, // [DC-H200] H100 SXM 80 GB HBM3
    hbmBytesPerS: 3.35 * TB, // [DC-H200]
    flopsPerS: { bf16: 989.5 * T, fp8: 1979 * T, fp4: null }, // [DC-H200] dense; Hopper has no FP4 tensor path
    smCount: 132, // NVIDIA H100 Tensor Core GPU Architecture whitepaper (H100 SXM5: 132 SMs)
    boostClockHz: 1.98e9, // NVIDIA H100 datasheet, max boost 1,980 MHz (SXM5)
    // FlashAttention-3 paper (Shah et al. 2024, arXiv 2407.08608): "H100 SXM5 ... 989 TFLOPS of FP16 matmul but
    // only 3.9 TFLOPS of special functions" = 132 SMs x 16 MUFU/clk x 1.83 GHz.
    expPerS: 3.9e12,
    nvlinkBytesPerS: 450 * GB, // [MLP41-H200sys] NVLink 4 900 GB/s bidirectional -> 450 per direction
    nvlinkLatencyS: NVLINK_LATENCY_S,
    nvlinkDomainGpus: 8, // [MLP41-H200sys] 8-GPU HGX domain
    hostLinkBytesPerS: PCIE5_X16_BYTES_PER_S,
    scaleOutBytesPerS: 50 * GB, // DGX H100 user guide: 8x ConnectX-7 400 Gb/s, one per GPU
    scaleOutLatencyS: IB_LATENCY_S,
    tdpW: 700, // NVIDIA H100 datasheet (SXM up to 700 W)
  },
  h200: {
    name: 'h200',
    generation: 'hopper',
    hbmBytes: 141 * GB, // [DC-H200, MLP41-H200sys]
    hbmBytesPerS: 4.8 * TB, // [DC-H200, MLP41-H200sys]
    flopsPerS: { bf16: 989.5 * T, fp8: 1979 * T, fp4: null }, // [DC-H200] same die as H100
    smCount: 132, // same GH100 configuration as H100 SXM (NVIDIA H200 datasheet)
    boostClockHz: 1.98e9, // as H100 SXM (ASSUMPTION: same die and clocks)
    expPerS: 3.9e12, // as H100 (same SMs, ASSUMPTION: same clock)
    nvlinkBytesPerS: 450 * GB, // [MLP41-H200sys] 900 GB/s bidirectional
    nvlinkLatencyS: NVLINK_LATENCY_S,
    nvlinkDomainGpus: 8, // [MLP41-H200sys]
    hostLinkBytesPerS: PCIE5_X16_BYTES_PER_S,
    scaleOutBytesPerS: 50 * GB, // [MLP41-H200sys] 10x400 Gb/s per 8-GPU node (8 for GPUs = 50 GB/s each)
    scaleOutLatencyS: IB_LATENCY_S,
    tdpW: 700, // [MLP41-H200sys]
  },
  b200: {
    name: 'b200',
    generation: 'blackwell',
    hbmBytes: 180 * GB, // [MLP51-B200] "B200-SXM-180GB" (192 GB nominal [GK-B200])
    hbmBytesPerS: 8 * TB, // [GK-B200, NV-BWU]
    flopsPerS: { bf16: 2250 * T, fp8: 4500 * T, fp4: 9000 * T }, // [GK-B200, VERDA] HGX 1000 W part, dense
    smCount: 148, // ASSUMPTION: public B200 configuration (148 SMs enabled of 160; cf. B300 160 [NV-BWU])
    boostClockHz: 1.965e9, // ASSUMPTION: public spec sheets (~1.965 GHz boost)
    expPerS: 5e12, // [VERDA, NV-BWU] "5 TeraExp/s" for B200 vs 10.7 for B300
    nvlinkBytesPerS: 900 * GB, // [NV-GB200-blog, SA-GB200] NVLink 5 1.8 TB/s bidirectional
    nvlinkLatencyS: NVLINK_LATENCY_S,
    nvlinkDomainGpus: 8, // HGX B200 board: 8 GPUs behind NVSwitch [MLP51-B200 x8]
    hostLinkBytesPerS: PCIE5_X16_BYTES_PER_S,
    scaleOutBytesPerS: 50 * GB, // ConnectX-7 400 Gb/s per GPU (DGX B200 user guide; as GB200 [SA-GB200])
    scaleOutLatencyS: IB_LATENCY_S,
    tdpW: 1000, // [GK-B200] HGX B200 1,000 W
  },
  gb200: {
    name: 'gb200',
    generation: 'blackwell',
    hbmBytes: 186 * GB, // [MLP51-GB200] visible (192 nominal [GK-B200])
    hbmBytesPerS: 8 * TB, // [GK-B200, NV-BWU]
    flopsPerS: { bf16: 2500 * T, fp8: 5000 * T, fp4: 10000 * T }, // [GK-B200] 1200 W part, dense
    smCount: 148, // ASSUMPTION: as B200
    boostClockHz: 1.965e9, // ASSUMPTION: as B200
    expPerS: 5e12, // [VERDA, NV-BWU]
    nvlinkBytesPerS: 900 * GB, // [NV-GB200-blog, SA-GB200]
    nvlinkLatencyS: NVLINK_LATENCY_S,
    nvlinkDomainGpus: 72, // [NV-GB200-blog]
    hostLinkBytesPerS: 450 * GB, // [NV-GB200-blog, DATACRUNCH] NVLink-C2C 900 GB/s bidirectional
    scaleOutBytesPerS: 50 * GB, // [SA-GB200, MLP51-GB200] ConnectX-7 400 Gb/s per GPU
    scaleOutLatencyS: IB_LATENCY_S,
    tdpW: 1200, // [MLP51-GB200]
  },
  gb300: {
    name: 'gb300',
    generation: 'blackwell',
    hbmBytes: 279 * GB, // [VERDA] usable of 288 GB [MLP51-GB300, NV-BWU]
    hbmBytesPerS: 8 * TB, // [NV-BWU] same as B200
    flopsPerS: { bf16: 2500 * T, fp8: 5000 * T, fp4: 15000 * T }, // [VERDA, GK-B300, NV-BWU] dense
    smCount: 160, // [NV-BWU]
    boostClockHz: 1.965e9, // ASSUMPTION: as B200
    expPerS: 10.7e12, // [VERDA, NV-BWU] 2x attention-layer SFU throughput
    nvlinkBytesPerS: 900 * GB, // [NV-GB200-blog] NVLink 5, unchanged in GB300 [GK-B300]
    nvlinkLatencyS: NVLINK_LATENCY_S,
    nvlinkDomainGpus: 72, // [GK-B300]
    hostLinkBytesPerS: 450 * GB, // [NV-GB200-blog, DATACRUNCH] NVLink-C2C (ASSUMPTION: unchanged from GB200)
    scaleOutBytesPerS: 100 * GB, // [VD, GK-B300, MLP51-GB300] ConnectX-8 800 Gb/s per GPU
    scaleOutLatencyS: IB_LATENCY_S,
    tdpW: 1400, // [MLP51-GB300]
  },
};

export const GPU_NAMES = Object.keys(GPUS) as GpuName[];

export function isGpuName(value: string): value is GpuName {
  return Object.prototype.hasOwnProperty.call(GPUS, value);
}

/** Peak dense FLOP/s for a compute dtype; throws naming the GPU where the dtype has no tensor-core path. */
export function peakFlopsPerS(gpu: Gpu, dtype: ComputeDtype): number {
  const peak = gpu.flopsPerS[dtype];
  if (peak === null) {
    throw new Error(`${gpu.name} has no ${dtype} tensor cores (nvfp4 needs Blackwell); use fp8 or bfloat16`);
  }
  return peak;
}
