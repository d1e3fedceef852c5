// `deploystate repair-files`: puts back, from the journal, the records another program's rewrite of
// a network file dropped or changed. Shows what it will do, asks, then lists what it did.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { table } from '../output.js';
import { verdict } from '../render.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const p = ctx.out.paint;
  await withMigration(ctx, async (migration) => {
    const repair = { removed: options.removed === true };
    const plan = await migration.planFileRepair(repair);
    if (options.accept === true) return accept(ctx, plan.actions.map((a) => `${a.key} in ${a.file} (${a.kind})`));
    const rows = plan.actions.map((a) => [a.file, a.key, a.kind, a.action === 'put' ? `put back (${source(a.seq)})` : 'delete again']);
    const elsewhere = [
      ...plan.changedElsewhere.map((c) =>
        c.kind === 'removed'
          ? p.yellow(
              `  left alone: ${c.key} is gone from ${c.file}, removed without the store (a teammate's delete pulled through git, or a program that rewrote the file); if it was not meant, \`deploystate restore ${c.key.split('-')[0]} --list\` shows the backups`,
            )
          : c.kind === 'other-branch'
            ? p.dim(`  left alone: ${c.key} is committed on another branch, not in this checkout of ${c.file} (it comes back with a merge of that branch)`)
            : p.dim(`  left alone: ${c.key} in ${c.file} holds a later record (changed elsewhere)`),
      ),
      ...plan.unrepairable.map((f) =>
        p.red(`  cannot repair ${f.key} in ${f.file} (${f.kind}): no exact copy in the journal or LevelDB; see \`deploystate restore ${f.key.split('-')[0]} --list\``),
      ),
      // A file that does not parse was checked for nothing: never a green verdict.
      ...plan.unreadable.map((u) => p.red(`  cannot check ${u.file}: ${u.reason}; restore it from its backups (\`deploystate restore <network> --list\`)`)),
    ];
    if (plan.unrepairable.length > 0 || plan.unreadable.length > 0) ctx.exitCode = 1;
    const removed = plan.changedElsewhere.filter((c) => c.kind === 'removed').length;
    if (plan.actions.length === 0 || options.dryRun === true) {
      ctx.out.result(
        { dryRun: options.dryRun === true, actions: plan.actions, changedElsewhere: plan.changedElsewhere, unrepairable: plan.unrepairable, unreadable: plan.unreadable },
        () => [
        ...(rows.length > 0 ? [table(['file', 'key', 'found', 'repair'], rows, p)] : []),
        ...elsewhere,
        plan.actions.length > 0
          ? 'dry run: nothing changed'
          : plan.unreadable.length > 0
            ? p.red(`✘ ${plan.unreadable.length} network file(s) cannot be read: what the store wrote there cannot be checked`)
            : plan.unrepairable.length > 0
              ? p.red('✘ nothing here can be repaired from the journal or LevelDB')
              : removed > 0
                ? p.yellow(`! nothing to put back from the journal, but ${removed} record(s) the store wrote left their file without it (listed above): if they were not meant to go, \`deploystate repair-files --removed\` puts them back (from the journal, or from LevelDB)`)
                : p.green('✔ every network file holds what the store wrote there'),
        ],
      );
      return;
    }
    // Refused before the question, not after a yes: the work tree is git's until its command ends.
    const { assertGitOutOfTheWay } = await import('@deploystate/migrator');
    assertGitOutOfTheWay(ctx.paths.deployments, 'repair-files');
    await ctx.confirm(
      'repair-files',
      plan.actions.map((a) => `${a.action === 'put' ? 'put back' : 'delete again'} ${a.key} in ${a.file} (${a.kind}; ${source(a.seq)})`),
    );
    const report = await migration.repairFiles(plan, repair);
    ctx.out.result(report, () => [
      table(
        ['file', 'key', 'found', 'done'],
        [
          ...report.applied.map((a) => [a.file, a.key, a.kind, a.action === 'put' ? 'put back' : 'deleted again']),
          ...report.skipped.map((a) => [a.file, a.key, a.kind, 'skipped: the file now holds a later record']),
        ],
        p,
      ),
      ...elsewhere,
      verdict(true, p, `repaired ${report.applied.length} record(s); next: \`deploystate verify\``, ''),
    ]);
  });
}

/** The files as they are become the baseline: for records removed or changed on purpose (a teammate's delete through git). */
async function accept(ctx: Context, listed: string[]): Promise<void> {
  const { acceptNetworkFiles, assertGitOutOfTheWay } = await import('@deploystate/migrator');
  // A rebase stopped part-way: the files as they are now are neither side's, no baseline to keep.
  assertGitOutOfTheWay(ctx.paths.deployments, 'repair-files --accept');
  await ctx.confirm('repair-files --accept', [
    'take the network files as they are now as what the store expects',
    ...(listed.length > 0 ? [`stop reporting: ${listed.join(', ')}`] : ['nothing is reported now']),
  ]);
  await acceptNetworkFiles(ctx.migrationOptions());
  ctx.out.result({ accepted: listed }, () => ctx.out.paint.green(`✔ the network files as they are now are the baseline (${listed.length} finding(s) accepted)`));
}

/** Where a put-back record comes from: its journalled write, or (a record the copy or a restore wrote) LevelDB. */
function source(seq: number): string {
  return seq > 0 ? `journal seq ${seq}` : 'from LevelDB';
}
