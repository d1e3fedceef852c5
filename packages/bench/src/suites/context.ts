// What every suite receives and returns.
import type { GateResult, Measurement, MemoryMeasurement } from '../results.js';
import type { DeploymentRecord, StateStore } from '@deploystate/core';
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

/** Puts in a script's run (open, puts, close) in the session rows. */
export const PUTS_PER_SESSION = 20;

/** A deploy script's whole run: the store made, opened, `puts` awaited puts (`record(i)`), closed. */
export async function scriptRun(make: () => StateStore | Promise<StateStore>, records: readonly DeploymentRecord[]): Promise<void> {
  const store = await make();
  await store.open();
  for (const record of records) await store.put(record);
  await store.close();
}

/** A round's records for a script's run: PUTS_PER_SESSION of them, `write(n)` of the round's own numbers, so no round repeats another's values. */
export function sessionRecords(write: (n: number) => DeploymentRecord, round: number): DeploymentRecord[] {
  return Array.from({ length: PUTS_PER_SESSION }, (_, i) => write(round * PUTS_PER_SESSION + i));
}

/**
 * Sampling for a script's whole run (tens of milliseconds): 20 rounds, never fewer than 15 (5
 * rounds let the p50 swing 2.6-5.4x between runs of the same code); a few with `--quick`.
 */
export function sessionSampling(context: SuiteContext): SampleOptions {
  return { ...scaled(context, 10, 3), minIterations: context.light ? 3 : 15 };
}

/**
 * A deploy script's write of a record it had: an upgrade, with a new implementation address and
 * hash and the timestamp `stamp` (new each write), so a project's legacy `contracts` and
 * `implementationHashes` entries change with it, as they do in a real upgrade (a write that changed
 * only the timestamp never changed them, and took the store's cheapest path).
 */
export function upgraded(record: DeploymentRecord, stamp: number): DeploymentRecord {
  const hex = stamp.toString(16);
  return { ...record, address: `0x${hex.padStart(40, '0')}`, implementationHash: `0x${hex.padStart(64, '0')}`, timestamp: stamp };
}

/** A deploy script's pace: a transaction, a receipt, then the record. */
export const PACE_MS = 100;

/** Rounds of a row paced at PACE_MS: enough that the p50 of a gated ratio holds between runs. */
export function pacedRounds(context: Pick<SuiteContext, 'light'>): number {
  return context.light ? 3 : 30;
}

/**
 * Rounds of a paced get gated near its limit (the factory's read from JSON against half a LevelDB
 * get): a lone get after an idle spell varies by half its time from call to call, so the p50 of 30
 * rounds moved by about a sixth between runs and the gate flipped (3 of 12 runs at 0.38-0.56x).
 * Four times the rounds halve that spread.
 */
export function pacedGetRounds(context: Pick<SuiteContext, 'light'>): number {
  return 4 * pacedRounds(context);
}

/** Consecutive calls per sample for an operation of tens of microseconds (see SampleOptions.repeat). */
export const POINT_REPEAT = 8;

/**
 * Lone calls per sample, the subjects taking turns call by call (see SampleOptions.alternate): for
 * a put timed alone whose single calls split into modes. Each sample the mean of these calls.
 */
export const LONE_CALLS = 4;

/** Puts of each subject before a lone put is timed: by then the JSON store's code runs optimized. */
const WARM_PUTS = 100;

/**
 * Sampling for a call timed alone (a put, or a get straight after one), in steady state (`divisor`
 * as in scaled): each sample the mean of LONE_CALLS lone calls, the stores strictly taking turns,
 * after WARM_PUTS untimed ones (within the time cap). With the few warm-up rounds of other rows,
 * the first samples ran before the JIT had optimized the JSON store's code (an unsynced put
 * 290-420 us, against 190-250 us after), and when that happened moved the median from run to run.
 */
export function loneCallSampling(context: SuiteContext, divisor: number): SampleOptions {
  const options = scaled(context, divisor, 5);
  // Light runs too (a project's short run decides go/no-go on these rows): the time cap bounds it.
  return { ...options, warmup: Math.max(options.warmup, Math.ceil(WARM_PUTS / LONE_CALLS)), alternate: LONE_CALLS };
}

/**
 * Sampling for a get or a dual-write put (tens of microseconds, through LevelDB's thread): a hundred
 * samples at least, each the mean of POINT_REPEAT consecutive calls on different keys, so its
 * median holds between runs.
 */
export function pointSampling(context: SuiteContext): SampleOptions {
  return { ...scaled(context, 1, 50), minIterations: context.light ? 5 : 100, repeat: POINT_REPEAT };
}

/** Consecutive lists per sample: a list of a small chain is tens of microseconds too (about 200 records' work a sample). */
export function listRepeat(size: number): number {
  return Math.max(1, Math.round(200 / size));
}

/** A list row's note: the chain listed, and how many lists a sample averages. */
export function listNote(chainId: number, size: number): string {
  const repeat = listRepeat(size);
  return repeat === 1 ? `list(${chainId})` : `list(${chainId}); each sample the mean of ${repeat} lists in a row`;
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
