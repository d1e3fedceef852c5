import { describe, expect, it } from 'vitest';
import { backendGates, compareWithBaseline, evaluateGate, isGatedSize, LIMITS, p50Ratio, runFails } from '../src/gates.js';
import type { BenchRun, Measurement, MemoryMeasurement } from '../src/results.js';

function m(operation: string, subject: string, size: number, p50: number, suite: Measurement['suite'] = 'backends'): Measurement {
  return {
    suite,
    operation,
    subject,
    size,
    latencyMs: { n: 5, min: p50, max: p50, mean: p50, p50, p99: p50 },
    itemsPerRun: 1,
    throughputPerSec: 1000 / p50,
  };
}

function mem(subject: string, size: number, rssBytes: number): MemoryMeasurement {
  return { suite: 'backends', subject, size, rssBytes, heapUsedBytes: 1, rssDeltaBytes: 1 };
}

describe('LIMITS', () => {
  it('name each criterion by where it comes from, the runbook or our target, never an internal reference', () => {
    for (const [id, spec] of Object.entries(LIMITS)) {
      expect(spec.source, id).toMatch(/^(runbook \d|our target)/);
      expect(`${spec.title} ${spec.source}`, id).not.toMatch(/\b(issue|ticket|aim) #?\d/i);
    }
  });
});

describe('evaluateGate', () => {
  it('PASS at and under a <= limit, FAIL above it', () => {
    expect(evaluateGate(2, LIMITS.read)).toBe('PASS');
    expect(evaluateGate(1.99, LIMITS.read)).toBe('PASS');
    expect(evaluateGate(2.01, LIMITS.read)).toBe('FAIL');
  });

  it('PASS at and above a >= limit, FAIL under it (codec speed)', () => {
    expect(evaluateGate(0.5, LIMITS.codec)).toBe('PASS');
    expect(evaluateGate(0.9, LIMITS.codec)).toBe('PASS');
    expect(evaluateGate(0.49, LIMITS.codec)).toBe('FAIL');
  });

  it('INFO when the size is not gated or no limit applies, N/A without a value', () => {
    expect(evaluateGate(100, LIMITS.read, false)).toBe('INFO');
    expect(evaluateGate(100, { limit: null, comparison: '<=' })).toBe('INFO');
    expect(evaluateGate(null, LIMITS.read)).toBe('N/A');
    expect(evaluateGate(Number.NaN, LIMITS.read)).toBe('N/A');
  });

  it('the limits are the runbook numbers', () => {
    expect([LIMITS.read.limit, LIMITS.write.limit, LIMITS.query.limit, LIMITS.memory.limit, LIMITS.dualWrite.limit]).toEqual([
      2, 3, 5, 1.5, 1.5,
    ]);
  });
});

describe('isGatedSize: production size and up to 100 records per network (5 networks)', () => {
  it('gates 28 and 500, not 501 or 1000', () => {
    expect(isGatedSize(28)).toBe(true);
    expect(isGatedSize(500)).toBe(true);
    expect(isGatedSize(501)).toBe(false);
    expect(isGatedSize(1000)).toBe(false);
    expect(isGatedSize(100, 1)).toBe(true);
    expect(isGatedSize(101, 1)).toBe(false);
  });
});

describe('backendGates', () => {
  const measurements = [
    m('get', 'leveldb', 28, 0.1),
    m('get', 'json', 28, 0.15),
    m('put', 'leveldb', 28, 0.1),
    m('put', 'json', 28, 0.4),
    m('put-durable', 'leveldb', 28, 1),
    m('put-durable', 'json', 28, 2),
    m('query', 'leveldb', 28, 1),
    m('query', 'json', 28, 5),
    m('iterate', 'leveldb', 28, 1),
    m('iterate', 'json', 28, 9),
    m('get', 'leveldb', 1000, 0.1),
    m('get', 'json', 1000, 1),
  ];
  const gates = backendGates(measurements, [mem('leveldb', 28, 100), mem('json', 28, 160)]);
  const at = (name: string, size: number) => gates.find((g) => g.name === name && g.size === size);

  it('computes json / leveldb from medians and judges each against its limit', () => {
    expect(at('read (get)', 28)).toMatchObject({ status: 'PASS', limit: 2 });
    expect(at('read (get)', 28)?.value).toBeCloseTo(1.5, 10);
    expect(at('write (put)', 28)).toMatchObject({ status: 'FAIL', value: 4, limit: 3 });
    expect(at('write (put-durable)', 28)).toMatchObject({ status: 'PASS', value: 2 });
    expect(at('query (query)', 28)).toMatchObject({ status: 'PASS', value: 5 });
    expect(at('memory', 28)).toMatchObject({ status: 'FAIL', value: 1.6, limit: 1.5 });
  });

  it('reports larger sizes and ungated operations as INFO, never FAIL', () => {
    expect(at('read (get)', 1000)).toMatchObject({ status: 'INFO', value: 10 });
    expect(at('info (iterate)', 28)).toMatchObject({ status: 'INFO', value: 9, limit: null });
  });

  it('leaves out operations nobody measured', () => {
    expect(at('read (list)', 28)).toBeUndefined();
    expect(at('memory', 1000)).toBeUndefined();
  });

  it('N/A when only one side was measured', () => {
    const one = backendGates([m('get', 'json', 28, 1)], []);
    expect(one[0]).toMatchObject({ name: 'read (get)', status: 'N/A', value: null });
  });

  it('p50Ratio is null when a side is missing', () => {
    expect(p50Ratio(measurements, 'backends', 'list', 'json', 'leveldb', 28)).toBeNull();
  });
});

describe('compareWithBaseline: the runbook post-migration alert (> 20% worse)', () => {
  const baseline = {
    measurements: [m('get', 'json', 28, 1), m('put', 'json', 28, 1), m('query', 'json', 28, 1), m('gone', 'json', 28, 1)],
    memory: [mem('json', 28, 1000)],
  };
  const current = {
    measurements: [m('get', 'json', 28, 1.2), m('put', 'json', 28, 1.21), m('query', 'json', 28, 0.5), m('new', 'json', 28, 1)],
    memory: [mem('json', 28, 1300)],
  };
  const result = compareWithBaseline(current, baseline, 'base.json');
  const entry = (id: string) => result.entries.find((e) => e.id === id);

  it('exactly 20% worse is not flagged; more is', () => {
    expect(entry('backends/get/json/28')).toMatchObject({ regressed: false });
    expect(entry('backends/get/json/28')?.change).toBeCloseTo(0.2, 10);
    expect(entry('backends/put/json/28')).toMatchObject({ regressed: true });
  });

  it('faster is never flagged', () => {
    expect(entry('backends/query/json/28')).toMatchObject({ regressed: false, change: -0.5 });
  });

  it('compares memory (RSS) too', () => {
    expect(entry('backends/memory/json/28')).toMatchObject({ metric: 'rss', regressed: true });
  });

  it('counts regressions and lists baseline figures this run did not measure', () => {
    expect(result.regressions).toBe(2);
    expect(result.missing).toEqual(['backends/gone/json/28']);
    expect(result).toMatchObject({ file: 'base.json', threshold: 0.2 });
  });

  it('honours another threshold', () => {
    expect(compareWithBaseline(current, baseline, 'b', 0.5).regressions).toBe(0);
  });
});

describe('runFails (what --gate exits 1 on)', () => {
  const gate = (status: 'PASS' | 'FAIL' | 'INFO') => ({
    name: 'g',
    suite: 'backends' as const,
    size: 28,
    value: 1,
    limit: 2,
    comparison: '<=' as const,
    status,
    source: 's',
    detail: 'd',
  });
  it('fails on a FAIL gate or a baseline regression, not on INFO', () => {
    expect(runFails({ gates: [gate('PASS'), gate('INFO')] })).toBe(false);
    expect(runFails({ gates: [gate('PASS'), gate('FAIL')] })).toBe(true);
    const baseline: BenchRun['baseline'] = { file: 'b', threshold: 0.2, entries: [], regressions: 1, missing: [] };
    expect(runFails({ gates: [gate('PASS')], baseline })).toBe(true);
  });
});
