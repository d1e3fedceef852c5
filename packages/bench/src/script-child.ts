// Child process entry for the factory suite's fresh-process rows: one deploy script's run (import,
// open, puts, close) in a process of its own; prints `{ importMs, ms }` as one JSON line.
import { readFileSync } from 'node:fs';
import type { DeploymentRecord } from '@deploystate/core';
import type { ScriptTask } from './suites/fresh-script.js';

async function main(): Promise<void> {
  const task = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ScriptTask;
  // The import a script does: the package, with core and everything else it loads (nothing of
  // ours is loaded before this point).
  const importing = performance.now();
  const { loadBackend, loadMigrator } = await import('./loaders.js');
  const loaded = task.store === 'factory' ? await loadMigrator() : await loadBackend('leveldb');
  if (!loaded.ok) throw new Error(loaded.reason);
  const importMs = performance.now() - importing;
  const { parseLossless } = await import('@deploystate/core');
  const { scriptRun } = await import('./suites/context.js');
  const records = parseLossless(task.records) as DeploymentRecord[];
  const api = loaded.value;
  const make = () => ('createStateStore' in api ? api.createStateStore({ cwd: task.cwd, env: {} }) : api.create(task.cwd, true));
  // The run: everything a script's first puts pay in a new process (code not yet optimized, native
  // bindings loaded, every file's first read and lock).
  const started = performance.now();
  await scriptRun(make, records);
  process.stdout.write(`${JSON.stringify({ importMs, ms: performance.now() - started })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
