// `deploystate migrate`: the bulk copy only (Phase 3), with a progress bar; `--demo` runs every
// phase end to end on a fresh sample, which is the README's first command.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { CopyProgress } from '@deploystate/migrator';
import { recordChainFiles } from '../chain-files.js';
import { basename } from 'node:path';
import type { Context } from '../context.js';
import { confirmIfAllowed, withMigration } from '../migration.js';
import { table } from '../output.js';
import { verdict } from '../render.js';
import { commitLines } from '../commit-hint.js';
import { runDemoCommand } from './demo.js';
import { wholeNumberOption } from '../number-option.js';

export function listOption(value: unknown): string[] {
  if (value === undefined || value === false) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  if (options.demo !== undefined && options.demo !== false) {
    const dir = typeof options.demo === 'string' ? resolve(ctx.cwd, options.demo) : await mkdtemp(join(tmpdir(), 'deploystate-demo-'));
    await runDemoCommand(ctx, dir, true);
    return;
  }
  const batchSize = wholeNumberOption(options.batchSize, '--batch-size');
  const exclude = [...new Set([...ctx.config.exclude, ...listOption(options.exclude)])];
  const dryRun = options.dryRun === true;
  const bar = ctx.out.progress(dryRun ? 'dry run' : 'copying');
  let last: CopyProgress | undefined;
  ctx.onInterrupt(() =>
    dryRun
      ? 'the dry run stopped; it wrote nothing'
      : `the copy stopped after ${last?.done ?? 0} record(s)${last?.file !== undefined ? ` (at ${last.file})` : ''}; every network file it finished is complete and written whole, LevelDB is untouched; continue with \`deploystate migrate --resume\``,
  );
  const onProgress = (progress: CopyProgress): void => {
    last = progress;
    bar.update({
      done: progress.done,
      total: progress.total,
      totalKnown: progress.totalKnown,
      rate: progress.rate,
      etaMs: progress.etaMs,
      ...(progress.file !== undefined && { label: basename(progress.file) }),
    });
  };
  const report = await withMigration(ctx, async (migration) => {
    if (!dryRun)
      await confirmIfAllowed(ctx, migration, 'migrate', 'migrate', () => [
        `make the JSON files in ${ctx.paths.deployments} equal LevelDB (${ctx.paths.leveldb})${exclude.length > 0 ? `, minus ${exclude.length} excluded key(s)` : ''}`,
        'overwrite or remove JSON records that differ, each listed, after backing up LevelDB and every file it rewrites',
        'leave LevelDB and the phase as they are (see the change first with `deploystate migrate --dry-run`)',
      ]);
    try {
      return await migration.migrate({
        dryRun,
        resume: options.resume === true,
        exclude,
        onProgress,
        ...(batchSize !== undefined && { batchSize }),
      });
    } finally {
      bar.finish();
    }
  });
  // The files the copy created keep the names they were created under: recorded in the config.
  const recorded = report.dryRun ? [] : await recordChainFiles(ctx);
  // The copy wrote the network files (and the phase file its exclusions, the config the files' names).
  const commit = report.dryRun || (report.nothingToDo && recorded.length === 0) ? [] : await commitLines(ctx);
  const p = ctx.out.paint;
  ctx.out.result({ ...report, ...(recorded.length > 0 && { recordedNetworks: recorded }) }, () => [
    ...(recorded.length > 0
      ? [`recorded in the config: ${recorded.map((n) => `${n.chainId} -> ${n.name}.json`).join(', ')} (commit it; these names never change by themselves)`]
      : []),
    p.bold(
      report.dryRun
        ? 'Dry run: nothing was written'
        : report.nothingToDo
          ? 'Nothing to do: JSON already equals LevelDB'
          : 'Bulk copy finished',
    ),
    // One row per count (not one wide row), so the table reads at 70 columns too.
    table(
      ['records', 'count'],
      [
        ['copied', report.copied],
        ['unchanged', report.unchanged],
        ['overwritten', report.overwritten.length],
        ['removed', report.removed.length],
        ['skipped (newer write)', report.skippedNewer.length],
        ['excluded', report.excluded.length],
      ],
      p,
    ),
    `time ${report.durationMs}ms`,
    // A dry run makes no backup: it says one will keep the old value, never an empty path.
    ...report.overwritten.map((o) => p.yellow(report.dryRun ? `  would overwrite ${o.key} (the old value will be kept in a backup)` : `  overwritten ${o.key} (old value in ${o.backup})`)),
    ...report.removed.map((o) => p.yellow(report.dryRun ? `  would remove ${o.key} (the old value will be kept in a backup)` : `  removed ${o.key} (old value in ${o.backup})`)),
    ...report.skippedNewer.map((key) => p.dim(`  kept newer journalled write of ${key}`)),
    ...(report.files.length > 0 ? ['files:', ...report.files.map((file) => `  ${file}`)] : []),
    // The path on a row of its own, as `restore leveldb` takes its name.
    ...(report.backups.leveldb ? ['LevelDB backup:', `  ${report.backups.leveldb}`] : []),
    `LevelDB digest ${report.leveldbDigest}`,
    verdict(true, p, report.dryRun ? 'dry run complete' : 'copy complete; next: `deploystate verify`', ''),
    ...commit,
  ]);
}
