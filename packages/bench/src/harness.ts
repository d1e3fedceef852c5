// One harness for every measurement: warm-up, then repeated runs of each subject in interleaved
// order, each run timed on its own, summarized as p50/p99. Subjects of one comparison take turns
// round by round (A B, B A, A B ...) so that drift on a shared, noisy machine (page cache, CPU
// frequency, another job) lands on both sides instead of on whichever ran last.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropRemovalOnInterrupt, registerInterruptCleanup, tempFolderRemovedOnInterrupt } from '@deploystate/core/interrupt-cleanup';
import type { Measurement, MemoryMeasurement, SuiteName } from './results.js';
import { summarize, throughput } from './stats.js';

export interface SampleOptions {
  /** Untimed runs of each subject before sampling. */
  warmup: number;
  /** Timed runs of each subject (rounds). */
  iterations: number;
  /** Stop adding rounds after this long (all subjects always have the same number of samples). */
  maxTimeMs?: number;
  /** Never fewer rounds than this, even past maxTimeMs. */
  minIterations?: number;
  /**
   * Calls of a subject timed together as one sample, which records their mean. For operations of
   * tens of microseconds that go through the thread pool: one call alone lands in one of two modes
   * (its worker thread awake, or asleep and woken, 15 vs 80 us on a VM), so the median of single
   * calls flips between the modes from run to run; the mean of a few consecutive calls does not.
   */
  repeat?: number;
  /**
   * Calls of each subject per sample, taken one at a time with the subjects alternating call by call
   * (A B, B A, ...); each subject's sample records the mean of its calls. For an operation that must
   * be timed alone (a put right after another put of the same store runs warm, which no deploy
   * script's put does) whose single calls still split into modes: the mean of a few lone calls holds
   * between runs where the median of single calls flips. Not with `repeat`.
   */
  alternate?: number;
}

export interface Subject {
  name: string;
  /** One run of the operation; `round` lets a run pick a different key each time. */
  run(round: number): Promise<unknown> | unknown;
  /** Untimed work before each run: a deploy script's pause between puts, say. */
  before?(round: number): Promise<unknown> | unknown;
  /** Untimed work after each run, given how long the run took: a lag probe, say. */
  after?(round: number, ms: number): Promise<unknown> | unknown;
  /**
   * `run` resolves to the milliseconds it measured itself (a child process's own figure, without
   * its start), recorded instead of the call's wall time. Not with `repeat`.
   */
  selfTimed?: boolean;
}

/** Times one call in milliseconds. */
export async function timeOnce(run: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** One call of a subject in milliseconds: its wall time, or the figure a self-timed subject reports. */
async function timeCall(subject: Subject, round: number): Promise<number> {
  if (!subject.selfTimed) return timeOnce(() => subject.run(round));
  const ms = await subject.run(round);
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new Error(`${subject.name}: a self-timed run must resolve to its milliseconds`);
  return ms;
}

/** The order subjects take in a round: the lead alternates so neither side always goes first. */
export function roundOrder<T>(subjects: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...subjects] : [...subjects].reverse();
}

/** Runs `repeat` calls of a subject in a row, each with its own round number (so each picks its own key). */
async function runRepeated(subject: Subject, round: number, repeat: number): Promise<void> {
  for (let k = 0; k < repeat; k++) await subject.run(round * repeat + k);
}

/**
 * One round with `alternate` calls of each subject, the subjects taking turns call by call (each
 * call its own round number, so each picks its own key); each subject's mean per call. With one
 * call, the lead alternates round by round (A B, B A); with several, the order never changes
 * (A B A B ...), so no subject's call ever follows its own. A warm-up round (`timed` false) runs no
 * `after`: that work follows timed runs only.
 */
async function alternateRound(subjects: readonly Subject[], round: number, alternate: number, timed = true): Promise<Map<string, number>> {
  const sums = new Map<string, number>(subjects.map((s) => [s.name, 0]));
  for (let k = 0; k < alternate; k++) {
    const call = round * alternate + k;
    for (const subject of alternate === 1 ? roundOrder(subjects, round) : subjects) {
      await subject.before?.(call);
      const ms = await timeCall(subject, call);
      sums.set(subject.name, (sums.get(subject.name) ?? 0) + ms);
      if (timed) await subject.after?.(call, ms);
    }
  }
  for (const [name, sum] of sums) sums.set(name, sum / alternate);
  return sums;
}

/** Runs every subject warmup + iterations times, interleaved; returns each subject's samples (ms per call). */
export async function sampleInterleaved(subjects: readonly Subject[], options: SampleOptions): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const repeat = options.repeat ?? 1;
  const alternate = options.alternate ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(alternate) || alternate < 1)
    throw new Error('sampleInterleaved: repeat and alternate must be whole numbers of calls, at least 1');
  if (repeat > 1 && alternate > 1) throw new Error('sampleInterleaved: repeat and alternate exclude each other');
  if (repeat > 1 && subjects.some((s) => s.selfTimed)) throw new Error('sampleInterleaved: a self-timed subject cannot repeat');
  // The warm-up stops at maxTimeMs too (after one round): 100 warm-up puts of a 19 MB file would not.
  const warming = performance.now();
  for (let w = 0; w < options.warmup; w++) {
    if (w >= 1 && options.maxTimeMs !== undefined && performance.now() - warming > options.maxTimeMs) break;
    if (repeat === 1) {
      await alternateRound(subjects, w, alternate, false);
      continue;
    }
    for (const subject of roundOrder(subjects, w)) {
      await subject.before?.(w);
      await runRepeated(subject, w, repeat);
    }
  }
  const started = performance.now();
  const minRounds = Math.min(options.minIterations ?? 3, options.iterations);
  for (let round = 0; round < options.iterations; round++) {
    if (round >= minRounds && options.maxTimeMs !== undefined && performance.now() - started > options.maxTimeMs) break;
    // One call a sample is a round of one alternating call.
    if (repeat === 1) {
      for (const [name, ms] of await alternateRound(subjects, options.warmup + round, alternate)) samples.get(name)?.push(ms);
      continue;
    }
    for (const subject of roundOrder(subjects, options.warmup + round)) {
      await subject.before?.(options.warmup + round);
      const ms = (await timeOnce(() => runRepeated(subject, options.warmup + round, repeat))) / repeat;
      samples.get(subject.name)?.push(ms);
      await subject.after?.(options.warmup + round, ms);
    }
  }
  return samples;
}

export interface MeasureContext {
  suite: SuiteName;
  operation: string;
  size: number;
  itemsPerRun: number;
  note?: string;
}

/** Samples the subjects interleaved and turns each into a Measurement. */
export async function measure(subjects: readonly Subject[], context: MeasureContext, options: SampleOptions): Promise<Measurement[]> {
  const samples = await sampleInterleaved(subjects, options);
  return subjects.map((subject) => toMeasurement(subject.name, samples.get(subject.name) ?? [], context));
}

export function toMeasurement(subject: string, samples: readonly number[], context: MeasureContext): Measurement {
  const latencyMs = summarize(samples);
  return {
    suite: context.suite,
    operation: context.operation,
    subject,
    size: context.size,
    latencyMs,
    itemsPerRun: context.itemsPerRun,
    throughputPerSec: throughput(context.itemsPerRun, latencyMs.p50),
    ...(context.note !== undefined && { note: context.note }),
  };
}

/**
 * A fresh temp folder for one store (removed too if a signal stops the bench); pair with
 * removeTempDir in a finally. Made and registered in one synchronous step: a signal handled between
 * an asynchronous mkdtemp's completion and the registration left the folder behind (CI, 1 in many).
 */
export async function makeTempDir(prefix: string): Promise<string> {
  // Once a signal stops the bench, a suite still running makes no more stores: it waits here
  // until the process exits.
  if (benchStopped()) return new Promise<string>(() => undefined);
  return tempFolderRemovedOnInterrupt(join(tmpdir(), `deploystate-bench-${prefix}-`)).path;
}

let stopped = false;

/**
 * A stopping signal came: the run saves nothing and makeTempDir makes no more folders, whatever
 * runs on until main.ts's handler has cleaned up and exits.
 */
export function stopBench(): void {
  stopped = true;
}

export function benchStopped(): boolean {
  return stopped;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  dropRemovalOnInterrupt(dir);
}

/** A fresh temp folder for one store, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await run(dir);
  } finally {
    await removeTempDir(dir);
  }
}

/**
 * Forces a full collection before a memory reading, so the figure is live data, not garbage
 * waiting for the collector. Twice: the first pass can leave objects that only the second frees
 * (finalizers, weak references). A no-op unless node runs with --expose-gc.
 */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** What a memory worker is asked to do (see memory-worker.ts). */
export interface MemoryTask {
  suite: SuiteName;
  backend: string;
  size: number;
  /** A copy of a project's store: the worker measures its records. */
  projectRoot?: string;
}

export interface ChildOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a child process to completion, collecting its output. */
export function runChild(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Stopped with the bench if a signal stops it.
    child.once('exit', registerInterruptCleanup(() => child.kill('SIGKILL')));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/**
 * Runs a node child to completion and returns the JSON document on the last line of its stdout;
 * `what` names the child in the error when it fails or prints none.
 */
export async function runJsonChild<T>(args: readonly string[], what: string, timeoutMs: number): Promise<T> {
  const outcome = await runChild(process.execPath, args, { timeoutMs });
  const line = outcome.stdout.trim().split('\n').pop() ?? '';
  if (outcome.code !== 0 || !line.startsWith('{')) throw new Error(`${what} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`);
  return JSON.parse(line) as T;
}

/**
 * Measures one backend's process memory alone in a child process, so that one backend's garbage
 * and caches never count against the other. The worker prints one JSON line.
 */
export function measureMemoryInChild(workerPath: string, task: MemoryTask): Promise<MemoryMeasurement> {
  return runJsonChild<MemoryMeasurement>(['--expose-gc', workerPath, JSON.stringify(task)], `memory worker for ${task.backend} at ${task.size}`, 300_000);
}
