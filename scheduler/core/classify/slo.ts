// Default per-shape SLOs (architecture §3) and the reader for an operator's overrides, field by field.
import { asParams, onlyKeys, readNumber } from '../config/params.js';
import { SHAPES, type Shape, type Slo } from '../types.js';

export const DEFAULT_SLOS: Readonly<Record<Shape, Readonly<Slo>>> = {
  tool_call: { ttftS: 0.5, tpotS: 0.03 },
  reasoning: { ttftS: 2, tpotS: 0.05 },
  terminal: { ttftS: 1, tpotS: 0.04 },
  chat: { ttftS: 1, tpotS: 0.05 },
};

/** `{tool_call: {ttftS: 0.3}}` overrides one field of one shape; the rest keep DEFAULT_SLOS. */
export function readSloTable(value: unknown, path: string): Record<Shape, Slo> {
  const table = asParams(value, path);
  onlyKeys(table, path, SHAPES);
  const out = {} as Record<Shape, Slo>;
  for (const shape of SHAPES) {
    const p = asParams(table[shape], `${path}.${shape}`);
    onlyKeys(p, `${path}.${shape}`, ['ttftS', 'tpotS']);
    const d = DEFAULT_SLOS[shape];
    out[shape] = {
      ttftS: readNumber(p, 'ttftS', `${path}.${shape}`, d.ttftS, { above: 0 }),
      tpotS: readNumber(p, 'tpotS', `${path}.${shape}`, d.tpotS, { above: 0 }),
    };
  }
  return out;
}
