// The write protocol's steps (write-protocol.ts) that can run where they cost the put no time of
// their own, when the primary is the factory's own JSON store (backend-json's WriteAttendant): the
// phase check after the intent line, made while the store syncs the new version's temp file and
// before its rename (a state changed since the route was read abandons the write), the network
// file's stats for the co-owned check, and the ok outcome's line, printed while the folder syncs
// after the rename and appended once it is done.
import type { JsonFileStore, WriteAttendant } from '@deploystate/backend-json';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { NewJournalEntry } from './journal.js';
import type { FileStats, Write, WriteTarget } from './write-protocol.js';

/** Errors that abandoned a write because the persisted state changed after its route was read. */
const abandoned = new WeakSet<object>();

/** WRITES_REFUSED for a write the state changed under: nothing of it landed, and it may be routed again (isRouteMoved). */
export function moved(t: Pick<WriteTarget, 'files'>, key: string): StateError {
  const error = new StateError(ErrorCodes.WRITES_REFUSED, `${key}: the migration state changed before the write could land`, {
    key,
    file: t.files.state,
    hint: 'retry the write',
  });
  abandoned.add(error);
  return error;
}

/** Whether a write failed with moved(): nothing landed, and it may be routed again. */
export function isRouteMoved(error: unknown): boolean {
  return typeof error === 'object' && error !== null && abandoned.has(error);
}

/** Stands in for `durationMs` in a line printed ahead, until the write's duration is known. */
const PENDING_DURATION = -1;
const PENDING_FIELD = `"durationMs":${PENDING_DURATION},`;

/** One JSON-primary write's attendant. */
export class AttendedWrite implements WriteAttendant {
  /** Whether the phase check ran (a write that changes nothing never reaches it). */
  checked = false;
  private okLine: string | undefined;

  /** `ok`: the ok outcome for a given durationMs, when the write ends with the JSON store's. */
  constructor(
    private readonly t: Pick<WriteTarget, 'watcher' | 'files' | 'journal'>,
    private readonly key: string,
    private readonly ok?: (durationMs: number) => NewJournalEntry,
    private readonly files?: FileStats,
  ) {}

  /**
   * One stat of the persisted state (PhaseWatcher.unchanged), after the intent line and before the
   * file is replaced: a rollback flips the state, then reads the journal, so a state still as
   * routed on means the flip comes after the line and the rollback sees (and waits for) it.
   */
  whileSyncing(): void {
    this.checked = true;
    if (!this.t.watcher.unchanged()) throw moved(this.t, this.key);
    this.files?.before();
  }

  replaced(): void {
    this.files?.after();
    if (this.ok) this.okLine = this.t.journal.print([this.ok(PENDING_DURATION)]).text;
  }

  /** Appends the ok outcome printed while the folder synced, with its duration; false when none was printed. */
  closeOk(durationMs: number): boolean {
    const line = this.okLine;
    if (line === undefined) return false;
    this.okLine = undefined;
    const at = line.lastIndexOf(PENDING_FIELD);
    this.t.journal.appendPrinted(`${line.slice(0, at)}"durationMs":${durationMs},${line.slice(at + PENDING_FIELD.length)}`);
    return true;
  }
}

/** The write on the JSON store, attended; true when a record was there (delete). */
export async function writeAttended(store: JsonFileStore, w: Write, attend: WriteAttendant): Promise<boolean> {
  if (w.op === 'delete') return store.deleteAttended(w.at.chainId, w.at.contractName, attend);
  await store.putAttended(w.checked, attend);
  return true;
}
