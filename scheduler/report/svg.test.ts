// SVG structure: a path per series with data, axis labels, ticks, markers, no NaN, same bytes for the same data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdfPoints, lineChartSvg, linearTicks, logBounds, logTicks, type ChartSpec } from './svg.js';

function count(svg: string, pattern: RegExp): number {
  return (svg.match(pattern) ?? []).length;
}

/** Every number inside a d="" or x/y/cx/cy attribute. */
function coordinates(svg: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/ (?:d|x|y|x1|x2|y1|y2|cx|cy)="([^"]*)"/g)) out.push(...(m[1] as string).split(/[ MLz]+/).filter(Boolean));
  return out;
}

const SPEC: ChartSpec = {
  title: 'TTFT <CDF> & more',
  xLabel: 'TTFT (s)',
  yLabel: 'fraction',
  xLog: true,
  yRange: [0, 1],
  series: [
    { label: 'tool_call', points: [[0.01, 0.1], [0.1, 0.5], [1, 1]] },
    { label: 'empty', points: [] },
    { label: 'chat', points: [[0.05, 0.2], [NaN, 0.3], [2, 1]] },
  ],
  markers: [{ x: 0.5, y: 0.9, label: 'SLO' }, { x: NaN, y: 1, label: 'dropped' }],
};

test('line chart: one path per series with data, legend, escaped text, axis labels, no NaN', () => {
  const svg = lineChartSvg(SPEC);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(count(svg, /<path class="series"/g), 2);
  assert.equal(count(svg, /<text class="legend"/g), 2);
  assert.match(svg, /data-label="tool_call"/);
  assert.doesNotMatch(svg, /data-label="empty"/);
  assert.match(svg, /<text class="title"[^>]*>TTFT &lt;CDF&gt; &amp; more<\/text>/);
  assert.match(svg, /<text class="xlabel"[^>]*>TTFT \(s\)<\/text>/);
  assert.match(svg, /<text class="ylabel"[^>]*>fraction<\/text>/);
  assert.equal(count(svg, /<circle class="marker"/g), 1);
  assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
  for (const c of coordinates(svg)) assert.ok(Number.isFinite(Number(c)), `coordinate ${c}`);
  // the chat path lost its NaN point: two points, so one M and one L
  const chat = /data-label="chat" d="([^"]*)"/.exec(svg)?.[1] ?? '';
  assert.equal(count(chat, /[ML]/g), 2);
});

test('log x axis: bounds at the nearest 1-1.5-2-3-5-7 values outside the data, ticks evenly spaced per decade', () => {
  const svg = lineChartSvg(SPEC); // x from 0.01 to 2
  const ticks = [...svg.matchAll(/<text class="tick" x="([^"]*)" y="[^"]*" text-anchor="middle">([^<]*)</g)];
  assert.deepEqual(ticks.map((m) => m[2]), ['0.01', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2']);
  const px = (label: string) => Number(ticks.find((m) => m[2] === label)?.[1]);
  assert.ok(Math.abs((px('0.1') - px('0.01')) - (px('1') - px('0.1'))) <= 0.11);
  assert.equal(px('0.01'), 70); // the left edge
  const cases: Array<[number, number, [number, number], number[]]> = [
    [0.0171, 0.0201, [0.015, 0.03], [0.015, 0.02, 0.03]],
    [0.01, 2, [0.01, 2], [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]],
    [0.003, 450, [0.003, 500], [0.01, 0.1, 1, 10, 100]],
    [5, 5, [5, 7], [5, 7]],
    [1, 1, [1, 1.5], [1, 1.5]],
    [1e-5, 1e3, [1e-5, 1e3], [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000]],
  ];
  for (const [min, max, bounds, expected] of cases) {
    assert.deepEqual(logBounds(min, max), bounds, `${min}..${max}`);
    assert.deepEqual(logTicks(...bounds), expected, `${min}..${max}`);
  }
});

test('the same data gives the same bytes; different data gives different paths', () => {
  assert.equal(lineChartSvg(SPEC), lineChartSvg(structuredClone(SPEC)));
  const moved = { ...SPEC, series: [{ label: 'tool_call', points: [[0.02, 0.1], [1, 1]] as Array<[number, number]> }] };
  assert.notEqual(lineChartSvg(moved), lineChartSvg(SPEC));
});

test('no data: a "no data" note and no paths, still a valid document', () => {
  const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ label: 'a', points: [] }] });
  assert.equal(count(svg, /<path/g), 0);
  assert.match(svg, /no data/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const logEmpty = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', xLog: true, series: [] });
  assert.doesNotMatch(logEmpty, /NaN|Infinity/);
});

test('linear axes: zero values on a log axis clamp to the left edge; linear ticks are 1-2-5 steps', () => {
  const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', xLog: true, series: [{ label: 'z', points: [[0, 0], [0.5, 1]] }] });
  const d = /d="M([0-9.]+) /.exec(svg)?.[1];
  assert.equal(d, '70.0');
  const cases: Array<[number, number, number[]]> = [
    [0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0, 10, [0, 2, 4, 6, 8, 10]],
    [0, 7, [0, 2, 4, 6]],
    [0, 250, [0, 50, 100, 150, 200, 250]],
    [3, 3, [3]],
  ];
  for (const [lo, hi, expected] of cases) assert.deepEqual(linearTicks(lo, hi), expected, `${lo}..${hi}`);
});

test('cdfPoints: sorted values with their cumulative fraction, capped in count, last point at 1', () => {
  assert.deepEqual(cdfPoints([]), []);
  assert.deepEqual(cdfPoints([5]), [[5, 1]]);
  assert.deepEqual(cdfPoints([3, 1, 2, NaN]), [[1, 1 / 3], [2, 2 / 3], [3, 1]]);
  const many = cdfPoints(Array.from({ length: 10_000 }, (_, i) => 10_000 - i), 100);
  assert.equal(many.length, 100);
  assert.deepEqual(many[0], [1, 1 / 10_000]);
  assert.deepEqual(many[99], [10_000, 1]);
  for (let i = 1; i < many.length; i++) assert.ok((many[i] as [number, number])[0] > (many[i - 1] as [number, number])[0]);
});
