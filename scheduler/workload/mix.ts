// Synthetic mixes: per-shape (and per named tenant) arrival processes, length distributions, shared prefixes and
// sessions, from YAML (validated in mix_spec.ts). Everything becomes one open-loop workload. Session shapes start sessions by their arrival process and schedule
// each later turn at (previous turn's arrival + its output × assumedTpotS + think time): an open-loop stand-in for
// a closed loop, so one run can mix sessions with stateless traffic. See README.md for the schema.
import { asParams, readBool, readNumber } from '../core/config/params.js';
import { Rng } from '../util/random.js';
import { SharedPrefix, simBlockHashes } from './chain.js';
import { deriveSeed } from './hash.js';
import { parseMix, type ArrivalSpec, type MixSpec, type SessionSpec, type ShapeSpec } from './mix_spec.js';
import { clampOutput, openWorkload, tagShape, TOOL_CALL_MAX_OUTPUT_TOKENS } from './options.js';
import { exponential, gammaGap, randomHashes } from './sample.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

export { parseMix, type ArrivalSpec, type MixSpec, type SessionSpec, type ShapeSpec } from './mix_spec.js';

export interface MixOptions {
  seed?: number;
  blockTokens?: number;
  rateScale?: number;
  /** Overrides the mix's durationS. */
  durationS?: number;
  hintShapes?: boolean;
  maxRequests?: number;
}

interface Resolved {
  seed: number;
  blockTokens: number;
  rateScale: number;
  durationS: number;
  hintShapes: boolean;
  maxRequests: number;
}

function resolve(spec: MixSpec, opts: MixOptions, path: string): Resolved {
  const p = asParams(opts, `${path}(options)`);
  return {
    seed: readNumber(p, 'seed', `${path}(options)`, 1, { integer: true }),
    blockTokens: readNumber(p, 'blockTokens', `${path}(options)`, 64, { min: 1, integer: true }),
    rateScale: readNumber(p, 'rateScale', `${path}(options)`, 1, { above: 0 }),
    durationS: readNumber(p, 'durationS', `${path}(options)`, spec.durationS, { above: 0 }),
    hintShapes: readBool(p, 'hintShapes', `${path}(options)`, false),
    maxRequests: readNumber(p, 'maxRequests', `${path}(options)`, Number.POSITIVE_INFINITY, { min: 1, integer: true }),
  };
}

/** Samples a validated mix; the same spec, options and seed give the same workload. */
export function sampleMix(spec: MixSpec, opts: MixOptions = {}, path = 'mix'): OpenLoopWorkload {
  const o = resolve(spec, opts, path);
  const requests: WorkloadRequest[] = [];
  for (const shape of spec.shapes) requests.push(...sampleShape(spec.name, shape, o));
  requests.sort((a, b) => a.req.arrivalS - b.req.arrivalS);
  if (requests.length > o.maxRequests) requests.length = o.maxRequests;
  return openWorkload(spec.name, requests, o.durationS);
}

export function readMix(source: string | object, path = 'mix', opts: MixOptions = {}): OpenLoopWorkload {
  return sampleMix(parseMix(source, path), opts, path);
}

/** Start times of one shape's arrival process over [0, durationS). */
function arrivals(arrival: ArrivalSpec, rng: Rng, o: Resolved): number[] {
  const ratePerS = arrival.ratePerS * o.rateScale;
  const out: number[] = [];
  if (ratePerS <= 0) return out;
  // Start at a random phase of the first gap so that bursty processes do not all fire at t = 0.
  let t = arrival.process === 'poisson' ? exponential(rng, 1 / ratePerS) : gammaGap(rng, ratePerS, arrival.cv) * rng.next();
  while (t < o.durationS) {
    out.push(t);
    t += arrival.process === 'poisson' ? exponential(rng, 1 / ratePerS) : gammaGap(rng, ratePerS, arrival.cv);
  }
  return out;
}

/** Seed labels of a stream; anonymous streams keep their original ones, so existing mixes sample exactly as before. */
function streamLabels(spec: ShapeSpec): string[] {
  return spec.tenant === undefined ? [spec.shape] : ['tenant', spec.tenant, spec.shape];
}

/** Per-shape state: its prefixes and its own random streams (one shape's settings never move another's draws). */
class ShapeSampler {
  readonly content: Rng;
  /** Random block hashes come from their own stream, so the block size changes no length or arrival. */
  private readonly hashes: Rng;
  private readonly prefixes: bigint[][] = [];
  private sessions = 0;
  private requests = 0;

  /** `<shape>`, or `<tenant>-<shape>` for a named tenant's stream: seeds, prefixes and ids of one stream. */
  private readonly stream: string;

  constructor(readonly mixName: string, readonly spec: ShapeSpec, readonly o: Resolved) {
    const labels = streamLabels(spec);
    this.stream = spec.tenant === undefined ? spec.shape : `${spec.tenant}-${spec.shape}`;
    this.content = new Rng(deriveSeed(o.seed, 'mix', mixName, ...labels, 'content'));
    this.hashes = new Rng(deriveSeed(o.seed, 'mix', mixName, ...labels, 'hashes'));
    for (let v = 0; v < spec.prefix.variants; v++) {
      const blocks = Math.floor(spec.prefix.sharedTokens / o.blockTokens);
      const nodes = new SharedPrefix(`mix:${mixName}:${this.stream}:prefix:${v}`).first(blocks);
      this.prefixes.push(simBlockHashes(nodes, spec.prefix.sharedTokens, o.blockTokens, o.blockTokens));
    }
  }

  /** A tenant and its prefix variant (tenant i uses variant i mod variants: one app, one system prompt). */
  pickTenant(): { tenant: string; prefix: bigint[] } {
    const index = this.content.int(this.spec.tenants);
    const tenant = this.spec.tenant ?? `${this.spec.shape}-${index}`;
    return { tenant, prefix: this.prefixes[index % this.prefixes.length] as bigint[] };
  }

  /** Full-block hashes of a prompt: the shared prefix's whole blocks, then blocks no one else has. */
  freshHashes(prefix: bigint[], promptTokens: number): bigint[] {
    const total = Math.floor(promptTokens / this.o.blockTokens);
    const shared = Math.min(prefix.length, total);
    return prefix.slice(0, shared).concat(randomHashes(this.hashes, total - shared));
  }

  /** `count` more blocks no one else has (a session's context growing). */
  moreHashes(count: number): bigint[] {
    return randomHashes(this.hashes, count);
  }

  request(tenant: string, arrivalS: number, promptTokens: number, blockHashes: bigint[], hasToolResults: boolean, session?: { id: string; turn: number }): WorkloadRequest {
    const spec = this.spec;
    const outputTokens = clampOutput(spec.outputTokens.sample(this.content), spec.maxOutputTokens);
    const req: WorkloadRequest['req'] = {
      requestId: `mix-${this.stream}-${this.requests++}`,
      tenant,
      arrivalS,
      promptTokens,
      maxOutputTokens: spec.maxOutputTokens,
      blockHashes,
      hasTools: spec.hasTools,
      hasToolResults,
    };
    if (spec.reasoningEffort !== undefined) req.reasoningEffort = spec.reasoningEffort;
    if (session) {
      req.sessionId = session.id;
      req.turnIndex = session.turn;
    }
    // An agent-loop step answering briefly is a tool call whatever the session's shape (as in the Claude Code reader).
    const shape = hasToolResults && outputTokens <= TOOL_CALL_MAX_OUTPUT_TOKENS && session ? 'tool_call' : spec.shape;
    return tagShape({ req, outputTokens }, shape, this.o);
  }

  nextSessionId(): string {
    return `mix-${this.stream}-s${this.sessions++}`;
  }
}

function sampleShape(mixName: string, spec: ShapeSpec, o: Resolved): WorkloadRequest[] {
  const sampler = new ShapeSampler(mixName, spec, o);
  const starts = arrivals(spec.arrival, new Rng(deriveSeed(o.seed, 'mix', mixName, ...streamLabels(spec), 'arrivals')), o);
  const out: WorkloadRequest[] = [];
  for (const startS of starts) {
    if (spec.session) sampleSession(sampler, spec.session, startS, out);
    else out.push(single(sampler, startS));
  }
  return out;
}

function single(s: ShapeSampler, arrivalS: number): WorkloadRequest {
  const { tenant, prefix } = s.pickTenant();
  const promptTokens = s.spec.prefix.sharedTokens + s.spec.uniqueTokens.sample(s.content);
  const hasToolResults = s.spec.toolResultsShare > 0 && s.content.next() < s.spec.toolResultsShare;
  return s.request(tenant, arrivalS, Math.max(1, promptTokens), s.freshHashes(prefix, promptTokens), hasToolResults);
}

/** One session's turns: the context grows by each output and each turn's new tokens; hashes extend the chain. */
function sampleSession(s: ShapeSampler, session: SessionSpec, startS: number, out: WorkloadRequest[]): void {
  const { tenant, prefix } = s.pickTenant();
  const id = s.nextSessionId();
  const turns = session.turns.sample(s.content);
  let promptTokens = Math.max(1, s.spec.prefix.sharedTokens + s.spec.uniqueTokens.sample(s.content));
  let hashes = s.freshHashes(prefix, promptTokens);
  let arrivalS = startS;
  let hasToolResults = false;
  for (let turn = 0; turn < turns && arrivalS < s.o.durationS && promptTokens <= session.maxContextTokens; turn++) {
    const request = s.request(tenant, arrivalS, promptTokens, hashes.slice(0, Math.floor(promptTokens / s.o.blockTokens)), hasToolResults, { id, turn });
    out.push(request);
    hasToolResults = session.toolTurnShare > 0 && s.content.next() < session.toolTurnShare;
    const gapS = (hasToolResults ? session.toolThinkTimeS : session.thinkTimeS).sample(s.content);
    arrivalS += request.outputTokens * session.assumedTpotS + gapS;
    promptTokens += request.outputTokens + session.turnTokens.sample(s.content);
    const blocks = Math.floor(promptTokens / s.o.blockTokens);
    if (blocks > hashes.length) hashes = hashes.concat(s.moreHashes(blocks - hashes.length));
  }
}
