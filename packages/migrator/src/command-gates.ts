// The gate plumbing the Migration's commands share: gate facts, admission (refused exactly where
// status says not ready), the phase switch under the state lock, and verify recorded as evidence.
import type { Finding } from '@deploystate/core';
import type { CommandContext } from './command-context.js';
import type { MigrationContext } from './context.js';
import { summarizeJournal, waitForOutcomes } from './journal-queries.js';
import type { IntentEntry } from './journal.js';
import {
  allowedIn,
  assertMayRun,
  mayRun,
  transitionRefused,
  TRANSITIONS,
  type GateFacts,
  type GateName,
  type OpenWrite,
  type TransitionName,
} from './machine.js';
import { readOutboxFailure } from './outbox-drainer.js';
import { pushTiming, readState, timing, updateState } from './state.js';
import type { MigrationStateFile, VerifyReport } from './types.js';
import { unreadableJsonError } from './unreadable.js';
import { verifySides } from './verify.js';
import { quietPoint } from './written-since.js';

export const openWrite = (e: IntentEntry): OpenWrite => ({ key: e.key, seq: e.seq });

/** The keys a verify found different, as a gate lists them for machines. */
export const differingKeys = (verify: VerifyReport): string[] => [
  ...verify.comparison.onlyLeft.map((e) => e.key),
  ...verify.comparison.onlyRight.map((e) => e.key),
  ...verify.comparison.differing.map((d) => d.key),
];

/** A finding as a gate lists it for machines (error.data.findings in --json). */
export const gateFinding = (f: Finding): Record<string, unknown> => ({
  code: f.code,
  severity: f.severity,
  ...(f.key !== undefined && { key: f.key }),
  ...(f.file !== undefined && { file: f.file }),
  message: f.message,
});

/**
 * The facts `command`'s gates decide on. When every gate that needs no journal passes, writers
 * still in flight after the last verify get a bounded wait to close their writes first.
 */
export async function gateFacts(c: CommandContext, command: TransitionName): Promise<GateFacts> {
  const state = await readState(c.files);
  const since = state.lastVerify?.journalSeq ?? 0;
  const needsJournal = (TRANSITIONS[command].gates as readonly GateName[]).includes('writes settled since verify');
  const outboxError = await readOutboxFailure(c.files);
  if (!needsJournal) return { state, openSinceVerify: [], outboxError };
  const wait = mayRun(command, { state, openSinceVerify: [] });
  const summary =
    wait.allowed && wait.ready ? await waitForOutcomes(c.journal, since, () => true) : await summarizeJournal(c.journal, since);
  return { state, openSinceVerify: summary.open.map(openWrite), outboxError };
}

/** Reads the facts and throws TRANSITION_REFUSED or GATE_FAILED exactly where status says not ready. */
export async function admit(c: CommandContext, command: TransitionName): Promise<MigrationStateFile> {
  const facts = await gateFacts(c, command);
  assertMayRun(command, facts, c.files.state);
  return facts.state;
}

// The phase is checked again under the state lock: the gates were decided under the migration lock.
export async function transition(
  c: CommandContext,
  command: 'dual-write enable' | 'dual-write disable' | 'promote' | 'cutover',
  started: number,
  change?: (s: MigrationStateFile) => void,
  detail?: string,
): Promise<MigrationStateFile> {
  const to = TRANSITIONS[command].to;
  return updateState(c.files, (s) => {
    if (!allowedIn(command).includes(s.phase)) throw transitionRefused(command, s.phase, c.files.state);
    s.phase = to;
    change?.(s);
    pushTiming(s, timing(command, started, 'done', detail ?? `-> ${to}`));
  });
}

/** What verify and the cut-over's gate say in json-primary when LevelDB differs from JSON. */
export const LEVELDB_BEHIND_JSON =
  'in json-primary JSON holds every write and no command of the phase copies it to LevelDB: `deploystate rollback` makes LevelDB equal JSON, then `dual-write enable`, `migrate`, `verify` and `promote` bring the migration back here (`deploystate compare` lists the keys first)';

/** What verify says in leveldb-only when the sides differ: JSON is not kept equal there (after a rollback, a dual-write disable, or before any enable). */
export const JSON_NOT_KEPT_IN_LEVELDB_ONLY =
  'in leveldb-only deploy scripts write LevelDB alone and JSON is not kept equal to it (before the first `dual-write enable`, and after a rollback or `dual-write disable`): `deploystate dual-write enable`, then `migrate`, make JSON equal LevelDB, and verify clean';

/** What verify says in dual-write before the copy has completed, when the sides differ. */
export const COPY_NOT_COMPLETED =
  'the copy has not completed since dual-write enable: records only in LevelDB, and older ones in JSON that no write since touched, are its work still to do; `deploystate migrate` copies them, then verify again (`deploystate compare` tells that work from a write the sides disagree on)';

/** The way out verify names for differences the phase explains, or undefined. */
function verifyNext(state: MigrationStateFile, verified: VerifyReport): string | undefined {
  if (verified.evidence.differences === 0) return undefined;
  // No command of json-primary writes JSON's records to LevelDB: the differences stay until a
  // rollback. Only where LevelDB holds nothing JSON lacks: the rollback would delete that.
  if (state.phase === 'json-primary') return verified.comparison.counts.onlyLeft === 0 ? LEVELDB_BEHIND_JSON : undefined;
  if (state.phase === 'leveldb-only') return JSON_NOT_KEPT_IN_LEVELDB_ONLY;
  if (state.phase === 'dual-write' && !state.copy?.completedAt) return COPY_NOT_COMPLETED;
  return undefined;
}

/**
 * `ctx`: where the sides are read (read-only commands and gates pass a snapshot context). The fence
 * is held only at the quiet point the snapshot is taken from, so writers wait a moment, not for the
 * whole comparison; keys written since are pending (see written-since.ts).
 */
export async function verifyAndRecord(c: CommandContext, options: { ctx?: MigrationContext } = {}): Promise<VerifyReport> {
  const started = c.clock();
  const ctx = options.ctx ?? c.ctx;
  const writtenSince = await quietPoint(ctx, 'verify');
  // json-only: writes since the cut-over are in JSON alone, by design.
  const state = await readState(c.files);
  const sinceCutover = state.phase === 'json-only' ? state.cutoverEvidence?.journalSeq : undefined;
  const verified = await verifySides(ctx, { writtenSince, ...(sinceCutover !== undefined && { sinceCutover }) });
  const next = verifyNext(state, verified);
  const report: VerifyReport = next === undefined ? verified : { ...verified, next };
  await updateState(c.files, (s) => {
    s.lastVerify = report.evidence;
    if (report.clean && s.diverged && (s.divergedBy?.seq ?? 0) <= report.evidence.journalSeq) {
      s.diverged = false;
      s.divergedBy = null;
    }
    pushTiming(
      s,
      timing(
        'verify',
        started,
        report.clean ? 'done' : 'failed',
        report.clean
          ? `equal: ${report.evidence.json.count} records`
          : `${report.evidence.differences} difference(s), ${report.evidence.schemaErrors} schema error(s)`,
      ),
    );
  });
  // Recorded first, so the failed verify closes the gates; then it fails as CORRUPTED, never as a difference.
  const corrupted = unreadableJsonError(report.comparison.unreadable);
  if (corrupted) throw corrupted;
  return report;
}
