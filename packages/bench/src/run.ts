// Runs the chosen suites in order and assembles the BenchRun; saves it as JSON, Markdown and SVG.
import { cpus } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latencyChart, ratioChart } from './chart.js';
import { compareWithBaseline, gateProjectSize } from './gates.js';
import { useProjectRecords } from './loaders.js';
import { copyProjectStore } from './project.js';
import type { BenchOptions } from './options.js';
import { markdownReport } from './report.js';
import { criteria, sortCriteria } from './summary.js';
import { RESULT_VERSION, type BenchRun, type SuiteName } from './results.js';
import { backendsSuite } from './suites/backends.js';
import { codecSuite } from './suites/codec.js';
import type { ProjectContext, SuiteContext, SuiteOutcome } from './suites/context.js';
import { dualWriteSuite } from './suites/dual-write.js';
import { factorySuite } from './suites/factory.js';
import { migrationSuite } from './suites/migration.js';
import { startupSuite } from './suites/startup.js';
import { validatorSuite } from './suites/validator.js';
import { walkSuite } from './suites/zero-downtime.js';

const SUITES: Record<SuiteName, (context: SuiteContext) => Promise<SuiteOutcome>> = {
  codec: codecSuite,
  backends: backendsSuite,
  factory: factorySuite,
  'dual-write': dualWriteSuite,
  migration: migrationSuite,
  validator: validatorSuite,
  startup: startupSuite,
  walk: walkSuite,
};

export interface RunEnvironment {
  workerPath: string;
  packageDir: string;
  log(line: string): void;
}

export async function runBench(options: BenchOptions, env: RunEnvironment): Promise<{ run: BenchRun; failedSuites: number }> {
  if (!options.from) return runSuites(options, env);
  // A project's own store: every suite measures the records of a copy, at their count.
  const copy = await copyProjectStore(options.from);
  const size = copy.records.length;
  env.log(`measuring a copy of your store: ${size} records from the ${copy.source === 'leveldb' ? 'LevelDB' : 'deployments folder'}`);
  useProjectRecords(copy.records);
  gateProjectSize(size);
  try {
    return await runSuites({ ...options, sizes: [size] }, env, {
      project: { root: copy.root, size, long: options.long },
      info: { records: size, source: copy.source, invalid: copy.invalid, long: options.long },
    });
  } finally {
    useProjectRecords(undefined);
    gateProjectSize(undefined);
    await copy.dispose();
  }
}

async function runSuites(
  options: BenchOptions,
  env: RunEnvironment,
  project?: { project: ProjectContext; info: NonNullable<BenchRun['options']['project']> },
): Promise<{ run: BenchRun; failedSuites: number }> {
  const startedAt = new Date().toISOString();
  const short = project !== undefined && !project.project.long;
  const context: SuiteContext = {
    quick: options.quick,
    light: options.quick || short,
    ...(project && { project: project.project }),
    sizes: options.sizes,
    sampling: { warmup: options.warmup, iterations: options.iterations, maxTimeMs: options.quick ? 400 : short ? 500 : 5000 },
    workerPath: env.workerPath,
    packageDir: env.packageDir,
    log: env.log,
  };
  const cpu = cpus();
  const run: BenchRun = {
    version: RESULT_VERSION,
    startedAt,
    finishedAt: startedAt,
    options: {
      quick: options.quick,
      sizes: options.sizes,
      suites: options.suites,
      iterations: options.iterations,
      warmup: options.warmup,
      ...(project && { project: project.info }),
    },
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
    },
    measurements: [],
    memory: [],
    gates: [],
    skipped: [],
  };
  let failedSuites = 0;
  for (const suite of options.suites) {
    try {
      const outcome = await SUITES[suite](context);
      run.measurements.push(...outcome.measurements);
      run.memory.push(...outcome.memory);
      run.gates.push(...outcome.gates);
      if (outcome.skipped) run.skipped.push({ suite, reason: outcome.skipped });
    } catch (error) {
      // A suite that crashes is a defect in the code under test (or here), not a skipped suite.
      failedSuites++;
      const message = error instanceof Error ? error.message : String(error);
      run.skipped.push({ suite, reason: `failed: ${message.split('\n')[0]}` });
      env.log(`${suite} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    }
  }
  if (options.baseline) {
    const saved = JSON.parse(await readFile(options.baseline, 'utf8')) as BenchRun;
    run.baseline = compareWithBaseline(run, saved, options.baseline);
  }
  run.finishedAt = new Date().toISOString();
  return { run, failedSuites };
}

export interface SavedFiles {
  json: string;
  latest: string;
  markdown: string;
  charts: string[];
  baseline?: string;
}

/** Saves `bench-<time>.json`, `latest.json`, `report.md` and one `chart-<suite>.svg` per suite. */
export async function saveRun(run: BenchRun, outDir: string, saveBaseline: boolean): Promise<SavedFiles> {
  await mkdir(outDir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const text = `${JSON.stringify(run, null, 2)}\n`;
  const json = join(outDir, `bench-${stamp}.json`);
  const latest = join(outDir, 'latest.json');
  await writeFile(json, text);
  await writeFile(latest, text);
  const charts: Partial<Record<SuiteName, string>> = {};
  const chartPaths: string[] = [];
  for (const suite of new Set(run.measurements.map((m) => m.suite))) {
    const name = `chart-${suite}.svg`;
    await writeFile(
      join(outDir, name),
      latencyChart(
        run.measurements.filter((m) => m.suite === suite),
        `deploystate bench: ${suite}, p50 latency`,
      ),
    );
    charts[suite] = name;
    chartPaths.push(join(outDir, name));
  }
  // One chart per criterion: each gated ratio against the criterion's limit, on a linear scale.
  const ratioCharts: Array<{ title: string; file: string }> = [];
  for (const [i, c] of sortCriteria(criteria(run.gates)).entries()) {
    const rows = c.gates
      .filter((g) => g.limit !== null && g.limit < 100 && (g.status === 'PASS' || g.status === 'FAIL'))
      .map((g) => ({
        label: `${g.name} @ ${g.size}`,
        value: g.value,
        limit: g.limit as number,
        comparison: g.comparison,
        subject: g.candidate ?? g.suite,
      }));
    if (rows.length === 0) continue;
    const name = `ratio-${i + 1}.svg`;
    await writeFile(join(outDir, name), ratioChart(rows, `${c.title} (${c.source})`));
    ratioCharts.push({ title: c.title, file: name });
    chartPaths.push(join(outDir, name));
  }
  const markdown = join(outDir, 'report.md');
  await writeFile(markdown, markdownReport(run, charts, ratioCharts));
  const saved: SavedFiles = { json, latest, markdown, charts: chartPaths };
  if (saveBaseline) {
    saved.baseline = join(outDir, 'baseline.json');
    await writeFile(saved.baseline, text);
  }
  return saved;
}
