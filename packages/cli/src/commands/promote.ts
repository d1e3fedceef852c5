// `deploystate promote`: dual-write -> json-primary once a clean verify follows the copy. It
// switches the side deploy scripts read, so it asks first; already json-primary is a no-op success.
import type { Context } from '../context.js';
import { confirmIfAllowed, withMigration } from '../migration.js';
import { commitLines } from '../commit-hint.js';

export async function run(ctx: Context): Promise<void> {
  const p = ctx.out.paint;
  const result = await withMigration(ctx, async (migration) => {
    const before = await migration.status();
    if (before.phase === 'json-primary') return { status: before, changed: false };
    await confirmIfAllowed(ctx, migration, 'promote', 'promote', () => [
      `switch phase ${before.phase} -> json-primary: deploy scripts read the JSON files in ${before.paths.deployments}`,
      `keep writing LevelDB second (${before.paths.leveldb}), so \`deploystate rollback\` can come back`,
      'first check the gate again: a clean verify after the copy',
    ]);
    await migration.promote();
    return { status: await migration.status(), changed: true };
  });
  const { status, changed } = result;
  const commit = changed ? await commitLines(ctx) : [];
  ctx.out.result({ phase: status.phase, reads: status.reads, writes: status.writes, changed }, () => [
    changed ? p.green(p.bold(`✔ promoted: phase ${status.phase}`)) : p.green('✔ already in json-primary; nothing changed'),
    `reads ${status.reads}, writes ${status.writes.join(' then ')}`,
    'next: `deploystate verify`, then `deploystate cutover --dry-run`',
    ...commit,
  ]);
}
