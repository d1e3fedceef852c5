// What the migration's commands know of the LevelDB outbox: its depth and oldest entry (read from
// whatever LevelDB store the command uses: a snapshot for read-only commands), the last drain
// failure, and the drain a gate runs while it holds LevelDB.
import { rm } from 'node:fs/promises';
import type { LevelDbStore } from '@deploystate/backend-leveldb';
import { isoNow, type MigrationContext } from './context.js';
import { coownedContext, OverwriteWatch } from './coowned.js';
import { drainOutbox, outboxFailureFile, outboxJournalId, readOutboxFailure, type DrainResult, type OutboxFailure } from './outbox-drainer.js';
import type { OutcomeEntry } from './journal.js';
import { OUTBOX_DRAIN_NEXT } from './machine.js';

export interface OutboxStatus {
  /** Writes LevelDB committed that JSON has not received yet. */
  depth: number;
  /** The oldest of them. */
  oldest: { key: string; time: string; pid: number } | null;
  /** The last drain failure not followed by a drain that emptied the outbox. */
  lastError: OutboxFailure | null;
  /** With a last error: what drains the outbox once its cause is fixed. */
  next?: string;
}

/** The keys with undrained writes: pending, never differences. */
export async function pendingKeys(store: LevelDbStore): Promise<Set<string>> {
  return new Set((await store.readOutbox()).map((e) => e.key));
}

/**
 * The outbox as status shows it. `drainFailures` (summarizeJournal's, read once by status): where a
 * drain could not write outbox-error.json (a full disk, the very failure it would record), the
 * journal's last failed drain of an entry still waiting says why the entries stay.
 */
export async function outboxStatus(
  ctx: Pick<MigrationContext, 'files'>,
  store: LevelDbStore | undefined,
  drainFailures: ReadonlyMap<string, OutcomeEntry>,
): Promise<OutboxStatus> {
  const entries = store ? await store.readOutbox().catch(() => []) : [];
  const first = entries[0];
  const lastError = (await readOutboxFailure(ctx.files)) ?? lastDrainFailure(drainFailures, new Set(entries.map((e) => outboxJournalId(e.id))));
  return {
    depth: entries.length,
    oldest: first ? { key: first.key, time: first.time, pid: first.pid } : null,
    lastError,
    ...(lastError !== null && { next: OUTBOX_DRAIN_NEXT }),
  };
}

/** The last of `failures` (in journal order) of an entry in `waiting`; null when none of them failed. */
function lastDrainFailure(failures: ReadonlyMap<string, OutcomeEntry>, waiting: ReadonlySet<string>): OutboxFailure | null {
  let last: OutcomeEntry | undefined;
  for (const [id, e] of failures) if (waiting.has(id)) last = e;
  if (last === undefined) return null;
  return { key: last.key, ...(last.error?.code !== undefined && { code: last.error.code }), message: last.error?.message ?? '', at: last.time, pid: last.pid };
}

/**
 * Drains the outbox from the command's own process (the caller holds the gate fence): a gate
 * switches the phase only once JSON holds every write LevelDB acknowledged. What the drain's check
 * finds before it writes a file comes back in `overwrites`, for the gate to stop on. `untilEmpty`
 * (a caller that holds LevelDB, so no write adds an entry meanwhile): rounds until none is left,
 * where a drain otherwise stops after its usual rounds (a dual-write putMany of more records than
 * they take is one batch of as many entries).
 */
export function drainForGate(
  ctx: MigrationContext,
  watch = new OverwriteWatch(coownedContext(ctx), () => undefined),
  options: { untilEmpty?: boolean } = {},
): Promise<DrainResult> {
  return drainOutbox(
    {
      files: ctx.files,
      journal: ctx.journal,
      leveldb: () => ctx.leveldb(),
      json: () => ctx.json(),
      watch,
    },
    { fenced: true, ...(options.untilEmpty && { rounds: Infinity }) },
  );
}

/**
 * Where dual-write ends without a drain (a rollback): the writes JSON had not received (a writer
 * that stopped before its drain) leave LevelDB's outbox, which holds nothing once nothing runs (it
 * is committed to git), and the last drain failure goes with them. LevelDB keeps every record; the
 * dropped keys are journalled and returned.
 */
export async function dropOutbox(ctx: Pick<MigrationContext, 'files' | 'journal' | 'now'>, leveldb: LevelDbStore): Promise<string[]> {
  const entries = await leveldb.readOutbox();
  if (entries.length > 0) {
    await leveldb.removeOutbox(entries.map((e) => e.id));
    const keys = [...new Set(entries.map((e) => e.key))];
    await ctx.journal.appendOne({
      type: 'event',
      event: 'outbox-dropped',
      detail: `dual-write ended: JSON never received ${entries.length} write(s) LevelDB holds: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ` and ${keys.length - 20} more` : ''}`,
      time: isoNow(ctx),
      pid: process.pid,
      phase: 'rolling-back',
    });
  }
  await rm(outboxFailureFile(ctx.files), { force: true });
  return [...new Set(entries.map((e) => e.key))];
}
