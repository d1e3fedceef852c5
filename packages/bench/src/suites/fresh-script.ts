// A deploy script's run in a process of its own (script-child.ts), as deploy scripts run: the
// in-process script rows run in the bench's process, whose code is long optimized by then; a
// script's first puts run before the JIT has optimized anything and pay every file's first read.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { runChild, type Subject } from '../harness.js';
import type { ScriptTask } from '../script-child.js';

/** The built child entry (dist/script-child.js) beside the bench's other entries. */
export function scriptChildPath(packageDir: string): string {
  return join(packageDir, 'dist', 'script-child.js');
}

/** What a child reports: the run's milliseconds and the package import's before it. */
export interface ScriptTimes {
  ms: number;
  importMs: number;
}

/** Runs one script in a fresh process; resolves to the times the child measured. */
export async function runScriptChild(childPath: string, task: ScriptTask): Promise<ScriptTimes> {
  const outcome = await runChild(process.execPath, [childPath, JSON.stringify(task)], { timeoutMs: 60_000 });
  const line = outcome.stdout.trim().split('\n').pop() ?? '';
  if (outcome.code !== 0 || !line.startsWith('{')) {
    throw new Error(`script child (${task.store}) exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`);
  }
  return JSON.parse(line) as ScriptTimes;
}

/**
 * The two self-timed subjects of a fresh-process row: createStateStore() in `project` (a copy of
 * the walk's project, so no store of the bench's process holds its files) and LevelDB sync: true
 * in `leveldbDir` (closed in this process). Each run puts `records(round)`; each subject's import
 * times are kept in `imports` by its name. Undefined when the child entry is not built.
 */
export function freshScriptSubjects(
  packageDir: string,
  project: string,
  leveldbDir: string,
  records: (round: number) => DeploymentRecord[],
): { subjects: Subject[]; imports: Map<string, number[]> } | undefined {
  const child = scriptChildPath(packageDir);
  if (!existsSync(child)) return undefined;
  const imports = new Map<string, number[]>();
  const subject = (name: string, store: ScriptTask['store'], cwd: string): Subject => ({
    name,
    selfTimed: true,
    run: async (round: number) => {
      const times = await runScriptChild(child, { store, cwd, records: stringifyLossless(records(round)) });
      imports.set(name, [...(imports.get(name) ?? []), times.importMs]);
      return times.ms;
    },
  });
  return { subjects: [subject('factory', 'factory', project), subject('leveldb sync', 'leveldb', leveldbDir)], imports };
}
