// Pure statistics for the bench: percentiles, summaries and ratios. No clocks, no I/O, so every
// function here is tested on known inputs.

export interface LatencySummary {
  /** Number of samples. */
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p99: number;
}

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks (the method of
 * NumPy's default and Excel's PERCENTILE.INC). Throws on an empty list: a statistic of nothing
 * would be a made-up number.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (rank - lower);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of an empty sample');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new RangeError('summary of an empty sample');
  let min = Infinity;
  let max = -Infinity;
  for (const v of samples) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { n: samples.length, min, max, mean: mean(samples), p50: median(samples), p99: percentile(samples, 99) };
}

/**
 * `candidate / reference`, or null when the reference is not a positive finite number (a ratio
 * against zero would print as Infinity and pass or fail a gate for no reason).
 */
export function ratio(candidate: number, reference: number): number | null {
  if (!Number.isFinite(candidate) || !Number.isFinite(reference) || reference <= 0 || candidate < 0) return null;
  return candidate / reference;
}

/** Items per second for `items` done in `ms` milliseconds; null when the time is not positive. */
export function throughput(items: number, ms: number): number | null {
  if (!(ms > 0) || !Number.isFinite(ms)) return null;
  return (items * 1000) / ms;
}

/** Rounds for display and for the saved JSON, so reports do not carry noise digits. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
