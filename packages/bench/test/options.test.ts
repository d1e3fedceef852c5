import { describe, expect, it } from 'vitest';
import { DEFAULT_SIZES, parseOptions, QUICK_SIZES, UsageError } from '../src/options.js';
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
    expect(() => parseOptions(['--baseline'])).toThrow(UsageError);
    expect(() => parseOptions(['--out', '--json'])).toThrow(UsageError);
  });
});
