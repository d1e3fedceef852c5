// @deploystate/bench: the harness, statistics, gates and reports, for scripts that want to run or
// read a bench programmatically. `pnpm bench` is src/main.ts.
export { percentile, median, mean, summarize, ratio, throughput, round, type LatencySummary } from './stats.js';
export {
  LIMITS,
  GATED_RECORDS_PER_NETWORK,
  NETWORKS,
  BASELINE_THRESHOLD,
  isGatedSize,
  evaluateGate,
  makeGate,
  p50Ratio,
  ratioGate,
  backendGates,
  compareWithBaseline,
  runFails,
  type GateSpec,
} from './gates.js';
export {
  sampleInterleaved,
  measure,
  toMeasurement,
  roundOrder,
  timeOnce,
  withTempDir,
  makeTempDir,
  removeTempDir,
  runChild,
  measureMemoryInChild,
  type SampleOptions,
  type Subject,
  type MeasureContext,
  type MemoryTask,
  type ChildOutcome,
} from './harness.js';
export { latencyChart, ratioChart, colourOf, chartGroups, formatMs, escapeXml, type ChartGroup, type RatioRow } from './chart.js';
export { criteria, sortCriteria, summaryLines, worstCase, type Criterion } from './summary.js';
export { consoleReport, markdownReport, countGates, padTable, markdownTable, formatBytes } from './report.js';
export { parseOptions, USAGE, UsageError, DEFAULT_SIZES, QUICK_SIZES, type BenchOptions } from './options.js';
export { runBench, saveRun, type RunEnvironment, type SavedFiles } from './run.js';
export * from './results.js';
