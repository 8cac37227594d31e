// `nvlsched bench overhead [--json]`: what the control plane costs per decode step, against a worker whose backend
// takes no time (`nvlsched worker --pace none`: it validates the plan, allocates/appends KV in the native KV manager,
// makes the tokens and the KV events, and answers at once — only the GPU's time is missing). One worker child process
// (GB200 NVL72 tray 0, Llama 3.1 70B at TP4: one model instance, one Step stream), measured three ways in one run:
//   (a) Step round trips: 64-decode plans over one Step stream, one in flight, as the gateway sends them (then the
//       same against a worker in this process, and the protobuf encode/decode alone, to show where the time goes);
//   (b) the real gateway (startGateway, in this process) keeping 64 sequences decoding on that worker through the
//       Frontend — scheduler planStep/completeStep, driver bookkeeping, KV events, Step round trip, EOS — no client;
//   (c) the same with 64 gRPC Generate streams from a client child process (tokens streamed to clients too).
// With a zero-time backend, wall time per driver step is the time the GPU would wait between two steps; the
// control-plane fraction is (c)'s wall time per step over the issue's 20 ms GB200 decode step at 64 sequences.
// Figures, not tests: the 2-core dev VM moves them by tens of percent; compare within one run.
import { parseFlags, usageError } from '../scheduler/cli/args.js';
import { startGateway, type RunningGateway } from '../scheduler/gateway/gateway.js';
import { makeFittedOpTimes } from '../scheduler/perf/fitted_optimes.js';
import { makeStepPredictor } from '../scheduler/perf/step.js';
import { startWorker } from '../scheduler/worker/worker.js';
import { codecUsPerRoundTrip, tokenChunkEncodeUs, delay, frontendLoad, measureWindow, roundTrips, waitRunning, withTimeout, type RoundTripResult, type WindowSample } from './overhead_phases.js';
import { spawnClients, spawnWorker, withChildrenCleanup, type Child, type Clients } from './overhead_procs.js';

const CLUSTER = 'gb200-nvl72';
const MODEL = 'llama-3.1-70b';
const TENSOR_PARALLEL = 4;
/** The reference: a GB200 decode step at 64 concurrent sequences per worker takes about 20 ms. */
const REFERENCE_STEP_MS = 20;
const TARGETS = { step_round_trips_per_s: 5000, control_plane_fraction: 0.02 };
const PROMPT_TOKENS = 256;
/**
 * Output tokens of all requests together: 2M tokens is 31k of tray 0's ~57k device blocks per GPU, so every
 * request's KV reservation fits (max_tokens = this / sequences, at most the context: 31k at 64 sequences, many
 * seconds of decoding). The closed loops start a fresh request when one ends anyway.
 */
const OUTPUT_TOKENS_IN_ALL = 2_000_000;
const START_TIMEOUT_MS = 60_000;
const CATCH_UP_PROBES = 12;

interface Options {
  sequences: number;
  seconds: number;
  warmupS: number;
  maxRoundTrips: number;
}

interface GatewayFigures {
  steps: number;
  seconds: number;
  steps_per_s: number;
  wall_us_per_step: number;
  gateway_cpu_us_per_step: number;
  worker_cpu_us_per_step: number | null;
  clients_cpu_us_per_step: number | null;
  scheduler_us_per_step: number;
  kv_events_us_per_step: number;
  /** Sequences per step as the gateway planned them. */
  sequences_per_step: number;
  /** Tokens per step that reached the clients (Frontend sinks or Generate streams): ≈ sequences_per_step when they keep up. */
  client_tokens_per_step: number;
  fraction_of_reference_step: number;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

function figures(w: WindowSample, tokens: number): GatewayFigures {
  const per = (x: number | null): number | null => (x === null ? null : r1((x * 1e6) / Math.max(1, w.steps)));
  const wallUs = (w.seconds * 1e6) / Math.max(1, w.steps);
  const sched = (w.schedulerUs.planStep ?? 0) + (w.schedulerUs.completeStep ?? 0);
  return {
    steps: w.steps,
    seconds: Math.round(w.seconds * 1000) / 1000,
    steps_per_s: Math.round(w.steps / w.seconds),
    wall_us_per_step: r1(wallUs),
    gateway_cpu_us_per_step: per(w.gatewayCpuS) as number,
    worker_cpu_us_per_step: per(w.workerCpuS),
    clients_cpu_us_per_step: per(w.clientsCpuS),
    scheduler_us_per_step: r1(sched / Math.max(1, w.steps)),
    kv_events_us_per_step: r1((w.schedulerUs.applyKvEvents ?? 0) / Math.max(1, w.steps)),
    sequences_per_step: r1(w.plannedSequences / Math.max(1, w.steps)),
    client_tokens_per_step: r1(tokens / Math.max(1, w.steps)),
    fraction_of_reference_step: Math.round((wallUs / (REFERENCE_STEP_MS * 1000)) * 10_000) / 10_000,
  };
}

/** Windows measured one after another, as one. */
function addWindows(ws: readonly WindowSample[]): WindowSample {
  const sum = (f: (w: WindowSample) => number | null): number | null => (ws.some((w) => f(w) === null) ? null : ws.reduce((n, w) => n + (f(w) as number), 0));
  const schedulerUs: Record<string, number> = {};
  for (const w of ws) for (const [k, v] of Object.entries(w.schedulerUs)) schedulerUs[k] = (schedulerUs[k] ?? 0) + v;
  return {
    steps: sum((w) => w.steps) as number,
    seconds: sum((w) => w.seconds) as number,
    gatewayCpuS: sum((w) => w.gatewayCpuS) as number,
    workerCpuS: sum((w) => w.workerCpuS),
    clientsCpuS: sum((w) => w.clientsCpuS),
    schedulerUs,
    plannedSequences: sum((w) => w.plannedSequences) as number,
  };
}

/** The performance model's decode step for the same instance at `sequences` sequences, by context length. */
function modelStepMs(gw: RunningGateway, sequences: number): Record<string, number> {
  const { model, perf } = gw.topology.cluster;
  const predictor = makeStepPredictor(model, perf, makeFittedOpTimes());
  const out: Record<string, number> = {};
  for (const context of [2048, 8192, 16384, 32768]) {
    const batch = Array.from({ length: sequences }, () => ({ phase: 'decode' as const, numNewTokens: 1, numCachedTokens: context }));
    out[`context_${context}`] = Math.round(predictor.predict(batch).stepS * 1e5) / 100;
  }
  return out;
}

async function measureGateway(gw: RunningGateway, worker: Child, o: Options): Promise<{ frontend: GatewayFigures; generate: GatewayFigures; generateOtherOrder: GatewayFigures }> {
  const maxTokens = Math.min(Math.floor(OUTPUT_TOKENS_IN_ALL / o.sequences), gw.topology.cluster.model.maxContextTokens - PROMPT_TOKENS);
  const load = { sequences: o.sequences, maxTokens, promptTokens: PROMPT_TOKENS };
  const fe = frontendLoad(gw, load);
  let frontend: GatewayFigures;
  try {
    await waitRunning(gw, o.sequences, START_TIMEOUT_MS);
    await delay(o.warmupS * 1000);
    const t0 = fe.tokens();
    const w = await measureWindow(gw, o.seconds, { worker: worker.cpuS, clients: () => null });
    frontend = figures(w, fe.tokens() - t0);
    if (fe.errors() > 0) throw new Error(`bench overhead: ${fe.errors()} requests ended with an error (frontend phase)`);
  } finally {
    fe.stop();
  }
  await withTimeout(gw.driver.idle(), START_TIMEOUT_MS, 'the Frontend requests to end');
  let clients: Clients | undefined;
  try {
    clients = await spawnClients(gw.port, o.sequences, maxTokens, PROMPT_TOKENS, START_TIMEOUT_MS);
    await waitRunning(gw, o.sequences, START_TIMEOUT_MS);
    await delay(o.warmupS * 1000);
    await clientsCaughtUp(gw, clients, o);
    // Two orders of the same work, alternated in quarters of the window so that drift hits both: the driver's
    // default (tokensAfterNextPlan: the next plan sent and flushed first, the step's tokens written while the worker
    // runs it) and the other (each step's tokens written to the clients before the next plan is sent).
    const halfS = o.seconds / 2;
    const parts: Record<'default' | 'other', Array<{ w: WindowSample; tokens: number }>> = { default: [], other: [] };
    const DEFAULT_ORDER = gw.driver.tokensAfterNextPlan;
    for (const order of ['default', 'other', 'other', 'default'] as const) {
      gw.driver.tokensAfterNextPlan = order === 'default' ? DEFAULT_ORDER : !DEFAULT_ORDER;
      const c0 = await clients.count();
      const w = await measureWindow(gw, halfS / 2, { worker: worker.cpuS, clients: clients.child.cpuS });
      const c1 = await clients.count();
      if (c1.errors > 0) throw new Error(`bench overhead: ${c1.errors} Generate streams ended with an error`);
      parts[order].push({ w, tokens: c1.tokens - c0.tokens });
    }
    gw.driver.tokensAfterNextPlan = DEFAULT_ORDER;
    const join = (xs: Array<{ w: WindowSample; tokens: number }>) => figures(addWindows(xs.map((x) => x.w)), xs.reduce((n, x) => n + x.tokens, 0));
    return { frontend, generate: join(parts.default), generateOtherOrder: join(parts.other) };
  } finally {
    await clients?.child.stop();
  }
}

/**
 * Waits (bounded: CATCH_UP_PROBES probes) until the clients receive about what the gateway produces: the 64 streams'
 * start leaves a backlog on a busy machine, and a window that drains it would not be a steady state.
 */
async function clientsCaughtUp(gw: RunningGateway, clients: Clients, o: Options): Promise<void> {
  const probeMs = Math.max(50, Math.min(250, o.seconds * 250));
  for (let k = 0; k < CATCH_UP_PROBES; k++) {
    const steps0 = gw.driver.stepsRun;
    const c0 = await clients.count();
    await delay(probeMs);
    const c1 = await clients.count();
    const produced = (gw.driver.stepsRun - steps0) * o.sequences;
    if (produced > 0 && Math.abs(c1.tokens - c0.tokens - produced) <= 0.1 * produced) return;
  }
}

function readOptions(flags: Record<string, unknown>): Options {
  const num = (name: string, fallback: number, min: number): number => {
    const value = (flags[name] as number | undefined) ?? fallback;
    if (!(value >= min)) throw usageError(`--${name}: expected a number ≥ ${min}, got ${value}`);
    return value;
  };
  const seconds = num('seconds', 4, 0.05);
  const sequences = num('sequences', 64, 1);
  if (!Number.isInteger(sequences) || sequences > 256) throw usageError(`--sequences: expected an integer in [1, 256], got ${sequences}`);
  return { sequences, seconds, warmupS: Math.min(1, seconds / 2), maxRoundTrips: Math.floor(num('round-trips', 100_000, 1)) };
}

export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, {
    json: { type: 'boolean', help: 'only the JSON line' },
    seconds: { type: 'number', help: 'measured seconds per phase, after a warm-up of min(1, seconds/2) (default 4)' },
    sequences: { type: 'number', help: 'decoding sequences on the worker (default 64)' },
    'round-trips': { type: 'number', help: 'at most this many timed Step round trips (default 100000)' },
  });
  if (rest.length > 0) throw usageError(`bench overhead: unexpected argument '${rest[0]}'`);
  const o = readOptions(flags);
  return withChildrenCleanup(() => measure(o, Boolean(flags.json)));
}

async function measure(o: Options, json: boolean): Promise<number> {
  const say = (line: string): void => void (json || process.stderr.write(`bench overhead: ${line}\n`));
  say(`starting a worker child (${CLUSTER} tray 0, ${MODEL} tp${TENSOR_PARALLEL}, --pace none) ...`);
  const worker = await spawnWorker(['--topology', CLUSTER, '--model', MODEL, '--tensor-parallel', String(TENSOR_PARALLEL), '--pace', 'none'], START_TIMEOUT_MS);
  let gw: RunningGateway | undefined;
  try {
    say(`(a) Step round trips, ${o.sequences} decodes per plan, to the worker child, then to an in-process worker ...`);
    const rt = await roundTrips(worker.port, o, worker.child.cpuS);
    const rtIn = await inProcessRoundTrips(o);
    const codecUs = codecUsPerRoundTrip(o.sequences, 2000);
    const genericCodecUs = codecUsPerRoundTrip(o.sequences, 2000, 'generic');
    const chunk = tokenChunkEncodeUs(20_000);
    gw = await startGateway({ cluster: CLUSTER, model: MODEL, tensorParallel: TENSOR_PARALLEL, workerPorts: [worker.port], grpcPort: 0 });
    if (gw.topology.instances.length !== 1) throw new Error(`bench overhead: expected one instance on tray 0, got ${gw.topology.instances.length}`);
    say(`(b, c) gateway with ${o.sequences} decoding sequences: through the Frontend, then from ${o.sequences} Generate streams ...`);
    const { frontend, generate, generateOtherOrder } = await measureGateway(gw, worker.child, o);
    const modelMs = modelStepMs(gw, o.sequences);
    const result = {
      bench: 'overhead',
      step_round_trips_per_s: Math.round(rt.perS),
      control_plane_fraction: generate.fraction_of_reference_step,
      control_plane_cpu_fraction: cpuFraction(generate),
      targets: TARGETS,
      met: {
        step_round_trips_per_s: rt.perS >= TARGETS.step_round_trips_per_s,
        control_plane_fraction: generate.fraction_of_reference_step <= TARGETS.control_plane_fraction,
      },
      reference_step_ms: REFERENCE_STEP_MS,
      model_decode_step_ms: modelMs,
      setup: {
        cluster: CLUSTER, model: MODEL, tensor_parallel: TENSOR_PARALLEL, sequences: o.sequences,
        worker: 'child process, sim backend, --pace none', gateway: 'this process', clients: 'child process',
        // (c) runs the driver's default order; (c') the other.
        tokens_after_next_plan: gw.driver.tokensAfterNextPlan,
      },
      round_trip: rtFigures(rt),
      round_trip_in_process_worker: rtFigures(rtIn),
      // The Step stream's codec (rpc/step_codec.ts) per round trip, and proto-loader's generic one for the same messages.
      codec_us_per_round_trip: r1(codecUs),
      codec_generic_us_per_round_trip: r1(genericCodecUs),
      // One Generate token chunk (one token to one client), encoded as grpc-js's generic serializer would and as the
      // service does (gateway/token_chunk.ts), interleaved in one loop.
      token_chunk_encode_us: chunk,
      gateway_frontend: frontend,
      gateway_generate: generate,
      // (c'): the other order of the same work, alternated with (c) in the same window.
      gateway_generate_other_order: generateOtherOrder,
      warnings: warnings(generate),
      counted: COUNTED(o.sequences),
    };
    if (!json) {
      printTable(o.sequences, rt, rtIn, [codecUs, genericCodecUs], gw.driver.tokensAfterNextPlan, frontend, generate, generateOtherOrder, result.model_decode_step_ms);
      process.stdout.write(`token chunk encode (one token to one client): generic ${chunk.generic_us} µs, by hand ${chunk.hand_us} µs (${(chunk.generic_us / Math.max(0.001, chunk.hand_us)).toFixed(1)}x), x${o.sequences} streams per step\n`);
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await gw?.close();
    await worker.child.stop();
  }
}

const COUNTED = (sequences: number): string =>
  `control_plane_fraction = wall time per gateway step with ${sequences} Generate streams (planStep, Step round trip ` +
  "incl. the worker's plan checks, KV allocate/append and events, KV events applied, EOS, completeStep, one token to " +
  "each client stream) / reference_step_ms; the backend's own time is 0. control_plane_cpu_fraction = (gateway + " +
  'worker CPU per step of the same run) / reference_step_ms: the same work without the waits for a core (the ' +
  "clients' CPU is not counted)";

/** (gateway + worker CPU per step) / the reference step: the wall figure without the waits for a core (null off Linux). */
function cpuFraction(g: GatewayFigures): number | null {
  if (g.worker_cpu_us_per_step === null) return null;
  return Math.round(((g.gateway_cpu_us_per_step + g.worker_cpu_us_per_step) / (REFERENCE_STEP_MS * 1000)) * 10_000) / 10_000;
}

/** Conditions under which (c) is not the steady state it claims to be. */
function warnings(gen: GatewayFigures): string[] {
  if (Math.abs(gen.client_tokens_per_step - gen.sequences_per_step) <= 0.1 * gen.sequences_per_step) return [];
  return [
    `the Generate clients received ${gen.client_tokens_per_step} tokens per step for ${gen.sequences_per_step} produced ` +
      "(the machine is short of CPU): the gateway's writes were queueing or draining a backlog, so (c) is not a steady " +
      'state — rerun on a quieter machine',
  ];
}

function rtFigures(rt: RoundTripResult): Record<string, number | null> {
  return {
    per_s: Math.round(rt.perS),
    round_trips: rt.roundTrips,
    seconds: Math.round(rt.seconds * 100) / 100,
    p50_us: r1(rt.p50Us),
    p99_us: r1(rt.p99Us),
    client_cpu_us: r1(rt.clientCpuUs),
    worker_cpu_us: rt.workerCpuUs === null ? null : r1(rt.workerCpuUs),
  };
}

/** (a) again against a worker in this process: the same wire and protobuf work, no process switch per round trip. */
async function inProcessRoundTrips(o: Options): Promise<RoundTripResult> {
  const config = { topology: CLUSTER, tray: 0, model: MODEL, tensorParallel: TENSOR_PARALLEL, seed: 1 } as const;
  const worker = await startWorker(config, { port: 0, pace: 'none' });
  try {
    return await roundTrips(worker.port, o);
  } finally {
    await worker.server.close();
  }
}

function printTable(sequences: number, rt: RoundTripResult, rtIn: RoundTripResult, [codecUs, genericCodecUs]: [number, number], planFirst: boolean, fe: GatewayFigures, gen: GatewayFigures, genOther: GatewayFigures, model: Record<string, number>): void {
  const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
  const otherOrder = planFirst ? 'tokens written before the next plan is sent' : 'next plan sent before the tokens are written';
  const cell = (x: string | number | null | undefined): string => (x === null ? 'n/a' : x === undefined ? '' : String(x));
  const row = (...cells: Array<string | number | null | undefined>): string => `| ${cells.map(cell).join(' | ')} |`;
  const rtRow = (label: string, r: RoundTripResult, cpuNote: string): string =>
    row(`${label} (p50 ${r1(r.p50Us)} µs, p99 ${r1(r.p99Us)} µs)`, Math.round(r.perS), r1(1e6 / r.perS), `${r1(r.clientCpuUs)}${cpuNote}`, r.workerCpuUs === null ? undefined : r1(r.workerCpuUs), undefined, undefined, undefined);
  const gwRow = (label: string, g: GatewayFigures, clients: boolean): string =>
    row(label, g.steps_per_s, g.wall_us_per_step, g.gateway_cpu_us_per_step, g.worker_cpu_us_per_step, clients ? g.clients_cpu_us_per_step : undefined, g.scheduler_us_per_step, pct(g.fraction_of_reference_step));
  const cpu = cpuFraction(gen);
  const steps = Object.entries(model).map(([k, v]) => `${k.replace('context_', '')} tokens ${v} ms`).join(', ');
  const lines = [
    row('measurement', 'per s', 'wall µs/step', 'this process CPU µs', 'worker CPU µs', 'clients CPU µs', 'scheduler µs', `of ${REFERENCE_STEP_MS} ms`),
    row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'),
    rtRow(`(a) Step round trip, ${sequences} decodes, worker child`, rt, ''),
    rtRow("(a') the same, worker in this process", rtIn, ' (both)'),
    row(`(a'') codec only: encode + decode one plan and its result (the stream's hand codec; proto-loader's: ${r1(genericCodecUs)} µs)`, Math.round(1e6 / codecUs), r1(codecUs), r1(codecUs), undefined, undefined, undefined, undefined),
    gwRow('(b) gateway step, Frontend, no client streams', fe, false),
    gwRow(`(c) gateway step, ${sequences} Generate streams (${planFirst ? 'next plan sent first, tokens written while the worker runs it' : 'tokens written, then the next plan'})`, gen, true),
    gwRow(`(c') the same, ${otherOrder} (alternated with (c))`, genOther, true),
    `targets (issue): ≥ ${TARGETS.step_round_trips_per_s} Step round trips/s (row a); control plane ≤ ${pct(TARGETS.control_plane_fraction)} of a ` +
      `${REFERENCE_STEP_MS} ms GB200 decode step at 64 sequences (row c, wall time; by CPU time, gateway + worker: ${cpu === null ? 'n/a' : pct(cpu)})`,
    `scheduler µs = planStep + completeStep per step; KV events applied: ${gen.kv_events_us_per_step} µs/step; ` +
      `sequences per step (c): ${gen.sequences_per_step} planned, ${gen.client_tokens_per_step} tokens received by the clients`,
    ...warnings(gen).map((w) => `warning: ${w}`),
    `performance model, ${MODEL} tp${TENSOR_PARALLEL} on gb200, ${sequences}-sequence decode step by context: ${steps}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
