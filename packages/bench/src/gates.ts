// The runbook's go/no-go limits and the post-migration alert, as pure functions over a run's
// measurements. Ratios come from medians measured in the same run, never across runs or machines.
import type {
  BaselineComparison,
  BaselineEntry,
  BenchRun,
  GateResult,
  GateStatus,
  Measurement,
  MemoryMeasurement,
  SuiteName,
} from './results.js';
import { measurementId } from './results.js';
import { ratio } from './stats.js';

/** The runbook applies its ratios at production size and up to this many records per network. */
export const GATED_RECORDS_PER_NETWORK = 100;
/** Networks the generated data spreads over (core's generateRecords default, and production). */
export const NETWORKS = 5;
/** Runbook "Post-Migration Monitoring": alert at more than 20% degradation from baseline. */
export const BASELINE_THRESHOLD = 0.2;

export interface GateSpec {
  name: string;
  /** The criterion in plain words, for the report's summary; gates without one are detail only. */
  title?: string;
  limit: number;
  /** `<=`: the value must not exceed the limit; `>=`: it must reach it. */
  comparison: '<=' | '>=';
  source: string;
}

/** The limits, named once so the report, the README and the tests agree. */
export const LIMITS = {
  read: { name: 'read', title: 'Reads from JSON take at most 2x as long as from LevelDB', limit: 2, comparison: '<=', source: 'runbook 3.4: read <= 2x LevelDB' },
  write: { name: 'write', title: 'Writes to JSON take at most 3x as long as to LevelDB', limit: 3, comparison: '<=', source: 'runbook 3.4: write <= 3x LevelDB' },
  query: { name: 'query', title: 'Queries on JSON take at most 5x as long as on LevelDB', limit: 5, comparison: '<=', source: 'runbook 3.4: query <= 5x LevelDB' },
  memory: { name: 'memory', title: 'A process using JSON needs at most 150% of the memory', limit: 1.5, comparison: '<=', source: 'runbook 3.4: memory <= 150% of LevelDB' },
  dualWrite: { name: 'dual-write', title: 'Dual-write is less than 50% slower than LevelDB alone', limit: 1.5, comparison: '<=', source: 'runbook 2.3: < 50% slower than LevelDB alone' },
  migration: {
    name: 'copy+verify vs raw limit',
    title: 'Copy + verify within 2x of the least any migration must do',
    limit: 2,
    comparison: '<=',
    source: 'our target: within 2x of one scan + one durable JSON write',
  },
  codec: { name: 'codec speed vs native', title: 'The lossless codec runs at least half as fast as native JSON', limit: 0.5, comparison: '>=', source: 'our target: >= 0.5 of native without unsafe numbers' },
  codecParse: { name: 'codec parse vs native', title: 'Lossless parse keeps 0.8x native speed without integers beyond 2^53', limit: 0.8, comparison: '>=', source: 'our target: as fast as before exact decimals (0.8-0.9x native)' },
  codecParseUnsafe: { name: 'codec parse vs native, integers beyond 2^53', title: 'Lossless parse runs at 0.3x native or better with a bare integer beyond 2^53 in every record', limit: 0.3, comparison: '>=', source: 'our target: >= 0.3x native with big integers' },
  codecPrintUnsafe: { name: 'codec stringify vs native, integers beyond 2^53', title: 'Lossless print runs at 0.4x native or better with a bare integer beyond 2^53 in every record', limit: 0.4, comparison: '>=', source: 'our target: better than the 0.26x measured before' },
  validator: { name: 'validate 100 files / 10k records (ms)', title: 'The validator checks 100 files (10k records) within a second', limit: 1000, comparison: '<=', source: 'our target: within a second' },
  startup: { name: 'cli --version vs node -e 0', title: 'The CLI starts within 2x of a bare node', limit: 2, comparison: '<=', source: 'our target: within 2x' },
  factoryGet: {
    name: 'factory get vs leveldb get',
    title: 'A deploy script reads from JSON in at most half a LevelDB get',
    limit: 0.5,
    comparison: '<=',
    source: 'our target: reads from JSON through createStateStore() at most half a LevelDB get',
  },
  rewriteFloor: {
    name: 'json put vs durable rewrite floor',
    title: 'A durable JSON put within 1.15x of a bare durable rewrite of its file',
    limit: 1.15,
    comparison: '<=',
    source: 'our target: a durable JSON put within 1.15x of the bare durable rewrite of its file',
  },
} as const satisfies Record<string, GateSpec>;

/** A project's own store: its size is its production size, so the runbook's ratios apply to it. */
let projectSize: number | undefined;
export function gateProjectSize(size: number | undefined): void {
  projectSize = size;
}

/** Whether the runbook's ratios apply at this size (otherwise the ratio is information only). */
export function isGatedSize(size: number, networks = NETWORKS): boolean {
  return size === projectSize || Math.ceil(size / networks) <= GATED_RECORDS_PER_NETWORK;
}

/** PASS/FAIL against the limit when gated, INFO when not, N/A when there is no value. */
export function evaluateGate(
  value: number | null,
  spec: { limit: number | null; comparison: GateSpec['comparison'] },
  gated = true,
): GateStatus {
  if (value === null || !Number.isFinite(value)) return 'N/A';
  if (!gated || spec.limit === null) return 'INFO';
  const ok = spec.comparison === '<=' ? value <= spec.limit : value >= spec.limit;
  return ok ? 'PASS' : 'FAIL';
}

export function makeGate(
  spec: Omit<GateSpec, 'limit'> & { limit: number | null },
  suite: SuiteName,
  size: number,
  value: number | null,
  detail: string,
  gated = true,
): GateResult {
  return {
    name: spec.name,
    ...(spec.title !== undefined && { title: spec.title }),
    suite,
    size,
    value,
    limit: spec.limit,
    comparison: spec.comparison,
    status: evaluateGate(value, spec, gated),
    source: spec.source,
    detail,
  };
}

function find(
  measurements: readonly Measurement[],
  suite: SuiteName,
  operation: string,
  subject: string,
  size: number,
): Measurement | undefined {
  return measurements.find((m) => m.suite === suite && m.operation === operation && m.subject === subject && m.size === size);
}

/** `candidate.p50 / reference.p50` for one operation, or null when either is missing. */
export function p50Ratio(
  measurements: readonly Measurement[],
  suite: SuiteName,
  operation: string,
  candidate: string,
  reference: string,
  size: number,
): number | null {
  const a = find(measurements, suite, operation, candidate, size);
  const b = find(measurements, suite, operation, reference, size);
  return a && b ? ratio(a.latencyMs.p50, b.latencyMs.p50) : null;
}

/** The gate for `candidate / reference` of one operation, with both medians kept beside the ratio. */
export function ratioGate(
  spec: Omit<GateSpec, 'limit'> & { limit: number | null },
  measurements: readonly Measurement[],
  where: { suite: SuiteName; operation: string; candidate: string; reference: string; size: number },
  gated = true,
): GateResult {
  const a = find(measurements, where.suite, where.operation, where.candidate, where.size);
  const b = find(measurements, where.suite, where.operation, where.reference, where.size);
  const value = a && b ? ratio(a.latencyMs.p50, b.latencyMs.p50) : null;
  return {
    ...makeGate(spec, where.suite, where.size, value, `p50 ${where.candidate} / p50 ${where.reference}, ${where.operation}`, gated),
    candidate: where.candidate,
    reference: where.reference,
    ...(a && b && { times: { candidate: a.latencyMs.p50, reference: b.latencyMs.p50 } }),
  };
}

/** Operation -> the runbook limit it answers to. Full scans and 10k batches are information. */
const BACKEND_OPERATION_GATES: ReadonlyArray<{ operation: string; spec: GateSpec }> = [
  { operation: 'get', spec: LIMITS.read },
  { operation: 'list', spec: LIMITS.read },
  { operation: 'put', spec: LIMITS.write },
  { operation: 'put-durable', spec: LIMITS.write },
  { operation: 'query', spec: LIMITS.query },
];

/** JSON / LevelDB gates for every size the backends suite measured. */
export function backendGates(measurements: readonly Measurement[], memory: readonly MemoryMeasurement[]): GateResult[] {
  const gates: GateResult[] = [];
  const sizes = [...new Set(measurements.filter((m) => m.suite === 'backends').map((m) => m.size))].sort((a, b) => a - b);
  for (const size of sizes) {
    const gated = isGatedSize(size);
    for (const { operation, spec } of BACKEND_OPERATION_GATES) {
      if (!find(measurements, 'backends', operation, 'json', size)) continue;
      const where = { suite: 'backends' as const, operation, candidate: 'json', reference: 'leveldb', size };
      gates.push(ratioGate({ ...spec, name: `${spec.name} (${operation})` }, measurements, where, gated));
    }
    for (const operation of ['iterate', 'batch']) {
      const value = p50Ratio(measurements, 'backends', operation, 'json', 'leveldb', size);
      if (value !== null)
        gates.push(
          makeGate(
            { name: `info (${operation})`, limit: null, comparison: '<=', source: 'no runbook limit; reported for information' },
            'backends',
            size,
            value,
            `p50 json / p50 leveldb, ${operation}`,
            false,
          ),
        );
    }
    const jsonMem = memory.find((m) => m.suite === 'backends' && m.subject === 'json' && m.size === size);
    const levelMem = memory.find((m) => m.suite === 'backends' && m.subject === 'leveldb' && m.size === size);
    if (jsonMem || levelMem) {
      const value = jsonMem && levelMem ? ratio(jsonMem.rssBytes, levelMem.rssBytes) : null;
      const gate = makeGate(LIMITS.memory, 'backends', size, value, 'process RSS json / leveldb, each alone in a child process', gated);
      gates.push(
        jsonMem && levelMem
          ? { ...gate, candidate: 'json', reference: 'leveldb', bytes: { candidate: jsonMem.rssBytes, reference: levelMem.rssBytes } }
          : gate,
      );
    }
  }
  return gates;
}

/**
 * Compares this run with a saved one: p50 latency of every measurement and RSS of every memory
 * figure present in both. More than `threshold` worse (current > baseline * (1 + threshold)) is a
 * regression, the runbook's post-migration alert.
 */
export function compareWithBaseline(
  current: Pick<BenchRun, 'measurements' | 'memory'>,
  baseline: Pick<BenchRun, 'measurements' | 'memory'>,
  file: string,
  threshold = BASELINE_THRESHOLD,
): BaselineComparison {
  const entries: BaselineEntry[] = [];
  const missing: string[] = [];
  const entry = (id: string, metric: BaselineEntry['metric'], before: number, now: number): BaselineEntry => {
    const r = ratio(now, before);
    const change = r === null ? 0 : r - 1;
    return { id, metric, baseline: before, current: now, change, regressed: r !== null && change > threshold };
  };
  const currentById = new Map(current.measurements.map((m) => [measurementId(m), m]));
  for (const old of baseline.measurements) {
    const id = measurementId(old);
    const now = currentById.get(id);
    if (!now) missing.push(id);
    else entries.push(entry(id, 'p50', old.latencyMs.p50, now.latencyMs.p50));
  }
  const memId = (m: MemoryMeasurement): string => `${m.suite}/memory/${m.subject}/${m.size}`;
  const currentMem = new Map(current.memory.map((m) => [memId(m), m]));
  for (const old of baseline.memory) {
    const now = currentMem.get(memId(old));
    if (!now) missing.push(memId(old));
    else entries.push(entry(memId(old), 'rss', old.rssBytes, now.rssBytes));
  }
  return { file, threshold, entries, regressions: entries.filter((e) => e.regressed).length, missing };
}

/** Whether the run should fail under `--gate`: any gate FAIL or any baseline regression. */
export function runFails(run: Pick<BenchRun, 'gates' | 'baseline'>): boolean {
  return run.gates.some((g) => g.status === 'FAIL') || (run.baseline?.regressions ?? 0) > 0;
}
