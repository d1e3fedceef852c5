import { describe, expect, it } from 'vitest';
import { chartGroups, escapeXml, formatMs, latencyChart } from '../src/chart.js';
import { consoleReport, markdownReport, markdownTable } from '../src/report.js';
import type { BenchRun, GateResult, Measurement } from '../src/results.js';

function m(operation: string, subject: string, size: number, p50: number): Measurement {
  return {
    suite: 'backends',
    operation,
    subject,
    size,
    latencyMs: { n: 3, min: p50, max: p50, mean: p50, p50, p99: p50 * 2 },
    itemsPerRun: 1,
    throughputPerSec: 1000 / p50,
  };
}

const measurements = [
  m('get', 'leveldb', 28, 0.05),
  m('get', 'json', 28, 0.02),
  m('put', 'leveldb', 28, 0.2),
  m('put', 'json', 28, 4),
  m('get', 'leveldb', 1000, 0.06),
  m('get', 'json', 1000, 0.03),
];

function run(): BenchRun {
  return {
    version: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z',
    options: { quick: true, sizes: [28, 1000], suites: ['backends'], iterations: 8, warmup: 1 },
    environment: { node: 'v20.0.0', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test' },
    measurements,
    memory: [
      {
        suite: 'backends',
        subject: 'json',
        size: 28,
        rssBytes: 50 * 1024 * 1024,
        heapUsedBytes: 5 * 1024 * 1024,
        rssDeltaBytes: 1024 * 1024,
      },
    ],
    gates: [
      {
        name: 'write (put)',
        suite: 'backends',
        size: 28,
        value: 20,
        limit: 3,
        comparison: '<=',
        status: 'FAIL',
        source: 'runbook 3.4: write <= 3x LevelDB',
        detail: 'p50',
      },
      {
        name: 'read (get)',
        suite: 'backends',
        size: 28,
        value: 0.4,
        limit: 2,
        comparison: '<=',
        status: 'PASS',
        source: 'runbook 3.4: read <= 2x LevelDB',
        detail: 'p50',
      },
      {
        name: 'info (iterate)',
        suite: 'backends',
        size: 1000,
        value: 1.2,
        limit: null,
        comparison: '<=',
        status: 'INFO',
        source: 'none',
        detail: 'p50',
      },
    ],
    skipped: [{ suite: 'startup', reason: 'skipped: @deploystate/cli not available' }],
    baseline: {
      file: 'old.json',
      threshold: 0.2,
      entries: [{ id: 'backends/put/json/28', metric: 'p50', baseline: 1, current: 4, change: 3, regressed: true }],
      regressions: 1,
      missing: [],
    },
  };
}

describe('latencyChart (hand-written SVG)', () => {
  const svg = latencyChart(measurements, 'p50 <latency> & co');

  it('is one svg document with a bar per measurement and a legend swatch per subject', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = svg.match(/<rect class="bar" /g) ?? [];
    expect(bars).toHaveLength(measurements.length);
    expect(svg.match(/<rect x="\d+" y="30" width="12" height="12"/g)).toHaveLength(2);
    expect(svg.match(/<rect /g)).toHaveLength(1 + 2 + measurements.length);
  });

  it('labels each operation and size once and prints each p50', () => {
    expect(svg.match(/>get @ 28</g)).toHaveLength(1);
    expect(svg.match(/>put @ 28</g)).toHaveLength(1);
    expect(svg).toContain('>4.00 ms<');
    expect(svg).toContain('>50.0 us<');
  });

  it('a slower operation gets a longer bar (log scale, same chart)', () => {
    const widths = [...svg.matchAll(/height="12" fill="[^"]+"><title>([^<]+)<\/title>/g)].map((x) => x[1]);
    expect(widths).toHaveLength(measurements.length);
    const widthOf = (label: string): number => {
      const match = new RegExp(`width="([\\d.]+)" height="12" fill="[^"]+"><title>${label}`).exec(svg);
      return Number(match?.[1]);
    };
    expect(widthOf('json, put @ 28')).toBeGreaterThan(widthOf('leveldb, put @ 28'));
    expect(widthOf('leveldb, get @ 28')).toBeGreaterThan(widthOf('json, get @ 28'));
  });

  it('escapes text', () => {
    expect(svg).toContain('p50 &lt;latency&gt; &amp; co');
    expect(escapeXml('a"<&>')).toBe('a&quot;&lt;&amp;&gt;');
  });

  it('groups by operation and size in measured order', () => {
    expect(chartGroups(measurements).map((g) => [g.label, g.bars.map((b) => b.subject)])).toEqual([
      ['get @ 28', ['leveldb', 'json']],
      ['put @ 28', ['leveldb', 'json']],
      ['get @ 1000', ['leveldb', 'json']],
    ]);
  });

  it('formats milliseconds for people', () => {
    expect(formatMs(0.035)).toBe('35.0 us');
    expect(formatMs(1.234)).toBe('1.23 ms');
    expect(formatMs(2100)).toBe('2.10 s');
  });
});

describe('markdownReport', () => {
  const md = markdownReport(run(), { backends: 'chart-backends.svg' });

  it('has the gates table with status, value and limit, the chart link and the suite table', () => {
    expect(md).toMatch(/^# deploystate bench/);
    expect(md).toContain('**Gates: 1 PASS, 1 FAIL, 1 INFO, 0 N/A.**');
    expect(md).toContain('| FAIL | backends | 28 | write (put) | 20.00x | <= 3x | runbook 3.4: write <= 3x LevelDB |');
    expect(md).toContain('| INFO | backends | 1000 | info (iterate) | 1.20x | - |');
    expect(md).toContain('![p50 latency, backends](chart-backends.svg)');
    expect(md).toContain('| get | 28 | leveldb | 50.0 us | 100.0 us | 3 |');
  });

  it('lists memory, skipped suites and the baseline comparison', () => {
    expect(md).toContain('## Memory');
    expect(md).toContain('| 28 | json | 50.0 MB | 5.0 MB | 1.0 MB |');
    expect(md).toContain('- startup: skipped: @deploystate/cli not available');
    expect(md).toContain('| backends/put/json/28 | p50 | 1.00 ms | 4.00 ms | +300% | REGRESSED |');
  });

  it('every table row has as many cells as its header', () => {
    const tables = md.split('\n\n').filter((block) => block.startsWith('|'));
    expect(tables.length).toBeGreaterThanOrEqual(4);
    for (const table of tables) {
      const rows = table
        .split('\n')
        .filter((r) => r !== '')
        .map((r) => r.replace(/\\\|/g, '').split('|').length);
      expect(new Set(rows).size, table).toBe(1);
    }
  });

  it('markdownTable escapes pipes in cells', () => {
    expect(markdownTable(['a'], [['x|y']])).toBe('| a |\n| --- |\n| x\\|y |');
  });
});

describe('consoleReport', () => {
  it('prints every gate with its status beside the limit and a count line', () => {
    const text = consoleReport(run());
    expect(text).toMatch(/FAIL\s+backends\s+28\s+write \(put\)\s+20\.00x\s+<= 3x/);
    expect(text).toMatch(/PASS\s+backends\s+28\s+read \(get\)\s+0\.40x\s+<= 2x/);
    expect(text).toContain('gates: 1 PASS, 1 FAIL, 1 INFO, 0 N/A');
    expect(text).toContain('startup: skipped: @deploystate/cli not available');
    expect(text).toContain('1 regression(s) over 20%');
    expect(text).toContain('quick run: few samples');
    expect(consoleReport({ ...run(), options: { ...run().options, quick: false } })).not.toContain('quick run');
  });

  it('fits a 70-column terminal: text wrapped, a table too wide printed one block per row, every gate name whole', () => {
    const long = 'dual-write put vs leveldb sync through the factory, paced (put-paced)';
    const base = run();
    const wide: BenchRun = { ...base, gates: [...base.gates, { ...(base.gates[0] as GateResult), name: long }] };
    const text = consoleReport(wide, 70);
    expect(text.split('\n').filter((line) => line.length > 70)).toEqual([]);
    const words = text.replace(/\s+/g, ' ');
    expect(words).toContain(long);
    expect(words).toContain('gate write (put) value 20.00x limit <= 3x');
    for (const m of measurements) expect(words).toMatch(new RegExp(`${m.operation} ${m.size} ${m.subject} `));
    // As wide as before on a 100-column terminal: the aligned tables, the long name cut to fit.
    expect(consoleReport(wide)).toMatch(/FAIL\s+backends\s+28\s+write \(put\)\s+20\.00x\s+<= 3x/);
    expect(consoleReport(wide)).not.toContain(long);
  });
});
