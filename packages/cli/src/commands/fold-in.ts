// `deploystate fold-in`: after cut-over, brings LevelDB's later changes (a teammate's clone that
// wrote before it pulled) into the JSON side that deploy scripts now read; keys changed on both
// sides are listed and left alone.
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { verdict } from '../render.js';
import { commitLines } from '../commit-hint.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const from = options.from === undefined ? undefined : resolve(ctx.cwd, String(options.from));
  const dryRun = options.dryRun === true;
  const report = await withMigration(ctx, async (migration) => {
    if (!dryRun) {
      const preview = await migration.foldIn({ ...(from !== undefined && { from }), dryRun: true });
      if (preview.folded.length > 0)
        await ctx.confirm('fold-in', [
          `write ${preview.folded.length} LevelDB change(s) since cut-over into ${ctx.paths.deployments}: ${preview.folded.map((c) => `${c.change} ${c.key}`).join(', ')}`,
        ]);
    }
    return migration.foldIn({ ...(from !== undefined && { from }), dryRun });
  });
  if (report.conflicts.length > 0) ctx.exitCode = 1;
  const commit = !dryRun && report.folded.length > 0 ? await commitLines(ctx) : [];
  const p = ctx.out.paint;
  ctx.out.result(report, () => [
    `LevelDB ${report.from}: ${report.since.changes.length} change(s) since cut-over at ${report.since.cutoverAt}`,
    ...report.folded.map((c) => `  ${dryRun ? 'would fold' : p.green('folded')}   ${c.change.padEnd(7)} ${c.key}`),
    ...report.alreadyThere.map((key) => p.dim(`  already in JSON  ${key}`)),
    ...report.conflicts.map((c) => p.red(`  conflict ${c.change.padEnd(7)} ${c.key} (changed in JSON too since cut-over: decide by hand)`)),
    verdict(
      report.conflicts.length === 0,
      p,
      `${dryRun ? 'would fold' : 'folded'} ${report.folded.length} change(s) into the JSON side`,
      `${report.conflicts.length} key(s) changed on both sides since cut-over; the others ${dryRun ? 'would be' : 'were'} folded`,
    ),
    ...commit,
  ]);
}
