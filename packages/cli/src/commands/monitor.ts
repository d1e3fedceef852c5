// `deploystate monitor`: follows a copy running in another terminal by polling the progress file
// the copy writes (<stateDir>/progress.json) and the state file; it never opens a store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLossless } from '@deploystate/core';
import type { CopyProgress, MigrationStateFile } from '@deploystate/migrator';
import type { Context } from '../context.js';
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
    throw error;
  }
}

async function snapshot(stateDir: string, previous: Snapshot | undefined): Promise<Snapshot> {
  const progressFile = join(stateDir, 'progress.json');
  const progress = await readJson(progressFile);
  const state = await readJson(join(stateDir, 'state.json'));
  const stateFile = (state ?? null) as MigrationStateFile | null;
  const copy = stateFile?.copy ?? null;
  const current = progress === undefined ? (previous?.progress ?? null) : (progress as Snapshot['progress']);
  const running = copy !== null && copy.startedAt !== undefined && copy.completedAt === undefined;
  return { progressFile, progress: current, phase: stateFile?.phase ?? null, copy, running };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  requireStore(ctx);
  const stateDir = stateDirOf(ctx);
  const interval = Math.max(100, Number(options.interval ?? 1000) || 1000);
  const once = options.once === true || ctx.json;
  let current = await snapshot(stateDir, undefined);
  if (once) {
    const p = ctx.out.paint;
    ctx.out.result(current, () => {
      if (!current.progress)
        return [`no copy has reported progress yet (looked for ${current.progressFile}); phase ${current.phase ?? 'not started'}`];
      const pr = current.progress;
      return [
        `phase ${current.phase ?? '?'}; copy ${current.running ? p.cyan('running') : current.copy?.completedAt ? p.green(`completed ${current.copy.completedAt}`) : 'not running'}`,
        `${pr.done}/${pr.total} records, ${pr.rate.toFixed(1)} rec/s, ETA ${Math.round(pr.etaMs / 1000)}s${pr.file ? `, ${pr.file}` : ''}`,
      ];
    });
    return;
  }
  ctx.out.info(`watching ${current.progressFile} (Ctrl-C to stop)`);
  const bar = ctx.out.progress('copy');
  let waited = false;
  for (;;) {
    if (current.progress)
      bar.update({
        done: current.progress.done,
        total: current.progress.total,
        rate: current.progress.rate,
        etaMs: current.progress.etaMs,
        ...(current.progress.file !== undefined && { label: current.progress.file }),
      });
    else if (!waited) {
      ctx.out.info('waiting for a copy to start (`deploystate migrate` in another terminal)');
      waited = true;
    }
    if (current.copy?.completedAt !== undefined && !current.running && current.progress) break;
    await sleep(interval);
    current = await snapshot(stateDir, current);
  }
  bar.finish();
  ctx.out.say(ctx.out.paint.green(`✔ copy completed at ${current.copy?.completedAt ?? '?'}`));
}
