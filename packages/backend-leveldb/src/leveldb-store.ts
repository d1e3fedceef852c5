// The StateStore over LevelDB (`level` 10). Values are read as raw UTF-8 text and decoded with the
// core codec, so bare big literals keep every digit; records are written as compact JSON text,
// which the legacy `valueEncoding: 'json'` readers parse back to the same object.
import {
  AbstractStateStore,
  ErrorCodes,
  StateError,
  assertChainId,
  sleep,
  chainKeyRange,
  checkRecord,
  finding,
  gitAtWork,
  recordKey,
  stringifyLossless,
  untilGitDone,
  type CheckedRecord,
  type DeploymentRecord,
  type HealthReport,
  type IntegrityReport,
  type InvalidEntry,
  type IterateOptions,
  type StoreCapabilities,
  type StoreEntry,
} from '@deploystate/core';
import { levelCodes, mapLevelError } from './level-errors.js';
import { Handover } from './handover.js';
import { wantedInProcess } from './process-holds.js';
import { SharedHandle, type Lease } from './shared-handle.js';
import { OpenedFolder, untilSettled } from './replaced-folder.js';
import { decodeEntry } from './decode-entry.js';
import { batchesReadAhead } from './scan-batches.js';
import { openLevel, type Db } from './level-open.js';
import { writeStrings, type StringOperation } from './level-batch.js';
import { DEFAULT_CLOSE_WAIT_MS, DEFAULT_IDLE_CLOSE_MS, DEFAULT_LOCK_WAIT, type LevelDbStoreOptions, type LockWait } from './leveldb-options.js';
import { noteTornTails, type RecoveryNote } from './recovery-notes.js';
import {
  decodeOutboxEntry,
  encodeOutboxEntry,
  isOutboxKey,
  newOutboxId,
  OUTBOX_END,
  OUTBOX_PREFIX,
  type NewOutboxEntry,
  type OutboxEntry,
} from './outbox.js';

export class LevelDbStore extends AbstractStateStore {
  readonly backend = 'leveldb';
  readonly capabilities: StoreCapabilities = { persistent: true, crossProcess: true, rawValues: true };
  readonly location: string;
  readonly readOnly: boolean;
  readonly sync: boolean;
  private readonly create: boolean;
  private readonly idleCloseMs: number;
  private readonly lockWait: LockWait;
  private readonly closeWaitMs: number;
  private readonly reuseVerifiedFiles: boolean;
  private handle: SharedHandle<Db> | undefined;
  /** Each open handle's folder as opened (replacedUnder). */
  private readonly opened = new WeakMap<Db, OpenedFolder>();
  /** A handle was found on a replaced folder: the next open waits until the folder has settled (untilSettled). */
  private replacedSeen = false;
  private handover: Handover | undefined;
  private readonly notes: RecoveryNote[] = [];
  /** Deletes in flight per key: a delete's read and removal must not interleave with another's. */
  private readonly deleting = new Map<string, Promise<boolean>>();

  constructor(options: LevelDbStoreOptions) {
    super(options);
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'LevelDbStore needs a path');
    }
    if (options.create && options.readOnly) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'a read-only LevelDbStore cannot create a store', { file: options.path });
    }
    this.location = options.path;
    this.create = options.create ?? false;
    this.readOnly = options.readOnly ?? false;
    this.sync = options.sync ?? false;
    this.idleCloseMs = options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    this.lockWait = { ...DEFAULT_LOCK_WAIT, ...options.lockWait };
    this.closeWaitMs = options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS;
    this.reuseVerifiedFiles = options.reuseVerifiedFiles ?? true;
    if (!(this.closeWaitMs >= 0)) throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'closeWaitMs must be >= 0', { file: options.path });
    if (
      !(this.idleCloseMs >= 0) ||
      !(this.lockWait.attempts >= 1) ||
      !(this.lockWait.minDelayMs >= 0) ||
      !(this.lockWait.maxDelayMs >= this.lockWait.minDelayMs)
    ) {
      throw new StateError(
        ErrorCodes.INVALID_ARGUMENT,
        'idleCloseMs must be >= 0, lockWait.attempts >= 1 and 0 <= minDelayMs <= maxDelayMs',
        { file: options.path },
      );
    }
  }

  /** Whether the LevelDB handle (and so the lock) is held right now; false while idle-closed. */
  get holdsLock(): boolean {
    return this.handle?.isOpen ?? false;
  }

  /** Torn log tails the pre-open checks of this store accepted (most recent last, at most 20). */
  get recoveryNotes(): readonly RecoveryNote[] {
    return [...this.notes];
  }

  protected async _open(): Promise<void> {
    // Only a sharing store (one that idle-closes) hands over and asks for turns; one kept open for
    // the whole run (idleCloseMs 0) behaves as LevelDB always did.
    const handover = this.idleCloseMs > 0 ? new Handover(this.location) : undefined;
    this.handover = handover;
    const location = this.location;
    // Asked for by another process (a request file) or by another store of this one (process-holds.ts).
    this.handle = new SharedHandle<Db>(() => this.openLevel(), this.idleCloseMs, handover && (() => handover.pending() || wantedInProcess(location)));
    // Opening once now makes open() report a missing, locked or damaged store at once.
    await this.handle.use(async () => undefined);
  }

  protected async _close(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    try {
      await handle.shutdown(this.closeWaitMs);
    } catch (error) {
      throw mapLevelError(error, this.location);
    }
  }

  protected async _get(key: string): Promise<DeploymentRecord | null> {
    const raw = await this.withDb((db) => db.get(key) as Promise<string | undefined>, key);
    if (raw === undefined) return null;
    return this.decodeOrThrow(key, raw);
  }

  protected async _put(key: string, record: DeploymentRecord): Promise<void> {
    this.assertWritable();
    const text = stringifyLossless(record);
    await this.withDb((db) => db.put(key, text, { sync: this.sync }), key, ErrorCodes.WRITE_FAILED);
  }

  protected async _delete(key: string): Promise<boolean> {
    this.assertWritable();
    // Two deletes of one key must not both see the record and both report it removed.
    const before = this.deleting.get(key);
    const mine = (before ?? Promise.resolve(false)).catch(() => false).then(() => this.deleteNow(key));
    this.deleting.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.deleting.get(key) === mine) this.deleting.delete(key);
    }
  }

  private deleteNow(key: string): Promise<boolean> {
    return this.withDb(
      async (db) => {
        if ((await (db.get(key) as Promise<string | undefined>)) === undefined) return false;
        await db.del(key, { sync: this.sync });
        return true;
      },
      key,
      ErrorCodes.WRITE_FAILED,
    );
  }

  protected async _putMany(entries: StoreEntry[]): Promise<void> {
    this.assertWritable();
    // Encode everything first: a record that cannot be printed refuses the batch before LevelDB sees it.
    const operations = entries.map(({ key, record }) => ({ type: 'put' as const, key, value: stringifyLossless(record) }));
    await this.withDb((db) => db.batch(operations, { sync: this.sync }), undefined, ErrorCodes.WRITE_FAILED);
  }

  protected override async _list(chainId: number): Promise<DeploymentRecord[]> {
    const rows = await this.withDb((db) => db.iterator({ ...chainKeyRange(chainId) }).all());
    return rows.map(([key, raw]) => this.decodeOrThrow(key, raw));
  }

  protected async *_iterate(options: IterateOptions): AsyncGenerator<StoreEntry> {
    for await (const { rows, lease } of this.rawRows(options.chainId)) {
      for (const [key, raw] of rows) {
        if (lease.revoked) throw this.closedUnderIterator();
        const decoded = decodeEntry(key, raw);
        if ('record' in decoded) {
          yield { key, record: decoded.record };
        } else if (options.onInvalid) {
          options.onInvalid(decoded);
        } else {
          throw this.invalidEntryError(decoded);
        }
      }
    }
  }

  /**
   * The stored values as their raw text, in key order, in batches (outbox keys skipped, nothing
   * decoded): for a reader that can tell from the text alone that a value is one it already holds,
   * and decodes the rest with `decodeEntry`. A store closed under it fails the next batch.
   */
  async *iterateRaw(options: { chainId?: number } = {}): AsyncGenerator<Array<[string, string]>> {
    if (this.opensFirst) await this.open();
    this.assertOpen();
    if (options.chainId !== undefined) assertChainId(options.chainId);
    for await (const { rows } of this.rawRows(options.chainId)) yield rows;
  }

  /**
   * Batches of rows read under one lease (scan-batches.ts); a reader that yields row by row checks
   * `lease.revoked` before each.
   */
  private async *rawRows(chainId: number | undefined): AsyncGenerator<{ rows: Array<[string, string]>; lease: { readonly revoked: boolean } }> {
    // An iteration reads the folder as it is when it starts; one swapped in later is seen by the next.
    const lease = await this.currentLease(this.openHandle());
    try {
      const range = chainId !== undefined ? chainKeyRange(chainId) : {};
      const stopped = (): StateError | undefined => (lease.revoked ? this.closedUnderIterator() : undefined);
      for await (const rows of batchesReadAhead(lease.db, range, stopped, (error) => mapLevelError(error, this.location))) {
        yield { rows: rows.some(([key]) => isOutboxKey(key)) ? rows.filter(([key]) => !isOutboxKey(key)) : rows, lease };
      }
    } finally {
      lease.release();
    }
  }

  // ---- the outbox (see outbox.ts) ---------------------------------------------------------

  /**
   * Writes a record (or deletes a key) and an outbox entry in one LevelDB batch. `admit` runs once
   * this store holds LevelDB, right before the batch: when it returns false nothing is written
   * (a writer that waited for the database re-reads what it routed on). `existed`: whether the key
   * held a record before (for a delete). A put passes its record, or the record a composed store
   * checked already (`checked`, see checkRecord): then it is not checked again.
   */
  async writeWithOutbox(
    write:
      | { op: 'put'; record: DeploymentRecord }
      | { op: 'put'; checked: CheckedRecord }
      | { op: 'delete'; chainId: number; contractName: string },
    entry: NewOutboxEntry,
    admit: () => boolean = () => true,
  ): Promise<{ admitted: boolean; existed: boolean }> {
    // Not an async closure: the work before the batch runs in timed()'s own turn (a throw there is
    // counted and rejects the same way).
    return this.timed(write.op, () => {
      this.assertWritable();
      if (write.op === 'put') {
        const checked = 'checked' in write ? write.checked : checkRecord(write.record);
        const record: StringOperation = { type: 'put', key: checked.key, value: stringifyLossless(checked.record) };
        return this.batchWithOutbox([record, outboxOperation(entry)], checked.key, admit);
      }
      const key = recordKey(write.chainId, write.contractName);
      const operations: StringOperation[] = [{ type: 'del', key }, outboxOperation(entry)];
      return this.withDb(
        async (db) => {
          const existed = (await (db.get(key) as Promise<string | undefined>)) !== undefined;
          if (!admit()) return { admitted: false, existed };
          await writeStrings(db, operations, this.sync);
          return { admitted: true, existed };
        },
        key,
        ErrorCodes.WRITE_FAILED,
      );
    });
  }

  /**
   * Writes several records and an outbox entry for each (`entry(record)`) in one LevelDB batch: all
   * of them or none. `admit` runs once, as writeWithOutbox's does: false writes nothing. A key named
   * twice ends as its last record (each gets its entry; the drain reads the key's value once).
   */
  async putManyWithOutbox(
    checked: readonly CheckedRecord[],
    entry: (record: CheckedRecord) => NewOutboxEntry,
    admit: () => boolean = () => true,
  ): Promise<{ admitted: boolean }> {
    return this.timed('putMany', () => {
      this.assertWritable();
      // Every record printed before LevelDB is asked: one that cannot be refuses the batch.
      const operations = checked.map((one): StringOperation => ({ type: 'put', key: one.key, value: stringifyLossless(one.record) }));
      for (const one of checked) operations.push(outboxOperation(entry(one)));
      // A failure names no key: a batch's is no one record's (its first would read as the culprit).
      return this.batchWithOutbox(operations, undefined, admit);
    });
  }

  /**
   * Puts and their outbox entries in one batch once `admit` passes: on a handle already open at
   * once, with no promise between admit's check and the batch (a writer's common case), else
   * through the handle opened for it. A failure names `key` (a single put's).
   */
  private batchWithOutbox(
    operations: readonly StringOperation[],
    key: string | undefined,
    admit: () => boolean,
  ): Promise<{ admitted: boolean; existed: boolean }> {
    const viaHandle = (): Promise<{ admitted: boolean; existed: boolean }> =>
      this.withDb(
        async (db) => {
          if (!admit()) return { admitted: false, existed: true };
          await writeStrings(db, operations, this.sync);
          return { admitted: true, existed: true };
        },
        key,
        ErrorCodes.WRITE_FAILED,
      );
    const lease = this.handle?.leaseNow();
    return lease !== undefined ? this.batchWithOutboxNow(lease, operations, key, admit, viaHandle) : viaHandle();
  }

  /** batchWithOutbox's batch on a lease taken synchronously; errors are mapped as withDb maps them. */
  private async batchWithOutboxNow(
    lease: Lease<Db>,
    operations: readonly StringOperation[],
    key: string | undefined,
    admit: () => boolean,
    viaHandle: () => Promise<{ admitted: boolean; existed: boolean }>,
  ): Promise<{ admitted: boolean; existed: boolean }> {
    try {
      if (!admit()) return { admitted: false, existed: true };
      await this.writing(this.openHandle(), lease.db, (db) => writeStrings(db, operations, this.sync));
      return { admitted: true, existed: true };
    } catch (error) {
      if (error === FOLDER_REPLACED) {
        lease.release();
        // Again the usual way, through a new handle once this one has closed (admit() asked again there).
        return viaHandle();
      }
      throw this.levelError(error, key, ErrorCodes.WRITE_FAILED);
    } finally {
      lease.release();
    }
  }

  /** The outbox entries, oldest key first (at most `limit`); entries that cannot be read are removed. */
  async readOutbox(limit = Infinity): Promise<OutboxEntry[]> {
    this.assertOpen();
    const rows = await this.withDb((db) =>
      db.iterator({ gte: OUTBOX_PREFIX, lt: OUTBOX_END, ...(Number.isFinite(limit) && { limit }) }).all(),
    );
    const entries: OutboxEntry[] = [];
    const unreadable: string[] = [];
    for (const [id, raw] of rows) {
      const entry = decodeOutboxEntry(id, raw);
      if (entry) entries.push(entry);
      else unreadable.push(id);
    }
    if (unreadable.length > 0 && !this.readOnly) await this.removeOutbox(unreadable);
    return entries;
  }

  /**
   * The records under these keys in one read (an outbox drain's values): each the record, null
   * where the key holds none, or the error a get would throw for it (a value that does not decode).
   */
  async getRecords(keys: readonly string[]): Promise<Array<DeploymentRecord | null | { error: unknown }>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const raws = await this.withDb((db) => db.getMany([...keys]) as Promise<Array<string | undefined>>);
    return raws.map((raw, i) => {
      if (raw === undefined) return null;
      try {
        return this.decodeOrThrow(keys[i] as string, raw);
      } catch (error) {
        return { error };
      }
    });
  }

  /** Removes drained outbox entries by id (their outbox keys); other keys are refused. */
  async removeOutbox(ids: readonly string[]): Promise<void> {
    this.assertOpen();
    this.assertWritable();
    if (ids.length === 0) return;
    for (const id of ids) {
      if (!isOutboxKey(id)) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${JSON.stringify(id)} is not an outbox key`, { key: id });
    }
    await this.withDb((db) => db.batch(ids.map((key) => ({ type: 'del' as const, key })), { sync: this.sync }), undefined, ErrorCodes.WRITE_FAILED);
  }

  /**
   * Holds LevelDB for the whole of `work`: no other process gets it in between (a gate drains the
   * outbox and switches the phase while no write can land). Calls inside `work` share the hold.
   */
  async holdWhile<T>(work: () => Promise<T>): Promise<T> {
    return this.openHandle().pinned(work);
  }

  /**
   * Gives the database back now, when no call is using it: the handle closes (the lock with it)
   * instead of after the idle delay, and the next call opens it again. True when it is closed.
   */
  async handBack(): Promise<boolean> {
    return this.handle ? this.handle.closeIfIdle() : true;
  }

  /**
   * The record check of every store, plus one TORN_LOG_TAIL warning per torn log tail this store
   * accepted when it opened (see recoveryNotes): a warning, not an error, since only a write that
   * was never acknowledged was lost, so `ok` is unchanged.
   */
  override async checkIntegrity(): Promise<IntegrityReport> {
    const report = await super.checkIntegrity();
    // Read after the scan: an idle-closed handle reopens during it and may note a tail then.
    const torn = this.notes.map((note) =>
      finding(
        'TORN_LOG_TAIL',
        `${note.file}: ${note.detail}; LevelDB dropped its last ${note.droppedBytes} bytes, a write that was never acknowledged`,
        { file: note.file },
      ),
    );
    return torn.length === 0 ? report : { ...report, findings: [...report.findings, ...torn] };
  }

  protected override async _health(): Promise<Partial<HealthReport>> {
    const handle = this.openHandle();
    const torn = this.notes.map(
      (note) =>
        `warning: ${note.file}: ${note.detail} (an interrupted, unacknowledged write; LevelDB dropped its ${note.droppedBytes} bytes)`,
    );
    return {
      detail: [
        `${handle.isOpen ? 'LevelDB handle open' : 'LevelDB handle closed while idle'}; ${handle.inUse} operation(s) in flight`,
        ...torn,
      ].join('; '),
    };
  }

  private closedUnderIterator(): StateError {
    return new StateError(
      ErrorCodes.STORE_CLOSED,
      `LevelDB store ${this.location} was closed while this iteration was suspended (close waited ${this.closeWaitMs} ms)`,
      {
        file: this.location,
        hint: 'finish or break out of an iteration before closing the store',
      },
    );
  }

  /** Opens LevelDB, never creating over existing files, waiting out another process's lock (see level-open.ts). */
  private async openLevel(): Promise<Db> {
    // Found replaced under the last handle: opened again once whatever replaces it (git) is done.
    if (this.replacedSeen) {
      this.replacedSeen = false;
      await untilSettled(this.location);
    }
    const db = await openLevel({
      path: this.location,
      create: this.create,
      lockWait: this.lockWait,
      reuseVerifiedFiles: this.reuseVerifiedFiles,
      handover: this.handover,
      noteTornTails: (tails) => noteTornTails(this.notes, tails),
      onWanted: () => this.handle?.handOverAsked(),
    });
    const opened = OpenedFolder.of(this.location);
    if (opened !== undefined) this.opened.set(db, opened);
    return db;
  }

  /**
   * Whether the folder under an open handle is no longer the one it opened (replaced-folder.ts):
   * writes on this handle would go to files no longer in the folder, acknowledged and lost, and
   * reads would answer from them.
   */
  private replacedUnder(db: Db): boolean {
    const replaced = this.opened.get(db)?.replaced() ?? false;
    if (replaced) this.replacedSeen = true;
    return replaced;
  }

  private openHandle(): SharedHandle<Db> {
    this.assertOpen();
    if (!this.handle) throw new StateError(ErrorCodes.STORE_CLOSED, `LevelDB store ${this.location} is not open`, { file: this.location });
    return this.handle;
  }

  /** A read (see reading()), or (with `fallback`) a write (see writing()). */
  private async withDb<T>(run: (db: Db) => Promise<T>, key?: string, fallback?: typeof ErrorCodes.WRITE_FAILED): Promise<T> {
    const handle = this.openHandle();
    try {
      if (fallback === undefined) return await this.reading(handle, run);
      try {
        return await handle.use((db) => this.writing(handle, db, run));
      } catch (error) {
        if (error !== FOLDER_REPLACED) throw error;
        // The handle was let go (writing()); the write goes to the folder as it is now.
        return await handle.use((db) => this.writing(handle, db, run));
      }
    } catch (error) {
      throw this.levelError(error === FOLDER_REPLACED ? folderReplacedError(this.location) : error, key, fallback);
    }
  }

  /**
   * A read on the folder as it is now. On a handle already open (most reads), the read goes to
   * LevelDB's thread pool first and the stats of replacedUnder run beside it: files still the
   * folder's after the read began mean the handle's view was the folder's within the call.
   * Otherwise the answer is dropped and the read runs again on a current lease.
   */
  private async reading<T>(handle: SharedHandle<Db>, run: (db: Db) => Promise<T>): Promise<T> {
    const now = handle.leaseNow();
    if (now !== undefined) {
      let pending: Promise<T>;
      try {
        pending = run(now.db);
      } catch (error) {
        now.release();
        throw error;
      }
      try {
        if (!this.replacedUnder(now.db)) return await pending;
        await pending.catch(() => undefined);
        handle.discard(now.db);
      } finally {
        now.release();
      }
    }
    const lease = await this.currentLease(handle);
    try {
      return await run(lease.db);
    } finally {
      lease.release();
    }
  }

  /**
   * A lease for a read, on a handle whose files are still the folder's (replacedUnder: one stat
   * while the folder is settled). A handle open on files that git replaced serves the old records
   * for as long as a reader keeps it busy (a script reading every few ms never lets it idle-close):
   * a deploy script would miss a contract the pulled state has, and deploy it again. Such a handle is
   * let go and the read waits for it to close (other operations of this process may still hold
   * it), bounded by closeWaitMs, since an iteration its own caller keeps open would never end; then
   * it fails rather than answer from files no longer in the folder.
   */
  private async currentLease(handle: SharedHandle<Db>): Promise<Lease<Db>> {
    const deadline = performance.now() + this.closeWaitMs;
    for (let attempt = 0; ; attempt++) {
      const lease = await handle.lease();
      if (!this.replacedUnder(lease.db)) return lease;
      handle.discard(lease.db);
      lease.release();
      if (performance.now() >= deadline) throw folderReplacedUnderReadError(this.location);
      // The first retry opens the folder afresh at once when nothing else held the old handle.
      if (attempt > 0) await sleep(REOPEN_POLL_MS);
    }
  }

  /**
   * A write on `db`. One that fails discards the handle (SharedHandle.discard: LevelDB would put
   * the next records out of place in its log, and lose them at its next open); a write that comes
   * after it on the same handle (inside a hold, before it closes) is refused, never written there.
   */
  private async writing<T>(handle: SharedHandle<Db>, db: Db, run: (db: Db) => Promise<T>): Promise<T> {
    // The folder replaced under the handle: closed once free, and the caller writes again on a new one.
    if (this.replacedUnder(db)) {
      handle.discard(db);
      throw FOLDER_REPLACED;
    }
    if (handle.failedOn(db)) {
      throw new StateError(
        ErrorCodes.WRITE_FAILED,
        `a write to LevelDB store ${this.location} failed just before; it takes no more writes until it is reopened, once the operations in flight (an open iteration, a hold) end`,
        { file: this.location, hint: 'retry the write once the iteration or hold in progress has ended' },
      );
    }
    let written: T;
    try {
      written = await run(db);
    } catch (error) {
      handle.discard(db);
      throw error;
    }
    // A git command that took the work tree before the write returned (a pull, reset or checkout of
    // a committed LevelDB) may replace the file the write went to (a teammate's log under the same
    // name): acknowledged, and gone once git is done (16 of 16 such puts in 20 resets to a
    // teammate's commit). Waited for, and written again on the folder git left, as the JSON store's
    // put does. One stat of index.lock when git is idle.
    if (gitAtWork(this.location)) {
      await untilGitDone(this.location);
      if (this.replacedUnder(db)) {
        handle.discard(db);
        throw FOLDER_REPLACED;
      }
    }
    return written;
  }

  /** A failure of LevelDB as the store reports it; a write's unclassified failure as `fallback`. */
  private levelError(error: unknown, key?: string, fallback?: typeof ErrorCodes.WRITE_FAILED): StateError {
    const mapped = mapLevelError(error, this.location, key);
    // A write's I/O error (a file size limit, a failing disk) says nothing of what is stored: the
    // write failed, and the store reopens before the next one (writing()).
    const ioError = mapped.code === ErrorCodes.CORRUPTED && !levelCodes(error).includes('LEVEL_CORRUPTION');
    if (fallback && (mapped.code === ErrorCodes.BACKEND_UNAVAILABLE || ioError) && !(error instanceof StateError)) {
      const reason = ioError ? ` (${mapped.cause instanceof Error ? mapped.cause.message : String(mapped.cause)})` : '';
      return new StateError(fallback, `write to LevelDB store ${this.location} failed${reason}; what was stored before is intact`, {
        file: this.location,
        ...(key !== undefined && { key }),
        cause: error,
      });
    }
    return mapped;
  }

  private assertWritable(): void {
    if (this.readOnly) {
      throw new StateError(ErrorCodes.WRITES_REFUSED, `LevelDB store ${this.location} was opened read-only`, {
        file: this.location,
        hint: 'open it without readOnly to write',
      });
    }
  }

  private decodeOrThrow(key: string, raw: string): DeploymentRecord {
    const decoded = decodeEntry(key, raw);
    if ('record' in decoded) return decoded.record;
    throw this.invalidEntryError(decoded);
  }

  private invalidEntryError(entry: InvalidEntry): StateError {
    return new StateError(ErrorCodes.CORRUPTED, `LevelDB store ${this.location}: ${entry.finding.message} [${entry.finding.code}]`, {
      file: this.location,
      key: entry.key,
      hint: 'run the integrity check to list every such entry',
    });
  }
}

/** An outbox entry as the batch's operation under a new id (newOutboxId: this process's next, in order). */
function outboxOperation(entry: NewOutboxEntry): StringOperation {
  const { id, seq, ms } = newOutboxId();
  return { type: 'put', key: id, value: encodeOutboxEntry(entry, seq, ms) };
}

/** writing()'s signal that the folder was replaced under its handle: withDb writes again on a new one. */
const FOLDER_REPLACED = new Error('the LevelDB folder was replaced under the open handle');
/** How often a read waiting for a replaced handle to close looks again. */
const REOPEN_POLL_MS = 5;

function folderReplacedUnderReadError(path: string): StateError {
  return new StateError(
    ErrorCodes.BACKEND_UNAVAILABLE,
    `the LevelDB folder ${path} was replaced while this store had it open (git stash, checkout or reset?), and an operation of this process (an open iteration?) still holds the old files; nothing was read from them`,
    { file: path, hint: 'finish or break out of the iteration in progress, then read again' },
  );
}

function folderReplacedError(path: string): StateError {
  return new StateError(ErrorCodes.WRITE_FAILED, `the LevelDB folder ${path} was replaced while this store had it open (git stash, checkout or reset?), twice in a row; nothing was written`, {
    file: path,
    hint: 'let the git operation finish, then retry the write',
  });
}
