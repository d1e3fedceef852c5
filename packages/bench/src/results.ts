// The shape of a bench run as saved to JSON: what `--baseline` reads back, what the Markdown
// report and the chart are drawn from. Bump RESULT_VERSION when a field changes meaning.
import type { LatencySummary } from './stats.js';

export const RESULT_VERSION = 1;

export type SuiteName = 'codec' | 'backends' | 'factory' | 'dual-write' | 'migration' | 'validator' | 'startup' | 'walk';
export const SUITE_NAMES: readonly SuiteName[] = ['codec', 'backends', 'factory', 'dual-write', 'migration', 'validator', 'startup', 'walk'];

/** One operation on one subject (a backend, a codec, a program) at one size. */
export interface Measurement {
  suite: SuiteName;
  /** e.g. `get`, `put-durable`, `parse`, `copy+verify`. */
  operation: string;
  /** e.g. `leveldb`, `json`, `lossless`, `native`, `dual-write`. */
  subject: string;
  /** Records in the store (or in the documents) the operation ran against. */
  size: number;
  /** Latency of one run of the operation, in milliseconds. */
  latencyMs: LatencySummary;
  /** Items handled by one run (records for a scan or a batch, 1 for a get). */
  itemsPerRun: number;
  /** Items per second at the median latency. */
  throughputPerSec: number | null;
  /** Free-form detail: bytes, durability, what exactly was timed. */
  note?: string;
}

/** Process memory of one subject, measured alone in a child process. */
export interface MemoryMeasurement {
  suite: SuiteName;
  subject: string;
  size: number;
  /** Resident set size after the workload, bytes. */
  rssBytes: number;
  /** V8 heap used after the workload and a forced GC, bytes. */
  heapUsedBytes: number;
  /** RSS growth from just before the store opened to after the workload, bytes. */
  rssDeltaBytes: number;
}

export type GateStatus = 'PASS' | 'FAIL' | 'INFO' | 'N/A';

export interface GateResult {
  /** e.g. `read (get)`. */
  name: string;
  /** The criterion in plain words (the summary groups gates by it); absent on detail-only gates. */
  title?: string;
  /** The two subjects divided, when the gate is a ratio of two measurements. */
  candidate?: string;
  reference?: string;
  suite: SuiteName;
  size: number;
  /** The measured ratio, or null when one side is missing. */
  value: number | null;
  /** Null for a ratio reported for information only (no limit applies). */
  limit: number | null;
  /** `<=`: the value must not exceed the limit; `>=`: it must reach it. */
  comparison: '<=' | '>=';
  status: GateStatus;
  /** Where the limit comes from, e.g. `runbook 3.4`. */
  source: string;
  /** What was divided by what. */
  detail: string;
  /** The two medians the ratio divides, in ms, so a reader sees absolute times beside the ratio. */
  times?: { candidate: number; reference: number };
  /** The two process RSS figures a memory ratio divides, in bytes. */
  bytes?: { candidate: number; reference: number };
}

export interface SkippedSuite {
  suite: SuiteName;
  reason: string;
}

export interface BenchRun {
  version: typeof RESULT_VERSION;
  startedAt: string;
  finishedAt: string;
  options: {
    quick: boolean;
    sizes: number[];
    suites: SuiteName[];
    iterations: number;
    warmup: number;
    /** Set when the run measured a copy of a project's own store. */
    project?: { records: number; source: 'leveldb' | 'json'; invalid: number; long: boolean };
  };
  environment: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
  };
  measurements: Measurement[];
  memory: MemoryMeasurement[];
  gates: GateResult[];
  skipped: SkippedSuite[];
  /** Results checked against `--baseline`, when given. */
  baseline?: BaselineComparison;
}

export interface BaselineEntry {
  /** `suite/operation/subject/size`. */
  id: string;
  metric: 'p50' | 'rss';
  baseline: number;
  current: number;
  /** current / baseline - 1; 0.25 means 25% worse. */
  change: number;
  regressed: boolean;
}

export interface BaselineComparison {
  file: string;
  threshold: number;
  entries: BaselineEntry[];
  regressions: number;
  /** Ids in the baseline that this run did not measure. */
  missing: string[];
}

export function measurementId(m: Pick<Measurement, 'suite' | 'operation' | 'subject' | 'size'>): string {
  return `${m.suite}/${m.operation}/${m.subject}/${m.size}`;
}
