// Child process entry: one deploy script's run in a fresh process, for the factory suite's
// fresh-process rows. The package is imported, the store made and opened, the given records put one
// at a time, the store closed; prints one JSON line: the milliseconds of the run (`ms`: everything a
// script's first puts pay in a new process, code not yet optimized, native bindings loaded, every
// file's first read and lock) and of the import before it (`importMs`). Node's own start is in neither.
import { parseLossless, type DeploymentRecord } from '@deploystate/core';
import { loadBackend, loadMigrator } from './loaders.js';
import { scriptRun } from './suites/context.js';

/** What the child is asked to run (see runScriptChild in suites/factory.ts). */
export interface ScriptTask {
  /** `factory`: createStateStore() in `cwd`; `leveldb`: a LevelDB store with sync: true in `cwd`. */
  store: 'factory' | 'leveldb';
  cwd: string;
  /** The records to put, printed losslessly (stringifyLossless). */
  records: string;
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ScriptTask;
  const records = parseLossless(task.records) as DeploymentRecord[];
  const importing = performance.now();
  const loaded = task.store === 'factory' ? await loadMigrator() : await loadBackend('leveldb');
  if (!loaded.ok) throw new Error(loaded.reason);
  const importMs = performance.now() - importing;
  const api = loaded.value;
  const make = () => ('createStateStore' in api ? api.createStateStore({ cwd: task.cwd, env: {} }) : api.create(task.cwd, true));
  const started = performance.now();
  await scriptRun(make, (i) => records[i] as DeploymentRecord, records.length);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, importMs })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
