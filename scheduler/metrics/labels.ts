// Label values and numbers for the metric recorders: every value is checked here, so a wrong call fails with a
// message naming the field (a programming error the lead's tests catch), and label cardinality stays bounded.
//
// Enumerated labels (shape, outcome, tier, link) accept only their listed values. Identifier labels (pool,
// model_instance, worker, domain, gpu, plugin, code) accept short plain strings; past `maxValues` distinct values of
// one label, further values fold into "other" and nvlsched_metrics_label_overflow_total{label} counts them, so a
// mistake such as passing request ids cannot grow the series without bound, and the fold is visible on the dashboard.
import type { Counter } from 'prom-client';
import { SHAPES } from '../core/types.js';
import { LINK_KINDS, TIERS } from '../kv/types.js';

/** Shape label values: the four shapes, and "unknown" for requests rejected before classification. */
export const SHAPE_LABELS = [...SHAPES, 'unknown'] as const;
export type ShapeLabel = (typeof SHAPE_LABELS)[number];

/** How a request ended, as the metrics count it. */
export const OUTCOMES = ['completed', 'rejected', 'cancelled', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Where a prefix-cache hit was found, relative to the instance that runs the request (report/metrics.ts Tier). */
export const HIT_TIERS = ['device', 'host', 'neighbour'] as const;
export type HitTier = (typeof HIT_TIERS)[number];

/** KV memory tiers (scheduler/kv/types.ts): HBM, Grace memory, disk. */
export const KV_TIERS = TIERS;
export type KvTier = (typeof KV_TIERS)[number];

/** Links a KV move crosses (scheduler/kv/types.ts LINK_KINDS): nvlink, c2c, pcie, scaleout, disk. */
export const LINKS = LINK_KINDS;
export type Link = (typeof LINKS)[number];

/** The value used once a label has reached its distinct-value limit. */
export const OVERFLOW_VALUE = 'other';
export const DEFAULT_MAX_LABEL_VALUES = 1024;

/** A recorder was called with a value it cannot record; `field` names it (`requestEnded.ttftS`). */
export class MetricsInputError extends Error {
  readonly code = 'E_METRICS_INPUT';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MetricsInputError';
  }
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new MetricsInputError(field, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

/** A finite number ≥ 0 (durations, counts, bytes, dollars). */
export function nonNegative(field: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new MetricsInputError(field, `must be a finite number >= 0, got ${String(value)}`);
}

/** An integer ≥ 0 (tokens, blocks, sequences). */
export function count(field: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new MetricsInputError(field, `must be an integer >= 0, got ${String(value)}`);
}

/** Rejection and error codes: E_ and capitals, as the scheduler and the KV manager name them. */
export function errorCode(field: string, value: unknown): string {
  if (typeof value === 'string' && /^E_[A-Z0-9_]{1,60}$/.test(value)) return value;
  throw new MetricsInputError(field, `must be a code like E_QUEUE_FULL, got ${JSON.stringify(value)}`);
}

const ID_PATTERN = /^[A-Za-z0-9_.:/@+-]{1,128}$/;

/** Counts distinct values per identifier label and folds the excess into "other". One per registry. */
export class LabelGuard {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly maxValues: number, private readonly overflow: Counter<'label'>) {
    if (!Number.isSafeInteger(maxValues) || maxValues < 1) {
      throw new MetricsInputError('maxLabelValues', `must be an integer >= 1, got ${String(maxValues)}`);
    }
  }

  /** An identifier label value: a plain string (letters, digits, _ . : / @ + -) or an integer ≥ 0. */
  id(field: string, label: string, value: unknown): string {
    let text: string;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) text = String(value);
    else if (typeof value === 'string' && ID_PATTERN.test(value)) text = value;
    else {
      throw new MetricsInputError(field, `must be 1-128 characters of letters, digits and _.:/@+- (or an integer >= 0), got ${JSON.stringify(value)}`);
    }
    let values = this.seen.get(label);
    if (!values) this.seen.set(label, (values = new Set()));
    if (values.has(text)) return text;
    if (values.size >= this.maxValues) {
      this.overflow.inc({ label });
      return OVERFLOW_VALUE;
    }
    values.add(text);
    return text;
  }
}
