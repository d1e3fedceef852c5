// What every suite receives and returns.
import type { GateResult, Measurement, MemoryMeasurement } from '../results.js';
import type { SampleOptions } from '../harness.js';

export interface SuiteContext {
  quick: boolean;
  /** Few rounds and small batches: `--quick`, or a project's own store without `--long`. */
  light: boolean;
  /** Set when measuring a copy of a project's store (`--from-leveldb`, `--from-deployments`). */
  project?: ProjectContext;
  /** Record counts asked for (`--sizes`). */
  sizes: number[];
  /** Base sampling: each suite scales it to the cost of its operation. */
  sampling: Required<Pick<SampleOptions, 'warmup' | 'iterations' | 'maxTimeMs'>>;
  /** The built memory worker (dist/memory-worker.js). */
  workerPath: string;
  /** packages/bench, to find sibling packages such as the CLI. */
  packageDir: string;
  /** Progress for people, on stderr. */
  log(line: string): void;
}

export interface ProjectContext {
  /** The temp folder holding the copy (`leveldb/`, `deployments/`); child processes read it. */
  root: string;
  /** How many records the copy holds: the one size measured. */
  size: number;
  long: boolean;
}

export interface SuiteOutcome {
  measurements: Measurement[];
  memory: MemoryMeasurement[];
  gates: GateResult[];
  /** Set when the suite could not run at all (a package not built yet). */
  skipped?: string;
}

export function emptyOutcome(skipped?: string): SuiteOutcome {
  return { measurements: [], memory: [], gates: [], ...(skipped !== undefined && { skipped }) };
}

/** A deploy script's pace: a transaction, a receipt, then the record. */
export const PACE_MS = 100;

/** Rounds of a row paced at PACE_MS: enough that the p50 of a gated ratio holds between runs. */
export function pacedRounds(context: Pick<SuiteContext, 'light'>): number {
  return context.light ? 3 : 30;
}

/** Scales the base sampling for an operation that costs `factor` times a point read. */
export function scaled(context: SuiteContext, divisor: number, minimum = 3): SampleOptions {
  const { warmup, iterations, maxTimeMs } = context.sampling;
  return {
    warmup: Math.max(1, Math.ceil(warmup / divisor)),
    iterations: Math.max(minimum, Math.ceil(iterations / divisor)),
    maxTimeMs,
    minIterations: minimum,
  };
}
