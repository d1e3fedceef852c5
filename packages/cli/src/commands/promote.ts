// `deploystate promote`: dual-write -> json-primary once a clean verify follows the copy.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';

export async function run(ctx: Context): Promise<void> {
  const result = await withMigration(ctx, async (migration) => {
    await migration.promote();
    return migration.status();
  });
  const p = ctx.out.paint;
  ctx.out.result({ ok: true, phase: result.phase, reads: result.reads, writes: result.writes }, () => [
    p.green(p.bold(`✔ promoted: phase ${result.phase}`)),
    `reads ${result.reads}, writes ${result.writes.join(' then ')}`,
    'next: `deploystate verify`, then `deploystate cutover --dry-run`',
  ]);
}
