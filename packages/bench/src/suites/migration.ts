// Migration: copy then verify (the migrator's own code) against the raw limit measured in the same
// run on the same records (one LevelDB scan, lossless parse and print, one fsynced file per chain),
// and the peak RSS of a real `deploystate migrate` process against the largest network file.
import { existsSync } from 'node:fs';
import { cp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateRecords, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { LIMITS, makeGate } from '../gates.js';
import { median } from '../stats.js';
import { makeTempDir, removeTempDir, roundOrder, runChild, timeOnce, toMeasurement } from '../harness.js';
import { dataset, loadBackend, loadLevel, loadMigrator, type BackendFactory, type LevelCtor, type MigratorApi, type RawLevel } from '../loaders.js';
import type { GateResult, Measurement, MemoryMeasurement } from '../results.js';
import { emptyOutcome, type SuiteContext, type SuiteOutcome } from './context.js';
import { networkDocuments } from './codec.js';
import { cliEntry } from './startup.js';

/** The size the migration's own aims are stated at: copy + verify and the copy's memory at 100k records. */
export const MIGRATION_AIM_SIZE = 100_000;

/** Sizes the migration suite runs: the asked sizes from 10k up, and always 100k (quick: one small size). */
export function migrationSizes(sizes: readonly number[], quick: boolean): number[] {
  if (quick) return [1000];
  return [...new Set([...sizes.filter((s) => s >= 10_000), MIGRATION_AIM_SIZE])].sort((a, b) => a - b);
}


// The batches the LevelDB store's scan reads (leveldb-store.ts): the raw limit reads as well as the copy does.
const RAW_BATCH_ROWS = 1000;
const RAW_BATCH_BYTES = 64 * 1024;

/** Every value in key order, in batches, the next batch read while this one is worked on (as the store's scan). */
async function* scanValues(db: RawLevel): AsyncGenerator<string[]> {
  const iterator = db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8', highWaterMarkBytes: RAW_BATCH_BYTES });
  let ahead: Promise<Array<[string, string]>> | undefined = iterator.nextv(RAW_BATCH_ROWS);
  try {
    for (;;) {
      const rows: Array<[string, string]> = await ahead;
      ahead = undefined;
      if (rows.length === 0) return;
      ahead = iterator.nextv(RAW_BATCH_ROWS);
      yield rows.map(([, value]) => value);
    }
  } finally {
    if (ahead) await ahead.catch(() => undefined);
    await iterator.close();
  }
}

/** Writes `text` to `target` durably, as the copy writes a network file: a temp file, fsync, rename, fsync of the folder. */
async function writeDurably(target: string, text: string): Promise<void> {
  const handle = await open(`${target}.tmp`, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${target}.tmp`, target);
  const folder = await open(dirname(target), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/**
 * The least any migration must do: read every value once in one scan, parse it losslessly, print
 * each chain's document and write it durably, one file per chain (as the copy writes them).
 */
async function rawLimit(Level: LevelCtor, leveldbPath: string, outDir: string): Promise<number> {
  const db = new Level(leveldbPath, { valueEncoding: 'utf8', createIfMissing: false });
  await db.open();
  let count = 0;
  let chain: DeploymentRecord[] = [];
  const flush = async (): Promise<void> => {
    const [doc] = networkDocuments(chain);
    if (doc) await writeDurably(join(outDir, `raw-limit-${String(doc.chainId)}.json`), stringifyLossless(doc, 2));
    chain = [];
  };
  try {
    // Key order groups each chain, so one chain is held at a time, as the copy holds it.
    for await (const values of scanValues(db)) {
      for (const value of values) {
        const record = parseLossless(value) as DeploymentRecord;
        if (chain.length > 0 && chain[0]?.chainId !== record.chainId) await flush();
        chain.push(record);
        count++;
      }
    }
    await flush();
  } finally {
    await db.close();
  }
  return count;
}

/**
 * A LevelDB folder holding `records`, settled: opened once more after the writes, as any store a
 * deploy script has opened since is. A store fresh from its writes holds them all in its log, which
 * the next open replays into a table (about a second at 100k records): the copy never pays for that
 * (`dual-write enable` opens the store before it), so the raw limit must not either.
 */
async function seeded(factory: BackendFactory, records: readonly DeploymentRecord[]): Promise<string> {
  const cwd = await makeTempDir('migration');
  const store = factory.create(cwd, false);
  await store.open();
  await store.putMany(records);
  await store.close();
  const settled = factory.create(cwd, false);
  await settled.open();
  await settled.close();
  return cwd;
}

async function migrateOnce(migrator: MigratorApi, cwd: string): Promise<{ copy: number; verify: number }> {
  const migration = await migrator.open({ cwd });
  try {
    await migration.enableDualWrite();
    const copy = await timeOnce(() => migration.migrate());
    const verify = await timeOnce(() => migration.verify());
    return { copy, verify };
  } finally {
    await migration.close?.();
  }
}

/** The largest `*.json` file the copy wrote, and all of them together, in bytes. */
async function networkFileSizes(deployments: string): Promise<{ largest: number; total: number; count: number }> {
  let largest = 0;
  let total = 0;
  let count = 0;
  for (const name of await readdir(deployments)) {
    if (!name.endsWith('.json')) continue;
    const { size } = await stat(join(deployments, name));
    largest = Math.max(largest, size);
    total += size;
    count++;
  }
  return { largest, total, count };
}

/** Chains the memory shapes spread records over: the five sample networks, then unregistered ids. */
const memoryChains = (count: number): number[] => [
  56,
  97,
  84532,
  11155420,
  23295,
  ...Array.from({ length: Math.max(0, count - 5) }, (_, i) => 990_001 + i),
];

/** How many times more records (and files) the second memory shape holds, with the same largest file. */
export const MEMORY_SPREAD = 5;

/** The aim: the `migrate` process's peak RSS above a bare node's within this many times the largest network file. */
export const COPY_RSS_PER_FILE_LIMIT = 8;

function withoutInitCwd(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { INIT_CWD: _ignored, ...rest } = env;
  return rest;
}

/** Peak RSS (bytes) of `node [probe] ...args` run in `cwd` with default Node flags; the probe reports it at exit. */
async function peakRss(context: SuiteContext, args: readonly string[], cwd: string, what: string): Promise<number> {
  const report = join(cwd, `.rss-${process.pid}-${Date.now()}`);
  const probe = pathToFileURL(join(dirname(context.workerPath), 'rss-probe.js')).href;
  const outcome = await runChild(process.execPath, ['--import', probe, ...args], {
    cwd,
    // Without INIT_CWD: `pnpm bench` sets it, and the CLI would take it for the project folder.
    env: { ...withoutInitCwd(process.env), DEPLOYSTATE_BENCH_RSS_FILE: report, NO_COLOR: '1' },
    timeoutMs: 900_000,
  });
  if (outcome.code !== 0) throw new Error(`${what} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`);
  const bytes = Number(await readFile(report, 'utf8'));
  await rm(report, { force: true });
  if (!Number.isFinite(bytes) || bytes <= 0) throw new Error(`${what}: no peak RSS reported`);
  return bytes;
}

interface CliCopyMemory {
  records: number;
  /** Peak RSS of the `deploystate migrate` process, bytes. */
  peak: number;
  /** Peak RSS of the `deploystate verify` process run after it, bytes. */
  verifyPeak: number;
  /** Peak RSS of `node -e 0` measured beside it, bytes. */
  bare: number;
  files: { largest: number; total: number; count: number };
}

/** `deploystate migrate` as a user runs it (a real CLI process, default Node flags) on a freshly seeded folder. */
async function cliCopyMemory(context: SuiteContext, factory: BackendFactory, records: readonly DeploymentRecord[]): Promise<CliCopyMemory> {
  const bin = cliEntry(context.packageDir);
  const cwd = await seeded(factory, records);
  try {
    await peakRss(context, [bin, 'dual-write', 'enable', '--yes'], cwd, 'deploystate dual-write enable');
    const peak = await peakRss(context, [bin, 'migrate', '--yes', '--json'], cwd, 'deploystate migrate');
    const verifyPeak = await peakRss(context, [bin, 'verify', '--json'], cwd, 'deploystate verify');
    const bare = await peakRss(context, ['-e', '0'], cwd, 'node -e 0');
    return { records: records.length, peak, verifyPeak, bare, files: await networkFileSizes(join(cwd, 'deployments')) };
  } finally {
    await removeTempDir(cwd);
  }
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * The `migrate` process's peak RSS at two shapes with the same largest network file: `size`
 * records over 5 files, and MEMORY_SPREAD times as many over MEMORY_SPREAD times as many files
 * (at the smaller sizes only: it is there to show the store's size does not count). Bounded by
 * the largest file, the peak stays put; bounded by the store, it grows MEMORY_SPREAD-fold.
 */
async function measureCopyMemoryShapes(
  context: SuiteContext,
  factory: BackendFactory,
  size: number,
): Promise<{ memory: MemoryMeasurement[]; gates: GateResult[] }> {
  const shapes = [await cliCopyMemory(context, factory, generateRecords(size, memoryChains(5)))];
  if (size < MIGRATION_AIM_SIZE)
    shapes.push(await cliCopyMemory(context, factory, generateRecords(size * MEMORY_SPREAD, memoryChains(5 * MEMORY_SPREAD))));
  const source = 'our target: the migrate process grows with the largest network file, not the store';
  // One process's peak against the largest file: a memory row and a gate (`limit` null: information).
  const perFile = (m: CliCopyMemory, command: 'migrate' | 'verify', peak: number, limit: number | null) => {
    const above = Math.max(0, peak - m.bare);
    const memory: MemoryMeasurement = {
      suite: 'migration',
      subject: `deploystate ${command} ${m.records} in ${m.files.count} files`,
      size,
      rssBytes: peak,
      heapUsedBytes: 0,
      rssDeltaBytes: above,
    };
    const name = `${command} peak RSS above node -e 0 / largest network file (${m.records} records, ${m.files.count} files)`;
    const spec =
      limit === null
        ? { name: `info: ${name}`, limit, comparison: '<=' as const, source: 'not an aim: verify parses whole files on two worker threads' }
        : { name, title: `The ${command} process needs at most ${limit}x the largest network file`, limit, comparison: '<=' as const, source };
    const gate = makeGate(
      spec,
      'migration',
      size,
      m.files.largest > 0 ? above / m.files.largest : null,
      `peak RSS ${mib(peak)} - node -e 0 ${mib(m.bare)} = ${mib(above)}; largest file ${mib(m.files.largest)}; all files ${mib(m.files.total)}`,
      // Below the aim's size the CLI's fixed footprint (its modules) outweighs a small file: INFO.
      limit !== null && size >= MIGRATION_AIM_SIZE,
    );
    return { memory, gate };
  };
  // Verify's peak beside the copy's, not gated (the aim is the copy's): it parses whole files on two
  // worker threads, and what it holds grows with the store (README, limits).
  const rows = shapes.flatMap((m) => [perFile(m, 'migrate', m.peak, COPY_RSS_PER_FILE_LIMIT), perFile(m, 'verify', m.verifyPeak, null)]);
  const memory = rows.map((row) => row.memory);
  const gates = rows.map((row) => row.gate);
  const [narrow, wide] = shapes;
  if (narrow && wide) {
    const growth = (m: CliCopyMemory): number => Math.max(0, m.peak - m.bare);
    gates.push(
      makeGate(
        {
          name: `migrate peak RSS growth at ${MEMORY_SPREAD}x the records, same largest file`,
          limit: null,
          comparison: '<=',
          source: `${source}: ~1x when bounded by the file, ~${MEMORY_SPREAD}x when by the store`,
        },
        'migration',
        size,
        growth(narrow) > 0 ? growth(wide) / growth(narrow) : null,
        `${mib(growth(wide))} for ${wide.records} records in ${wide.files.count} files (largest ${mib(wide.files.largest)}) vs ${mib(growth(narrow))} for ${narrow.records} in ${narrow.files.count} (largest ${mib(narrow.files.largest)})`,
        false,
      ),
    );
  }
  return { memory, gates };
}

export async function migrationSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const sizes = context.project ? [context.project.size] : migrationSizes(context.sizes, context.quick);
  if (sizes.length === 0) return emptyOutcome('skipped: no size >= 10000 asked (see --sizes)');
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const Level = loadLevel();

  const measurements: Measurement[] = [];
  const memory: MemoryMeasurement[] = [];
  const gates: GateResult[] = [];
  const rounds = context.light ? 1 : 3;
  for (const size of sizes) {
    const records = context.project ? dataset(size) : generateRecords(size);
    const samples = { raw: [] as number[], copy: [] as number[], verify: [] as number[], total: [] as number[] };
    context.log(`migration ${size} records, ${rounds} round(s)`);
    // Seeded once; each side of each round gets its own copy of the folder.
    const seed = await seeded(leveldb.value, records);
    for (let round = 0; round < rounds; round++) {
      // Each side gets its own freshly seeded folder; the lead alternates between rounds.
      for (const side of roundOrder(['raw', 'migrator'] as const, round)) {
        const cwd = await makeTempDir('migration');
        try {
          await cp(seed, cwd, { recursive: true });
          if (side === 'raw') {
            samples.raw.push(await timeOnce(() => rawLimit(Level, join(cwd, 'leveldb'), cwd)));
          } else {
            const t = await migrateOnce(migrator.value, cwd);
            samples.copy.push(t.copy);
            samples.verify.push(t.verify);
            samples.total.push(t.copy + t.verify);
          }
        } finally {
          await removeTempDir(cwd);
        }
      }
    }
    await removeTempDir(seed);
    const base = { suite: 'migration' as const, size, itemsPerRun: size };
    const raw = toMeasurement('raw limit', samples.raw, {
      ...base,
      operation: 'migrate',
      note: 'one LevelDB scan, lossless parse and print, one fsynced file per chain',
    });
    const total = toMeasurement('copy+verify', samples.total, { ...base, operation: 'migrate', note: 'Migration.migrate() then verify()' });
    measurements.push(
      raw,
      total,
      toMeasurement('copy', samples.copy, { ...base, operation: 'migrate', note: 'Migration.migrate()' }),
      toMeasurement('verify', samples.verify, { ...base, operation: 'migrate', note: 'Migration.verify()' }),
    );
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    gates.push(
      makeGate(
        LIMITS.migration,
        'migration',
        size,
        total.latencyMs.p50 / raw.latencyMs.p50,
        `p50 copy+verify ${seconds(total.latencyMs.p50)} (copy ${seconds(median(samples.copy))}, verify ${seconds(median(samples.verify))}) / p50 raw limit ${seconds(raw.latencyMs.p50)}`,
      ),
    );
    // Synthetic shapes, run through the CLI: a project's short run leaves them out.
    if (context.project && !context.project.long) continue;
    if (!existsSync(cliEntry(context.packageDir))) {
      context.log('migration memory skipped: @deploystate/cli not available beside the bench');
      continue;
    }
    context.log(`migration memory: deploystate migrate at ${size} records (CLI child processes)`);
    const copyMemory = await measureCopyMemoryShapes(context, leveldb.value, size);
    memory.push(...copyMemory.memory);
    gates.push(...copyMemory.gates);
  }
  return { measurements, memory, gates };
}
