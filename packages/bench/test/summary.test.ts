// The report's summary and ratio charts: a person reads each criterion first, with its worst case in
// absolute times beside the ratio, in a terminal no wider than 100 columns.
import { describe, expect, it } from 'vitest';
import { colourOf, ratioChart } from '../src/chart.js';
import { LIMITS, ratioGate } from '../src/gates.js';
import { consoleReport, CONSOLE_WIDTH } from '../src/report.js';
import type { BenchRun, GateResult, Measurement } from '../src/results.js';
import { criteria, progressLines, summaryLines } from '../src/summary.js';

function m(operation: string, subject: string, size: number, p50: number): Measurement {
  return {
    suite: 'factory',
    operation,
    subject,
    size,
    latencyMs: { n: 100, min: p50, max: p50, mean: p50, p50, p99: p50 * 2 },
    itemsPerRun: 1,
    throughputPerSec: 1000 / p50,
  };
}

const measurements = [
  m('get json-only', 'factory', 28, 0.03),
  m('get json-only', 'leveldb', 28, 0.05),
  m('get json-only', 'factory', 500, 0.12),
  m('get json-only', 'leveldb', 500, 0.05),
  m('get json-only', 'factory', 1000, 0.5),
  m('get json-only', 'leveldb', 1000, 0.05),
];
const at = (size: number, gated = true): GateResult =>
  ratioGate(
    { ...LIMITS.read, name: 'read (get, json-only)' },
    measurements,
    { suite: 'factory', operation: 'get json-only', candidate: 'factory', reference: 'leveldb', size },
    gated,
  );

describe('the summary', () => {
  it('groups gates by criterion: FAIL when any gated size fails, its worst gated case with both medians', () => {
    const [read] = criteria([at(28), at(500), at(1000, false)]);
    expect(read?.title).toBe(LIMITS.read.title);
    expect(read?.source).toBe('runbook 3.4');
    expect(read?.status).toBe('FAIL');
    // 1000 is INFO (above the gated sizes): the worst gated case is 500, not 1000.
    expect(read?.worst.size).toBe(500);
    expect(read?.worst.times).toEqual({ candidate: 0.12, reference: 0.05 });
    const text = summaryLines([at(28), at(500)]).join('\n');
    expect(text).toContain('FAIL  Reads from JSON');
    expect(text).toContain('factory 120.0 us vs leveldb 50.0 us');
  });

  it('PASS only when every gated size passes; gates without a title stay out of it', () => {
    expect(criteria([at(28)])[0]?.status).toBe('PASS');
    const info = { ...at(28), title: undefined };
    expect(criteria([info])).toEqual([]);
  });

  it('puts the runbook criteria before our own targets', () => {
    const own = ratioGate(
      LIMITS.factoryGet,
      measurements,
      { suite: 'factory', operation: 'get json-only', candidate: 'factory', reference: 'leveldb', size: 28 },
    );
    const lines = summaryLines([own, at(28)]);
    expect(lines.findIndex((l) => l.includes('runbook 3.4'))).toBeLessThan(lines.findIndex((l) => l.includes('our target')));
  });

  it('keeps every console line within 100 columns, long gate names and sources included', () => {
    const long = { ...at(500), name: `read (get, ${'a-very-long-phase-name '.repeat(6)})` };
    const run: BenchRun = {
      version: 1,
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:01.000Z',
      options: { quick: true, sizes: [28, 500], suites: ['factory'], iterations: 8, warmup: 1 },
      environment: { node: 'v20.0.0', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test' },
      measurements,
      memory: [],
      gates: [at(28), long, { ...at(28), ...LIMITS.rewriteFloor, title: LIMITS.rewriteFloor.title }],
      skipped: [],
    };
    const text = consoleReport(run);
    expect(text.startsWith('What the runbook asks')).toBe(true);
    const wide = text.split('\n').filter((line) => line.length > CONSOLE_WIDTH);
    expect(wide).toEqual([]);
  });

  it('wraps a progress line to the width, the lines after the first indented, a stack line by line', () => {
    const walk = `walk: 28 records @10 ms, rollback: writer's slowest: ${Array.from({ length: 5 }, (_, i) => `${80 - i} ms during promote (waited lock(fence.lock):${i})`).join('; ')}`;
    const lines = progressLines(walk, 70);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines[0]?.startsWith('bench: walk: 28 records')).toBe(true);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(70);
    for (const line of lines.slice(1)) expect(line.startsWith('    ')).toBe(true);
    expect(lines.map((l) => l.trim()).join(' ')).toBe(`bench: ${walk}`);
    expect(progressLines('factory failed: Error: x\n    at f (a.js:1:2)', 100)).toEqual(['bench: factory failed: Error: x', '    at f (a.js:1:2)']);
    expect(progressLines('short')).toEqual(['bench: short']);
  });

  // A temp folder's path wider than the terminal stayed one line past its width, which the terminal
  // then wrapped at any character; joining wrapped rows with a space would have split it.
  it('breaks a path wider than the line after a slash, and never puts a space inside it', () => {
    const path = `/tmp/deploystate-bench-migration-x1/${'folder/'.repeat(16)}leveldb`;
    const lines = progressLines(`migration: seeding ${path}`, 70);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(70);
    expect(lines.slice(1).every((line) => line.startsWith('    '))).toBe(true);
    const text = lines.map((line, i) => (i === 0 ? line : line.slice(4))).join('');
    expect(text).toBe(`bench: migration: seeding${path}`);
  });
});

describe('the ratio chart', () => {
  const rows = [
    { label: 'a @ 28', value: 1.2, limit: 2, comparison: '<=' as const, subject: 'json' },
    { label: 'b @ 28', value: 60, limit: 2, comparison: '<=' as const, subject: 'dual-write' },
    { label: 'c @ 28', value: null, limit: 2, comparison: '<=' as const, subject: 'factory' },
  ];
  const svg = ratioChart(rows, 'reads');

  it('draws the limit as a line and marks a bar cut at the axis end', () => {
    expect(svg).toContain('<line');
    expect(svg).toContain('limit &lt;= 2x');
    expect(svg).toContain('» 60.00x FAIL');
    expect(svg).toContain('1.20x PASS');
    expect(svg).toContain('not measured');
  });

  it('draws on a linear scale: a bar twice the value is twice as long', () => {
    const two = ratioChart(
      [
        { label: 'x', value: 1, limit: 2, comparison: '<=', subject: 'json' },
        { label: 'y', value: 2, limit: 2, comparison: '<=', subject: 'json' },
      ],
      'linear',
    );
    const widths = [...two.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(widths[1]).toBeCloseTo((widths[0] as number) * 2, 0);
  });

  it('gives each backend one colour in every chart', () => {
    expect(svg).toContain(`fill="${colourOf('json')}"`);
    expect(colourOf('leveldb')).not.toBe(colourOf('json'));
    expect(colourOf('some new subject')).toBe(colourOf('some new subject'));
  });
});
