// Synthetic mixes: per-shape arrival processes, length distributions, shared prefixes and sessions, from YAML.
// Everything becomes one open-loop workload. Session shapes start sessions by their arrival process and schedule
// each later turn at (previous turn's arrival + its output × assumedTpotS + think time): an open-loop stand-in for
// a closed loop, so one run can mix sessions with stateless traffic. See README.md for the schema.
import { parse } from 'yaml';
import {
  asParams,
  ConfigError,
  onlyKeys,
  readBool,
  readEnum,
  readNumber,
  readString,
  type Params,
} from '../core/config/params.js';
import { SHAPES, type ReasoningEffort, type Shape } from '../core/types.js';
import { Rng } from '../util/random.js';
import { SharedPrefix, simBlockHashes } from './chain.js';
import { readDist, type Dist } from './dist.js';
import { deriveSeed } from './hash.js';
import { clampOutput, openWorkload, tagShape, TOOL_CALL_MAX_OUTPUT_TOKENS } from './options.js';
import { exponential, gammaGap, randomHashes } from './sample.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

export interface ArrivalSpec {
  process: 'poisson' | 'gamma';
  ratePerS: number;
  /** Coefficient of variation of the gaps (gamma; 1 = Poisson, > 1 = bursts). */
  cv: number;
}

export interface SessionSpec {
  turns: Dist;
  thinkTimeS: Dist;
  /** Probability that a turn ends in tool_use, making the next turn a tool-result turn. */
  toolTurnShare: number;
  toolThinkTimeS: Dist;
  /** Tokens each later turn appends (user text or tool output) after the previous prompt and output. */
  turnTokens: Dist;
  maxContextTokens: number;
  assumedTpotS: number;
}

export interface ShapeSpec {
  shape: Shape;
  arrival: ArrivalSpec;
  tenants: number;
  prefix: { sharedTokens: number; variants: number };
  uniqueTokens: Dist;
  outputTokens: Dist;
  maxOutputTokens: number;
  hasTools: boolean;
  toolResultsShare: number;
  reasoningEffort: ReasoningEffort | undefined;
  session: SessionSpec | undefined;
}

export interface MixSpec {
  name: string;
  durationS: number;
  shapes: ShapeSpec[];
}

export interface MixOptions {
  seed?: number;
  blockTokens?: number;
  rateScale?: number;
  /** Overrides the mix's durationS. */
  durationS?: number;
  hintShapes?: boolean;
  maxRequests?: number;
}

const TOKENS = { integer: true, min: 0 };
const POSITIVE_TOKENS = { integer: true, min: 1 };
const SECONDS = { integer: false, min: 0 };

/** Validates a mix (YAML text or the parsed object); every bad field throws ConfigError naming it. */
export function parseMix(source: string | object, path = 'mix'): MixSpec {
  let value: unknown = source;
  if (typeof source === 'string') {
    try {
      value = parse(source);
    } catch (error) {
      throw new ConfigError(path, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const p = asParams(value, path);
  onlyKeys(p, path, ['name', 'durationS', 'shapes']);
  const shapes = asParams(p.shapes, `${path}.shapes`);
  onlyKeys(shapes, `${path}.shapes`, SHAPES);
  const specs = SHAPES.filter((shape) => shapes[shape] !== undefined).map((shape) => readShape(shape, asParams(shapes[shape], `${path}.shapes.${shape}`), `${path}.shapes.${shape}`));
  if (specs.length === 0) throw new ConfigError(`${path}.shapes`, `expected at least one of ${SHAPES.join(', ')}`);
  return {
    name: readString(p, 'name', path, 'mix'),
    durationS: readNumber(p, 'durationS', path, 60, { above: 0 }),
    shapes: specs,
  };
}

function readShape(shape: Shape, p: Params, path: string): ShapeSpec {
  onlyKeys(p, path, ['arrival', 'tenants', 'prefix', 'uniqueTokens', 'outputTokens', 'maxOutputTokens', 'hasTools', 'toolResultsShare', 'reasoningEffort', 'session']);
  if (p.arrival === undefined) throw new ConfigError(`${path}.arrival`, 'required ({process: poisson|gamma, ratePerS, cv})');
  if (p.outputTokens === undefined) throw new ConfigError(`${path}.outputTokens`, 'required (a number or a distribution)');
  const prefix = asParams(p.prefix, `${path}.prefix`);
  onlyKeys(prefix, `${path}.prefix`, ['sharedTokens', 'variants']);
  return {
    shape,
    arrival: readArrival(asParams(p.arrival, `${path}.arrival`), `${path}.arrival`),
    tenants: readNumber(p, 'tenants', path, 1, { min: 1, integer: true }),
    prefix: {
      sharedTokens: readNumber(prefix, 'sharedTokens', `${path}.prefix`, 0, { min: 0, integer: true }),
      variants: readNumber(prefix, 'variants', `${path}.prefix`, 1, { min: 1, integer: true }),
    },
    uniqueTokens: readDist(p.uniqueTokens ?? 256, `${path}.uniqueTokens`, TOKENS),
    outputTokens: readDist(p.outputTokens, `${path}.outputTokens`, POSITIVE_TOKENS),
    maxOutputTokens: readNumber(p, 'maxOutputTokens', path, 4096, { min: 1, integer: true }),
    hasTools: readBool(p, 'hasTools', path, shape === 'tool_call'),
    toolResultsShare: readNumber(p, 'toolResultsShare', path, 0, { min: 0, max: 1 }),
    reasoningEffort: p.reasoningEffort === undefined ? undefined : readEnum(p, 'reasoningEffort', path, ['none', 'low', 'medium', 'high'] as const, 'none'),
    session: p.session === undefined ? undefined : readSession(asParams(p.session, `${path}.session`), `${path}.session`),
  };
}

function readArrival(p: Params, path: string): ArrivalSpec {
  onlyKeys(p, path, ['process', 'ratePerS', 'cv']);
  const process = readEnum(p, 'process', path, ['poisson', 'gamma'] as const, 'poisson');
  if (p.ratePerS === undefined) throw new ConfigError(`${path}.ratePerS`, 'required');
  if (process === 'poisson' && p.cv !== undefined) throw new ConfigError(`${path}.cv`, 'only for process: gamma (poisson has cv 1)');
  return {
    process,
    ratePerS: readNumber(p, 'ratePerS', path, 0, { min: 0 }),
    cv: process === 'gamma' ? readNumber(p, 'cv', path, 1, { above: 0 }) : 1,
  };
}

function readSession(p: Params, path: string): SessionSpec {
  onlyKeys(p, path, ['turns', 'thinkTimeS', 'toolTurnShare', 'toolThinkTimeS', 'turnTokens', 'maxContextTokens', 'assumedTpotS']);
  if (p.turns === undefined) throw new ConfigError(`${path}.turns`, 'required (a number or a distribution of turns per session)');
  return {
    turns: readDist(p.turns, `${path}.turns`, POSITIVE_TOKENS),
    thinkTimeS: readDist(p.thinkTimeS ?? 10, `${path}.thinkTimeS`, SECONDS),
    toolTurnShare: readNumber(p, 'toolTurnShare', path, 0, { min: 0, max: 1 }),
    toolThinkTimeS: readDist(p.toolThinkTimeS ?? 2, `${path}.toolThinkTimeS`, SECONDS),
    turnTokens: readDist(p.turnTokens ?? 500, `${path}.turnTokens`, TOKENS),
    maxContextTokens: readNumber(p, 'maxContextTokens', path, 200_000, { min: 1, integer: true }),
    assumedTpotS: readNumber(p, 'assumedTpotS', path, 0.04, { min: 0 }),
  };
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

/** Per-shape state: its prefixes and its own random streams (one shape's settings never move another's draws). */
class ShapeSampler {
  readonly content: Rng;
  /** Random block hashes come from their own stream, so the block size changes no length or arrival. */
  private readonly hashes: Rng;
  private readonly prefixes: bigint[][] = [];
  private sessions = 0;
  private requests = 0;

  constructor(readonly mixName: string, readonly spec: ShapeSpec, readonly o: Resolved) {
    this.content = new Rng(deriveSeed(o.seed, 'mix', mixName, spec.shape, 'content'));
    this.hashes = new Rng(deriveSeed(o.seed, 'mix', mixName, spec.shape, 'hashes'));
    for (let v = 0; v < spec.prefix.variants; v++) {
      const blocks = Math.floor(spec.prefix.sharedTokens / o.blockTokens);
      const nodes = new SharedPrefix(`mix:${mixName}:${spec.shape}:prefix:${v}`).first(blocks);
      this.prefixes.push(simBlockHashes(nodes, spec.prefix.sharedTokens, o.blockTokens, o.blockTokens));
    }
  }

  /** A tenant and its prefix variant (tenant i uses variant i mod variants: one app, one system prompt). */
  pickTenant(): { tenant: string; prefix: bigint[] } {
    const index = this.content.int(this.spec.tenants);
    return { tenant: `${this.spec.shape}-${index}`, prefix: this.prefixes[index % this.prefixes.length] as bigint[] };
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
      requestId: `mix-${spec.shape}-${this.requests++}`,
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
    return `mix-${this.spec.shape}-s${this.sessions++}`;
  }
}

function sampleShape(mixName: string, spec: ShapeSpec, o: Resolved): WorkloadRequest[] {
  const sampler = new ShapeSampler(mixName, spec, o);
  const starts = arrivals(spec.arrival, new Rng(deriveSeed(o.seed, 'mix', mixName, spec.shape, 'arrivals')), o);
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
