// A deploy script's run in a process of its own (script-child.ts), as deploy scripts run: the
// in-process rows run on code the bench has long optimized, a script's first puts do not.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { runJsonChild, type Subject } from '../harness.js';
import type { ScriptTask } from '../script-child.js';

/** The built child entry (dist/script-child.js) beside the bench's other entries. */
export function scriptChildPath(packageDir: string): string {
  return join(packageDir, 'dist', 'script-child.js');
}

/** What a child reports: the package import's milliseconds and the run's after it. */
export interface ScriptTimes {
  importMs: number;
  ms: number;
}

/**
 * The two self-timed subjects of a fresh-process row: createStateStore() in `project` (a copy of
 * the walk's project, so no store of the bench's process holds its files) and LevelDB sync: true in
 * `leveldbDir` (closed in this process). Each run puts `records(round)`, handed over in a file in
 * `scratch` (records of any size; an argument is capped); each run's times are kept in `times` by
 * subject and round. The child entry must be built (scriptChildPath).
 */
export function freshScriptSubjects(
  packageDir: string,
  where: { project: string; leveldbDir: string; scratch: string },
  records: (round: number) => DeploymentRecord[],
): { subjects: Subject[]; times: Map<string, Map<number, ScriptTimes>> } {
  const child = scriptChildPath(packageDir);
  const times = new Map<string, Map<number, ScriptTimes>>();
  const subject = (name: string, store: ScriptTask['store'], cwd: string): Subject => ({
    name,
    selfTimed: true,
    run: async (round: number) => {
      const taskFile = join(where.scratch, `task-${store}-${round}.json`);
      const task: ScriptTask = { store, cwd, records: stringifyLossless(records(round)) };
      await writeFile(taskFile, JSON.stringify(task));
      const reported = await runJsonChild<ScriptTimes>([child, taskFile], `script child (${store})`, 60_000);
      const byRound = times.get(name) ?? new Map<number, ScriptTimes>();
      times.set(name, byRound.set(round, reported));
      return reported.ms;
    },
  });
  return {
    subjects: [subject('factory', 'factory', where.project), subject('leveldb sync', 'leveldb', where.leveldbDir)],
    times,
  };
}
