// `deploystate compare`: LevelDB against JSON, record by record. Read-only; exit 1 when different.
import type { StoreComparison } from '@deploystate/core';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { renderComparison } from '../render.js';

/** The --json shape: named sides instead of left/right, so a script needs no convention. */
export function comparisonDocument(comparison: StoreComparison): Record<string, unknown> {
  return {
    equal: comparison.equal,
    leveldb: comparison.left,
    json: comparison.right,
    missingInJson: comparison.onlyLeft,
    missingInLeveldb: comparison.onlyRight,
    differing: comparison.differing,
    excluded: comparison.excluded,
  };
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const comparison = await withMigration(ctx, (migration) => migration.compare());
  if (!comparison.equal) ctx.exitCode = 1;
  const limit = Number(options.limit ?? 20);
  ctx.out.result(comparisonDocument(comparison), () => renderComparison(comparison, ctx.out.paint, Number.isFinite(limit) ? limit : 20));
}
