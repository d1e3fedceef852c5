import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ITERATIONS,
  DEFAULT_SIZES,
  parseOptions,
  PROJECT_ITERATIONS,
  PROJECT_WARMUP,
  QUICK_SIZES,
  usageFor,
  USAGE,
  UsageError,
} from '../src/options.js';
import { SUITE_NAMES } from '../src/results.js';

describe('parseOptions', () => {
  it('defaults: every suite, the default sizes, results under <cwd>/bench-results', () => {
    const o = parseOptions([], '/work/here');
    expect(o).toMatchObject({
      quick: false,
      sizes: DEFAULT_SIZES,
      suites: [...SUITE_NAMES],
      out: '/work/here/bench-results',
      json: false,
      gate: false,
      baseline: undefined,
    });
  });

  it('--quick takes small sizes and few iterations', () => {
    const o = parseOptions(['--quick'], '/w');
    expect(o.sizes).toEqual(QUICK_SIZES);
    expect(o.iterations).toBeLessThan(parseOptions([], '/w').iterations);
  });

  it('parses lists, paths relative to cwd, and --flag=value', () => {
    const o = parseOptions(
      ['--sizes', '10000,28,1k,28', '--suite=codec,backends', '--baseline', 'old/run.json', '--out', '/abs', '--json', '--gate'],
      '/w',
    );
    expect(o.sizes).toEqual([28, 1000, 10000]);
    expect(o.suites).toEqual(['codec', 'backends']);
    expect(o.baseline).toBe('/w/old/run.json');
    expect(o.out).toBe('/abs');
    expect(o.json && o.gate).toBe(true);
  });

  it('refuses unknown options, unknown suites, bad sizes and missing values', () => {
    expect(() => parseOptions(['--fast'])).toThrow(UsageError);
    expect(() => parseOptions(['--suite', 'codecs'])).toThrow(UsageError);
    expect(() => parseOptions(['--sizes', '0'])).toThrow(UsageError);
    expect(() => parseOptions(['--sizes', 'ten'])).toThrow(UsageError);
    expect(() => parseOptions(['--out'])).toThrow(UsageError);
    expect(() => parseOptions(['--out', '--json'])).toThrow(UsageError);
  });
});

describe('parseOptions: a project store', () => {
  it('--from-leveldb and --from-deployments measure a copy, short by default; --long samples fully', () => {
    const short = parseOptions(['--from-leveldb', 'db', '--from-deployments=dep'], '/p');
    expect(short).toMatchObject({
      from: { leveldb: '/p/db', deployments: '/p/dep' },
      long: false,
      iterations: PROJECT_ITERATIONS,
      warmup: PROJECT_WARMUP,
    });
    const long = parseOptions(['--from-leveldb', 'db', '--long'], '/p');
    expect(long).toMatchObject({ from: { leveldb: '/p/db' }, long: true, iterations: DEFAULT_ITERATIONS });
    expect(parseOptions([], '/p').from).toBeUndefined();
  });

  it('refuses --long without a store, and --sizes or --quick with one', () => {
    expect(() => parseOptions(['--long'], '/p')).toThrow(UsageError);
    expect(() => parseOptions(['--from-leveldb', 'db', '--sizes', '28'], '/p')).toThrow(UsageError);
    expect(() => parseOptions(['--from-leveldb', 'db', '--quick'], '/p')).toThrow(UsageError);
  });

  it('a bare --baseline is the one --save-baseline wrote into the results folder', () => {
    expect(parseOptions(['--baseline'], '/p').baseline).toBe('/p/bench-results/baseline.json');
    expect(parseOptions(['--baseline', '--gate', '--out', 'r'], '/p')).toMatchObject({ baseline: '/p/r/baseline.json', gate: true });
    expect(parseOptions(['--baseline', 'saved.json'], '/p').baseline).toBe('/p/saved.json');
  });
});

describe('usageFor', () => {
  const words = (text: string): string => text.replace(/\s+/g, ' ').trim();

  it('fits a 70-column terminal, and a 40-column one with each description under its flags, saying every word the usage says', () => {
    for (const width of [70, 40]) {
      const text = usageFor(width);
      expect(text.split('\n').filter((line) => line.length > width)).toEqual([]);
      expect(words(text)).toBe(words(USAGE));
    }
    expect(usageFor(40)).toContain('\n  --quick\n      small sizes');
  });

  it('is the usage as a file or a pipe gets it at 100 columns', () => {
    expect(usageFor(100)).toBe(USAGE);
    expect(USAGE.split('\n').filter((line) => line.length > 100)).toEqual([]);
  });
});
