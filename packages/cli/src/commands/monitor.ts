// `deploystate monitor`: follows a copy running in another terminal by polling the progress file
// the copy writes (<stateDir>/progress.json) and the state file, and asks the migration lock whether
// the copy's process still runs; it never opens a store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLossless, sleep } from '@deploystate/core';
import type { CopyProgress, MigrationStateFile } from '@deploystate/migrator';
import { basename } from 'node:path';
import type { Context } from '../context.js';
import { wholeNumberOption } from '../number-option.js';
import { requireStore, stateDirOf } from '../migration.js';

interface Snapshot {
  progressFile: string;
  /** This copy's last progress (written at each network file's end); null before its first (an older run's is left out). */
  progress: (CopyProgress & Record<string, unknown>) | null;
  phase: string | null;
  copy: MigrationStateFile['copy'];
  running: boolean;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return parseLossless(await readFile(file, 'utf8'), { source: file });
  } catch (error) {
    // A missing file is an answer (nothing running); a half-written one is read again next poll.
    if ((error as { code?: unknown }).code === 'ENOENT') return null;
    if ((error as { code?: unknown }).code === 'CORRUPTED') return undefined;
    // Node names no path for some of these (EISDIR): the operator is told which file.
    throw Object.assign(error as object, { path: (error as { path?: unknown }).path ?? file });
  }
}

async function readStateFile(stateDir: string): Promise<MigrationStateFile | null> {
  return ((await readJson(join(stateDir, 'state.json'))) ?? null) as MigrationStateFile | null;
}

const unfinished = (copy: MigrationStateFile['copy']): boolean => copy?.startedAt !== undefined && copy.completedAt === undefined;

/**
 * Whether a `migrate` holds the migration lock, as the operating system says (migrator's copyRunning): a
 * copy's process holds it from before the copy's start is recorded, so one that has written no
 * progress yet is running, and one killed holds nothing, whatever progress.json says. The migrator
 * is loaded only when a copy is unfinished.
 */
async function copyProcessRuns(ctx: Context, stateDir: string): Promise<boolean> {
  const { copyRunning, stateFiles } = await import('@deploystate/migrator');
  return copyRunning(stateFiles({ leveldb: ctx.paths.leveldb, deployments: ctx.paths.deployments, stateDir }));
}

async function snapshot(ctx: Context, stateDir: string, previous: Snapshot | undefined): Promise<Snapshot> {
  const progressFile = join(stateDir, 'progress.json');
  const read = await readJson(progressFile);
  let stateFile = await readStateFile(stateDir);
  let running = false;
  if (unfinished(stateFile?.copy ?? null)) {
    running = await copyProcessRuns(ctx, stateDir);
    // A copy records its end before it lets the lock go: read after a free lock, the state says
    // whether the copy finished in between (completed) or not (stopped: a crash, a kill, Ctrl-C).
    if (!running) stateFile = await readStateFile(stateDir);
  }
  const copy = stateFile?.copy ?? null;
  const latest = read === undefined ? (previous?.progress ?? null) : (read as Snapshot['progress']);
  // Progress older than the copy's start is a previous run's: it says nothing of this one.
  const progress = typeof latest?.at === 'string' && copy?.startedAt !== undefined && latest.at >= copy.startedAt ? latest : null;
  return { progressFile, progress, phase: stateFile?.phase ?? null, copy, running };
}

const RESUME_HINT = 'continue it with `deploystate migrate --resume`';

/** Where the copy is when none runs: never started, completed, or stopped before the end. */
function notRunning(current: Snapshot): { state: 'none' | 'completed' | 'stopped'; text: string } {
  if (current.copy?.completedAt !== undefined) return { state: 'completed', text: `no copy is running; the last one completed at ${current.copy.completedAt}` };
  if (current.copy?.startedAt !== undefined) {
    const reached = current.progress === null ? 'before it recorded any progress' : `after ${current.progress.done} record(s)`;
    return { state: 'stopped', text: `no copy is running; the last one stopped ${reached} (its process is gone): ${RESUME_HINT}` };
  }
  return { state: 'none', text: 'no copy is running and none has started: start one with `deploystate migrate`' };
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  requireStore(ctx);
  const stateDir = stateDirOf(ctx);
  const interval = wholeNumberOption(options.interval, '--interval', 100) ?? 1000;
  const once = options.once === true || ctx.json;
  let current = await snapshot(ctx, stateDir, undefined);
  const p = ctx.out.paint;
  if (once) {
    const idle = current.running ? undefined : notRunning(current);
    // A copy whose process is gone is a check that did not pass, as in the following form.
    if (idle?.state === 'stopped') ctx.fail('CHECK_FAILED', idle.text, undefined, RESUME_HINT);
    ctx.out.result({ ...current, copyState: idle?.state ?? 'running' }, () => {
      const pr = current.progress;
      return [
        `phase ${current.phase ?? 'not started'}; ${idle === undefined ? p.cyan('a copy is running') : idle.text}`,
        ...(pr
          ? [
              `${pr.totalKnown === false ? `${pr.done} records` : `${pr.done}/${pr.total} records`}, ${pr.rate.toFixed(1)} rec/s${pr.totalKnown === false || !current.running ? '' : `, ETA ${Math.round(pr.etaMs / 1000)}s`}${pr.file ? `, ${pr.file}` : ''}`,
            ]
          : []),
      ];
    });
    return;
  }
  const idle = current.running ? undefined : notRunning(current);
  if (idle !== undefined && idle.state !== 'none') {
    // Nothing to follow: say where the copy is and stop, instead of waiting for a copy that will not come.
    if (idle.state === 'stopped') ctx.fail('CHECK_FAILED', idle.text, undefined, RESUME_HINT);
    ctx.out.say(idle.state === 'completed' ? p.green(`✔ ${idle.text}`) : p.yellow(idle.text));
    return;
  }
  ctx.out.info(`watching ${current.progressFile} (Ctrl-C to stop)`);
  if (idle !== undefined) ctx.out.info(`${idle.text}; waiting for it in another terminal`);
  const bar = ctx.out.progress('copy');
  ctx.onInterrupt(() => 'monitor stopped watching; it changes nothing, and the copy (if one runs) goes on');
  for (;;) {
    if (current.progress && current.running)
      bar.update({
        done: current.progress.done,
        total: current.progress.total,
        totalKnown: current.progress.totalKnown,
        rate: current.progress.rate,
        etaMs: current.progress.etaMs,
        ...(current.progress.file !== undefined && { label: basename(current.progress.file) }),
      });
    if (current.copy?.completedAt !== undefined && !current.running) break;
    if (!current.running && current.copy?.startedAt !== undefined) break;
    await sleep(interval);
    current = await snapshot(ctx, stateDir, current);
  }
  // A copy that completed between two looks: its row ends full, not at the last look's count.
  if (current.copy?.completedAt !== undefined && current.progress)
    bar.update({
      done: Math.max(current.progress.done, current.progress.total),
      total: current.progress.total,
      totalKnown: current.progress.totalKnown,
      rate: current.progress.rate,
      etaMs: 0,
    });
  bar.finish();
  const end = notRunning(current);
  if (end.state === 'stopped') ctx.fail('CHECK_FAILED', end.text, undefined, RESUME_HINT);
  ctx.out.say(end.state === 'completed' ? p.green(`✔ copy completed at ${current.copy?.completedAt ?? '?'}`) : p.yellow(end.text));
}
