// `deploystate compare`: LevelDB against JSON, record by record. Read-only; exit 1 when different.
import { existsSync } from 'node:fs';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { SideComparison } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { wholeNumberOption } from '../number-option.js';
import { withMigration } from '../migration.js';
import { renderComparison, unknownUnreadable, type SideLocations } from '../render.js';

/** Each kind's exact count under its --json name (the lists may stop short of it: `truncated`). */
export function differenceCounts(comparison: SideComparison): { missingInJson: number; missingInLeveldb: number; differing: number } {
  return { missingInJson: comparison.counts.onlyLeft, missingInLeveldb: comparison.counts.onlyRight, differing: comparison.counts.differing };
}

/**
 * The --json shape: named sides instead of left/right, so a script needs no convention.
 * `unreadable` lists what a side could not read ({ side, key, file?, finding, known }).
 * The three lists stop at the cap (`truncated`); `counts` holds every difference of each kind.
 */
export function comparisonDocument(comparison: SideComparison): Record<string, unknown> {
  return {
    equal: comparison.equal,
    leveldb: comparison.left,
    json: comparison.right,
    counts: differenceCounts(comparison),
    truncated: comparison.truncated,
    missingInJson: comparison.onlyLeft,
    missingInLeveldb: comparison.onlyRight,
    differing: comparison.differing,
    excluded: comparison.excluded,
    pending: comparison.pending ?? [],
    unreadable: comparison.unreadable,
    ...(comparison.writtenSinceCutover && { writtenSinceCutover: comparison.writtenSinceCutover }),
    ...(comparison.writtenElsewhere && { writtenElsewhere: comparison.writtenElsewhere }),
  };
}

/** The keys that differ (as far as listed: `truncated`) and each kind's exact count, for the --json envelope's error.details. */
export function differingKeys(comparison: SideComparison): Record<string, unknown> {
  return {
    counts: differenceCounts(comparison),
    truncated: comparison.truncated,
    missingInJson: comparison.onlyLeft.map((e) => e.key),
    missingInLeveldb: comparison.onlyRight.map((e) => e.key),
    differing: comparison.differing.map((d) => d.key),
    unreadable: unknownUnreadable(comparison).map((u) => u.key),
  };
}

/** The folders named on unreadable entries that carry no file of their own. */
export const sideLocations = (ctx: Context): SideLocations => ({ leveldb: ctx.paths.leveldb, json: ctx.paths.deployments });

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  // A deployments folder named on the command line that is not there (a typo) is no store at all,
  // not an empty one: "stores differ, N only in leveldb" would send the operator the wrong way.
  // (Before the copy, with the default folder, comparing against nothing is what it is.)
  if (options.deployments !== undefined && !existsSync(ctx.paths.deployments)) {
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no deployments folder at ${ctx.paths.deployments}`, {
      file: ctx.paths.deployments,
      hint: 'check --deployments (or the config); `deploystate migrate` creates the folder with its copy',
    });
  }
  const maxDetails = wholeNumberOption(options.maxDetails, '--max-details');
  const [comparison, status] = await withMigration(
    ctx,
    async (migration) => [await migration.compare(maxDetails === undefined ? {} : { maxDetails }), await migration.status()] as const,
  );
  // In dual-write before the bulk copy has completed, records only in LevelDB are the copy's work
  // still to do (the runbook checks write consistency here), and so is a record no write since
  // dual-write enable touched that JSON holds otherwise (as an earlier cycle left it): only a write
  // made in dual-write that the sides disagree on is inconsistent.
  const copyPending = status.phase === 'dual-write' && status.state.copy?.completedAt === undefined;
  const awaiting = comparison.awaitingCopy ?? { differing: 0, onlyRight: 0, keys: [] };
  const consistent = copyPending
    ? comparison.counts.differing - awaiting.differing === 0 && comparison.counts.onlyRight - awaiting.onlyRight === 0
    : comparison.equal;
  // An unknown unreadable entry already makes the migrator's `equal` false; checked here too, so
  // the exit code never depends on that detail staying as it is.
  if (!consistent || unknownUnreadable(comparison).length > 0)
    // Not the code's usual "see `deploystate compare`": this is it.
    ctx.fail('STORES_DIFFER', 'LevelDB and the JSON files differ', differingKeys(comparison), 'the keys are in `details`; without --json, compare prints both sides of each');
  const limit = wholeNumberOption(options.limit, '--limit') ?? 20;
  const copyStarted = status.state.copy !== null;
  // Consistent here (a failure was thrown above): the only differences are the copy's work to do.
  ctx.out.result(
    {
      ...comparisonDocument(comparison),
      ...(copyPending && { copyPending: comparison.counts.onlyLeft + awaiting.differing + awaiting.onlyRight, copyStarted }),
    },
    () =>
      renderComparison(comparison, ctx.out.paint, limit, {
        locations: sideLocations(ctx),
        raiseCap: '`--max-details <n>` raises that',
        ...(copyPending && { copyPending: copyStarted ? 'not-completed' : 'not-run' }),
      }),
  );
}
