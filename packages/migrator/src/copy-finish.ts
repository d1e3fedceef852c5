// The end of the bulk copy, after its pass: the keys that cannot be migrated recorded (or the run
// refused), and the copy's record in the migration state (its digest, counts and timing).
import { compareKeys, ErrorCodes, StateError } from '@deploystate/core';
import { isoNow } from './context.js';
import type { CopyRun } from './copy-plan.js';
import { pushTiming, timing, updateState } from './state.js';
import type { CopyReport } from './types.js';

/** After the pass: the unmigratable keys recorded (or the run refused), the copy's record in the state. */
export async function finishCopy(run: CopyRun): Promise<CopyReport> {
  const { ctx, unmigratable, blocking, report, dryRun, started, snapshotSeq, state } = run;
  if (!dryRun) {
    await updateState(ctx.files, (s) => {
      s.unmigratable = [...unmigratable].sort(compareKeys);
    });
  }
  if (blocking.length > 0) {
    throw new StateError(ErrorCodes.UNMIGRATABLE_RECORDS, `${blocking.length} record(s) cannot be migrated: ${blocking.join(', ')}`, {
      key: blocking[0],
      hint: 'fix them in LevelDB, or exclude them (migrate --exclude <key>)',
    });
  }
  // No second round after the pass: every journalled write to JSON holds the fence shared (a drain,
  // a routed write), and each chain was written holding it exclusively, so a write of one of its
  // keys landed wholly before the copy looked at the journal (and was kept) or wholly after the
  // file was written (and brought JSON up to date itself).
  report.leveldbDigest = run.digest.digest();

  report.nothingToDo = run.changedChains === 0 && !report.resumed;
  report.durationMs = ctx.now() - started;
  if (!dryRun) {
    await updateState(ctx.files, (s) => {
      const previous = s.copy;
      // A re-run with nothing to do keeps the completed copy's time, so its verify still counts.
      const keepTime = report.nothingToDo && previous?.completedAt !== undefined && state.copy?.completedAt !== undefined;
      s.copy = {
        ...(previous ?? { chainsDone: [] }),
        startedAt: previous?.startedAt ?? new Date(started).toISOString(),
        snapshotSeq,
        chainsDone: previous?.chainsDone ?? [],
        completedAt: keepTime ? (previous?.completedAt as string) : isoNow(ctx),
        leveldbDigest: report.leveldbDigest,
        copied: (previous?.copied ?? 0) + report.copied,
        // Records the run found already equal: with `copied`, what the JSON side holds after it (so a
        // no-op re-run reads "0 copied, 28 already equal", not "0 records").
        unchanged: (previous?.unchanged ?? 0) + report.unchanged,
        skippedNewer: (previous?.skippedNewer ?? 0) + report.skippedNewer.length,
      };
      pushTiming(
        s,
        timing(
          'migrate',
          started,
          'done',
          report.nothingToDo
            ? 'nothing to do'
            : `${report.copied} copied, ${report.overwritten.length} overwritten, ${report.removed.length} removed`,
        ),
      );
    });
  }
  return report;
}
