// A deploy script's run in a process of its own (script-child.ts), as deploy scripts run: the
// in-process rows run on code the bench has long optimized, a script's first puts do not.
import { existsSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { ratioGate } from '../gates.js';
import { makeTempDir, measure, runJsonChild, toMeasurement, type Subject } from '../harness.js';
import type { GateResult, Measurement } from '../results.js';
import { PUTS_PER_SESSION, sessionRecords, sessionSampling, type SuiteContext } from './context.js';

/** What the child is asked to run, as a JSON file. */
export interface ScriptTask {
  /** `factory`: createStateStore() in `cwd`; `leveldb`: a LevelDB store with sync: true in `cwd`. */
  store: 'factory' | 'leveldb';
  cwd: string;
  /** The records to put, printed losslessly (stringifyLossless). */
  records: string;
}

/** The built child entry (dist/script-child.js) beside the bench's other entries. */
function scriptChildPath(packageDir: string): string {
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
function freshScriptSubjects(
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

/**
 * A script's run (open, PUTS_PER_SESSION durable puts, close) in a fresh process, createStateStore()
 * on a copy of the walk's project against LevelDB sync: true: the run as each child timed it, the
 * package import before it, and the two together (what a script pays in all: the INFO ratio).
 */
export async function freshScriptRow(
  context: SuiteContext,
  { project, leveldbDir, size, phase }: { project: string; leveldbDir: string; size: number; phase: string },
  rewrite: (i: number) => DeploymentRecord,
  measurements: Measurement[],
  dirs: string[],
): Promise<GateResult[]> {
  if (!existsSync(scriptChildPath(context.packageDir))) {
    context.log(`factory ${size} records: fresh-process rows skipped (${scriptChildPath(context.packageDir)} not built)`);
    return [];
  }
  const copy = await makeTempDir('factory-fresh');
  dirs.push(copy);
  await cp(project, join(copy, 'project'), { recursive: true });
  const fresh = freshScriptSubjects(context.packageDir, { project: join(copy, 'project'), leveldbDir, scratch: copy }, (round) => sessionRecords(rewrite, round));
  // Short names: the console's tables stay within 100 columns.
  const run = `fresh script ${phase}`;
  const total = `fresh script ${phase} + import`;
  const sampling = { ...sessionSampling(context), warmup: 1 };
  const base = { suite: 'factory' as const, size };
  measurements.push(
    ...(await measure(
      fresh.subjects,
      {
        ...base,
        operation: run,
        itemsPerRun: PUTS_PER_SESSION,
        note: `a script's run in a new process each time (its own figure: open, ${PUTS_PER_SESSION} durable puts, close); createStateStore() vs LevelDB sync: true`,
      },
      sampling,
    )),
  );
  // The same children's import before their run, and both together; the warm-up rounds are not kept.
  const timed = (name: string) => [...(fresh.times.get(name) ?? [])].filter(([round]) => round >= sampling.warmup).map(([, t]) => t);
  for (const name of fresh.times.keys()) {
    measurements.push(
      toMeasurement(name, timed(name).map((t) => t.importMs), {
        ...base,
        operation: 'fresh script import',
        itemsPerRun: 1,
        note: 'the package a script imports (@deploystate/migrator vs @deploystate/backend-leveldb, core included), in the same children',
      }),
      toMeasurement(name, timed(name).map((t) => t.importMs + t.ms), {
        ...base,
        operation: total,
        itemsPerRun: PUTS_PER_SESSION,
        note: 'the import and the run, as one script pays them (node\'s own start aside)',
      }),
    );
  }
  return [
    ratioGate(
      { name: `info: a script in ${phase}, fresh process (import and run)`, limit: null, comparison: '<=', source: 'what a deploy script pays, import and first puts and all' },
      measurements,
      { suite: 'factory', operation: total, candidate: 'factory', reference: 'leveldb sync', size },
      false,
    ),
  ];
}
