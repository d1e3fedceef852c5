// `deploystate monitor`: follows a copy running in another terminal by polling the progress file
// the copy writes (<stateDir>/progress.json) and the state file; it never opens a store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive, parseLossless, sleep } from '@deploystate/core';
import type { CopyProgress, MigrationStateFile } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { wholeNumberOption } from '../number-option.js';
import { requireStore, stateDirOf } from '../migration.js';

interface Snapshot {
  progressFile: string;
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

async function snapshot(stateDir: string, previous: Snapshot | undefined): Promise<Snapshot> {
  const progressFile = join(stateDir, 'progress.json');
  const progress = await readJson(progressFile);
  const state = await readJson(join(stateDir, 'state.json'));
  const stateFile = (state ?? null) as MigrationStateFile | null;
  const copy = stateFile?.copy ?? null;
  const current = progress === undefined ? (previous?.progress ?? null) : (progress as Snapshot['progress']);
  const unfinished = copy !== null && copy.startedAt !== undefined && copy.completedAt === undefined;
  // An unfinished copy whose process is gone is not running: it stopped (crash or Ctrl-C).
  // (Progress older than the copy's start is a previous run's: its process says nothing about this one.)
  const fresh = typeof current?.at === 'string' && copy?.startedAt !== undefined && current.at >= copy.startedAt;
  const pid = fresh && typeof current?.pid === 'number' ? current.pid : undefined;
  const running = unfinished && (pid === undefined || isProcessAlive(pid));
  return { progressFile, progress: current, phase: stateFile?.phase ?? null, copy, running };
}

/** Where the copy is when none runs: never started, completed, or stopped before the end. */
function notRunning(current: Snapshot): { state: 'none' | 'completed' | 'stopped'; text: string } {
  if (current.copy?.completedAt !== undefined) return { state: 'completed', text: `no copy is running; the last one completed at ${current.copy.completedAt}` };
  if (current.copy?.startedAt !== undefined)
    return {
      state: 'stopped',
      text: `no copy is running; the last one stopped after ${current.progress?.done ?? 0} record(s) (its process is gone): continue it with \`deploystate migrate --resume\``,
    };
  return { state: 'none', text: 'no copy is running and none has started: start one with `deploystate migrate`' };
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  requireStore(ctx);
  const stateDir = stateDirOf(ctx);
  const interval = wholeNumberOption(options.interval, '--interval', 100) ?? 1000;
  const once = options.once === true || ctx.json;
  let current = await snapshot(stateDir, undefined);
  const p = ctx.out.paint;
  if (once) {
    const idle = current.running ? undefined : notRunning(current);
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
    if (idle.state === 'stopped') ctx.fail('CHECK_FAILED', idle.text);
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
        ...(current.progress.file !== undefined && { label: current.progress.file }),
      });
    if (current.copy?.completedAt !== undefined && !current.running) break;
    if (!current.running && current.copy?.startedAt !== undefined) break;
    await sleep(interval);
    current = await snapshot(stateDir, current);
  }
  bar.finish();
  const end = notRunning(current);
  if (end.state === 'stopped') ctx.fail('CHECK_FAILED', end.text);
  ctx.out.say(end.state === 'completed' ? p.green(`✔ copy completed at ${current.copy?.completedAt ?? '?'}`) : p.yellow(end.text));
}
