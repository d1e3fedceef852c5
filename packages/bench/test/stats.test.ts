import { describe, expect, it } from 'vitest';
import { mean, median, percentile, ratio, round, summarize, throughput } from '../src/stats.js';

describe('percentile (linear interpolation between closest ranks)', () => {
  it('returns the exact rank when it falls on a sample', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4, 5], 100)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5], 25)).toBe(2);
  });

  it('interpolates between ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    // rank 0.99 * 9 = 8.91 between 9 and 10
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBeCloseTo(9.91, 10);
    expect(percentile([10, 20], 90)).toBeCloseTo(19, 10);
  });

  it('does not depend on input order and does not reorder the input', () => {
    const input = [5, 1, 4, 2, 3];
    expect(percentile(input, 50)).toBe(3);
    expect(input).toEqual([5, 1, 4, 2, 3]);
  });

  it('p99 of 100 samples 1..100 lies between the 99th and 100th', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 99)).toBeCloseTo(99.01, 10);
  });

  it('refuses an empty sample and an out-of-range p', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('a single sample is every percentile', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('median, mean, summarize', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('mean', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(() => mean([])).toThrow(RangeError);
  });

  it('summarize reports n, min, max, mean, p50, p99', () => {
    expect(summarize([4, 1, 3, 2, 10])).toEqual({ n: 5, min: 1, max: 10, mean: 4, p50: 3, p99: percentile([1, 2, 3, 4, 10], 99) });
    expect(summarize([4, 1, 3, 2, 10]).p99).toBeCloseTo(9.76, 10);
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('ratio and throughput', () => {
  it('divides candidate by reference', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(0, 2)).toBe(0);
  });

  it('is null against a zero, negative or non-finite reference', () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(1, -1)).toBeNull();
    expect(ratio(1, Number.NaN)).toBeNull();
    expect(ratio(Number.POSITIVE_INFINITY, 1)).toBeNull();
    expect(ratio(-1, 1)).toBeNull();
  });

  it('throughput is items per second, null for a non-positive time', () => {
    expect(throughput(10, 100)).toBe(100);
    expect(throughput(1, 0.5)).toBe(2000);
    expect(throughput(1, 0)).toBeNull();
    expect(throughput(1, Number.NaN)).toBeNull();
  });

  it('round keeps the asked digits', () => {
    expect(round(1.23456)).toBe(1.235);
    expect(round(1.23456, 1)).toBe(1.2);
  });
});
