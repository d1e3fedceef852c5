// The end of the bulk copy, after its pass: the keys that cannot be migrated recorded (or the run
// refused), and the copy's record in the migration state (its digest, counts and timing).
import { basename } from 'node:path';
import { compareKeys, ErrorCodes, hintOf, isStateError, StateError } from '@deploystate/core';
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

/**
 * The copy's records recorded as the store's own (written.json), after the copy took effect: a
 * failure there (a full disk) is no failed copy. Said so, with what the copy did, and what the
 * missing record costs; the code stays the failure's (DISK_FULL), `data.copyTookEffect` for machines.
 */
export async function recordCopyWrites(report: CopyReport, record: () => Promise<void>, baseline: string): Promise<void> {
  try {
    await record();
  } catch (error) {
    if (!isStateError(error)) throw error;
    const did = [
      `${report.copied} copied`,
      `${report.overwritten.length} overwritten`,
      `${report.removed.length} removed`,
      ...(report.skippedNewer.length > 0 ? [`${report.skippedNewer.length} kept as a script wrote them since`] : []),
    ].join(', ');
    const backups = [...(report.backups.leveldb !== undefined ? [report.backups.leveldb] : []), ...report.backups.files];
    throw new StateError(
      error.code,
      `the copy took effect (${did}${backups.length > 0 ? `; backups: ${backups.join(', ')}` : ''}); only ${baseline}, the record of what the store wrote to each network file, could not be written: ${error.message}`,
      {
        file: baseline,
        cause: error,
        hint: `the JSON side holds the copy and \`deploystate status\` shows it; until ${basename(baseline)} is written, a check of the network files cannot tell the copy's records from another program's changes. ${error.hint ?? hintOf(error.code) ?? 'fix the cause above'}; \`deploystate migrate\` run again then finds nothing to copy and records them`,
        data: {
          copyTookEffect: true,
          copied: report.copied,
          overwritten: report.overwritten,
          removed: report.removed,
          skippedNewer: report.skippedNewer,
          backups: report.backups,
        },
      },
    );
  }
}
