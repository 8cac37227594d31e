// `cost-aware` (ours): at a session's turn end, the expected cost of each choice in seconds of instance time,
// the cheapest wins (ties: keep, then demote, then drop).
//
//   gap     = expectedGapS (the predictor's median think time) ?? unknownGapS
//   σ       = ln(p90GapS / gap) / z90                      (log-normal gap; unknownSpread stands in for p90/median)
//   share   = kvBlocks / deviceKvBlocksTotal               (the session's slice of HBM)
//   price(p, free) = max(0, (p − free) / (1 − free))       (idle memory is free below `free`, a full slice at p = 1)
//   keep    = share · gap · price(devicePressure, deviceFreeBelow)
//   lead    = promoteS + promoteMarginS                    (promotion starts `lead` before the expected turn)
//   early   = P(next turn before gap − lead)  [1 when gap ≤ lead]
//   demote  = transferWeight · promoteS · (1 + pReturn)    (C2C link time out, and back if it returns)
//           + pReturn · early · promoteS                   (the turn arrives before its KV: it waits for the copy)
//           + hostPriceWeight · share · gap · price(hostPressure, hostFreeBelow)
//           (∞ when hostPressure ≥ hostFullAt)
//   drop    = pReturn · recomputeS                         (the next turn prefills its whole context again)
//
// Keep is free while HBM is not scarce, so the policy only demotes or drops when pressure makes idle blocks cost
// something; dropping wins only for a cheap context or a session unlikely to return.
import { asParams, onlyKeys, readNumber } from '../../config/params.js';
import type { RetentionAction, RetentionInput, RetentionPolicy } from '../../types.js';
import { gapBefore, gapSigma } from '../gap_model.js';
import type { SessionRetentionInput } from '../types.js';

export interface CostAwareParams {
  unknownGapS: number;
  unknownSpread: number;
  returnProbability: number;
  deviceFreeBelow: number;
  hostFreeBelow: number;
  hostPriceWeight: number;
  hostFullAt: number;
  transferWeight: number;
  promoteMarginS: number;
  /** Used when the input carries no deviceKvBlocksTotal; 0 = the input must carry it. */
  deviceKvBlocksTotal: number;
}

export const COST_AWARE_DEFAULTS: Readonly<CostAwareParams> = {
  unknownGapS: 30,
  unknownSpread: 4,
  returnProbability: 0.9,
  deviceFreeBelow: 0.5,
  hostFreeBelow: 0.5,
  hostPriceWeight: 0.1,
  hostFullAt: 0.95,
  transferWeight: 0.1,
  promoteMarginS: 0.5,
  deviceKvBlocksTotal: 0,
};

export interface RetentionCosts {
  keepS: number;
  demoteS: number;
  dropS: number;
  gapS: number;
}

export function readCostAwareParams(value: unknown, path: string): CostAwareParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(COST_AWARE_DEFAULTS));
  const d = COST_AWARE_DEFAULTS;
  const frac = { min: 0, max: 1 };
  const below1 = { min: 0, max: 0.99 };
  return {
    unknownGapS: readNumber(p, 'unknownGapS', path, d.unknownGapS, { above: 0 }),
    unknownSpread: readNumber(p, 'unknownSpread', path, d.unknownSpread, { min: 1 }),
    returnProbability: readNumber(p, 'returnProbability', path, d.returnProbability, frac),
    deviceFreeBelow: readNumber(p, 'deviceFreeBelow', path, d.deviceFreeBelow, below1),
    hostFreeBelow: readNumber(p, 'hostFreeBelow', path, d.hostFreeBelow, below1),
    hostPriceWeight: readNumber(p, 'hostPriceWeight', path, d.hostPriceWeight, { min: 0 }),
    hostFullAt: readNumber(p, 'hostFullAt', path, d.hostFullAt, { above: 0, max: 1 }),
    transferWeight: readNumber(p, 'transferWeight', path, d.transferWeight, { min: 0 }),
    promoteMarginS: readNumber(p, 'promoteMarginS', path, d.promoteMarginS, { min: 0 }),
    deviceKvBlocksTotal: readNumber(p, 'deviceKvBlocksTotal', path, d.deviceKvBlocksTotal, { min: 0, integer: true }),
  };
}

function price(pressure: number, freeBelow: number): number {
  return Math.min(1, Math.max(0, (pressure - freeBelow) / (1 - freeBelow)));
}

/** The three expected costs for one input (exported for tests and for explaining decisions in logs). */
export function retentionCosts(p: CostAwareParams, input: RetentionInput): RetentionCosts {
  const extra = input as SessionRetentionInput;
  const totalBlocks = extra.deviceKvBlocksTotal ?? p.deviceKvBlocksTotal;
  if (!(totalBlocks > 0)) throw new TypeError('cost-aware retention: input.deviceKvBlocksTotal (or the deviceKvBlocksTotal parameter) must be > 0');
  const pReturn = extra.returnProbability ?? p.returnProbability;
  const gapS = input.expectedGapS !== undefined && input.expectedGapS > 0 ? input.expectedGapS : p.unknownGapS;
  const p90S = input.p90GapS !== undefined && input.expectedGapS !== undefined ? input.p90GapS : gapS * p.unknownSpread;
  const share = input.kvBlocks / totalBlocks;
  const leadS = input.promoteS + p.promoteMarginS;
  const early = gapS <= leadS ? 1 : gapBefore(gapS - leadS, gapS, gapSigma(gapS, p90S));
  const keepS = share * gapS * price(input.devicePressure, p.deviceFreeBelow);
  const demoteS =
    input.hostPressure >= p.hostFullAt
      ? Infinity
      : p.transferWeight * input.promoteS * (1 + pReturn) + pReturn * early * input.promoteS + p.hostPriceWeight * share * gapS * price(input.hostPressure, p.hostFreeBelow);
  const dropS = pReturn * input.recomputeS;
  return { keepS, demoteS, dropS, gapS };
}

function cheapest(c: RetentionCosts): RetentionAction {
  if (c.keepS <= c.demoteS && c.keepS <= c.dropS) return 'keep';
  return c.demoteS <= c.dropS ? 'demote' : 'drop';
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞');

export function makeCostAware(params: unknown, path: string): RetentionPolicy {
  const p = readCostAwareParams(params, path);
  return {
    name: 'cost-aware',
    decide(input: RetentionInput) {
      const c = retentionCosts(p, input);
      const action = cheapest(c);
      return { action, reason: `${action}: keep ${fmt(c.keepS)} s, demote ${fmt(c.demoteS)} s, drop ${fmt(c.dropS)} s over a ${fmt(c.gapS)} s gap` };
    },
    promoteLeadS: (input: RetentionInput) => input.promoteS + p.promoteMarginS,
  };
}
