// The StateStore over LevelDB (`level` 10). Values are read as raw UTF-8 text and decoded with the
// core codec, so bare big literals keep every digit; records are written as compact JSON text,
// which the legacy `valueEncoding: 'json'` readers parse back to the same object.
import {
  AbstractStateStore,
  ErrorCodes,
  StateError,
  assertDeploymentRecord,
  chainKeyRange,
  finding,
  invalidValueFinding,
  parseLossless,
  recordKey,
  stringifyLossless,
  tryParseKey,
  type BaseStoreOptions,
  type DeploymentRecord,
  type HealthReport,
  type IntegrityReport,
  type InvalidEntry,
  type IterateOptions,
  type StoreCapabilities,
  type StoreEntry,
} from '@deploystate/core';
import { createHash } from 'node:crypto';
import { Level } from 'level';
import { checkDataFiles, corrupted, inspectFolder, type TornTail } from './level-files.js';
import { isLockedError, lockedError, mapLevelError } from './level-errors.js';
import { Handover } from './handover.js';
import { SharedHandle } from './shared-handle.js';
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

type Db = Level<string, string>;

export interface LockWait {
  /** How many times to try opening while another process holds the LOCK. */
  attempts: number;
  /** First delay between attempts; doubles up to maxDelayMs (with jitter). */
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOCK_WAIT: LockWait = { attempts: 30, minDelayMs: 20, maxDelayMs: 500 };
export const DEFAULT_IDLE_CLOSE_MS = 250;
export const DEFAULT_CLOSE_WAIT_MS = 2_000;
/** While a request for the database is posted, the lock is tried at least this often. */
const HANDOVER_POLL_MS = 20;
/** A store about to reopen lets a waiting store go first for at most this long. */
const HANDOVER_COURTESY_MS = 150;

/**
 * Something the pre-open check accepted but reports: a log whose final record was cut short by
 * the crash of a writer (SIGKILL, power loss). That write was never acknowledged; LevelDB drops
 * it when it opens the store, and every acknowledged write before it is kept.
 */
export interface RecoveryNote {
  kind: 'torn-log-tail';
  severity: 'warning';
  /** The log file. */
  file: string;
  detail: string;
  /** Bytes after the last whole record, which LevelDB drops. */
  droppedBytes: number;
  /** When this store saw it (ISO 8601). */
  seenAt: string;
}

export interface LevelDbStoreOptions extends BaseStoreOptions {
  /** The LevelDB folder (the legacy default is `./leveldb`). */
  path: string;
  /** Create the store when the folder is missing or empty. Default false: only writing commands pass true. */
  create?: boolean;
  /** Refuse every write with WRITES_REFUSED. */
  readOnly?: boolean;
  /** Close the LevelDB handle after this much idle time so other processes get their turn. 0 keeps it open. */
  idleCloseMs?: number;
  /** Bounded backoff while another process holds the lock; then LOCKED. */
  lockWait?: Partial<LockWait>;
  /** fsync every write (LevelDB `sync: true`). Default false: the write is in the OS, not yet on disk. */
  sync?: boolean;
  /**
   * How long close() waits for work in flight, above all an iterator whose consumer stopped
   * pulling. Then such an iterator is ended (its next step fails with STORE_CLOSED) and the
   * store closes, releasing the lock. Default 2000 ms.
   */
  closeWaitMs?: number;
  /**
   * Skip re-reading files that this process verified before and that are unchanged since (a log
   * that only grew is checked from its last whole record). Default true; false reads every file
   * on every open.
   */
  reuseVerifiedFiles?: boolean;
}

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
    this.handle = new SharedHandle<Db>(() => this.openLevel(), this.idleCloseMs, handover && (() => handover.pending()));
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
    const handle = this.openHandle();
    const lease = await handle.lease();
    try {
      const iterator = lease.db.iterator(options.chainId === undefined ? {} : { ...chainKeyRange(options.chainId) });
      try {
        for (;;) {
          let rows: Array<[string, string]>;
          if (lease.revoked) throw this.closedUnderIterator();
          try {
            rows = await iterator.nextv(256);
          } catch (error) {
            throw mapLevelError(error, this.location);
          }
          if (rows.length === 0) return;
          for (const [key, raw] of rows) {
            if (lease.revoked) throw this.closedUnderIterator();
            if (isOutboxKey(key)) continue;
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
      } finally {
        await iterator.close().catch(() => undefined);
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
   * held a record before (for a delete).
   */
  async writeWithOutbox(
    write: { op: 'put'; record: DeploymentRecord } | { op: 'delete'; chainId: number; contractName: string },
    entry: NewOutboxEntry,
    admit: () => boolean = () => true,
  ): Promise<{ admitted: boolean; existed: boolean }> {
    return this.timed(write.op, async () => {
      this.assertWritable();
      if (write.op === 'put') assertDeploymentRecord(write.record);
      const key = write.op === 'put' ? recordKey(write.record.chainId, write.record.contractName) : recordKey(write.chainId, write.contractName);
      const value = write.op === 'put' ? stringifyLossless(write.record) : undefined;
      const { id, seq, ms } = newOutboxId();
      const digest = value === undefined ? null : createHash('sha256').update(value).digest('hex');
      const stored = encodeOutboxEntry({ ...entry, seq, digest, ms });
      return this.withDb(
        async (db) => {
          const existed = write.op === 'delete' ? (await (db.get(key) as Promise<string | undefined>)) !== undefined : true;
          if (!admit()) return { admitted: false, existed };
          await db.batch(
            [
              value === undefined ? { type: 'del' as const, key } : { type: 'put' as const, key, value },
              { type: 'put' as const, key: id, value: stored },
            ],
            { sync: this.sync },
          );
          return { admitted: true, existed };
        },
        key,
        ErrorCodes.WRITE_FAILED,
      );
    });
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

  private noteTornTails(tails: readonly TornTail[]): void {
    for (const tail of tails) {
      const droppedBytes = tail.size - tail.completeEnd;
      if (this.notes.some((n) => n.file === tail.file && n.droppedBytes === droppedBytes && n.detail === tail.detail)) continue;
      this.notes.push({
        kind: 'torn-log-tail',
        severity: 'warning',
        file: tail.file,
        detail: tail.detail,
        droppedBytes,
        seenAt: new Date().toISOString(),
      });
      if (this.notes.length > 20) this.notes.shift();
    }
  }

  /** Opens LevelDB, never creating over existing files, waiting out another process's lock. */
  private async openLevel(): Promise<Db> {
    const handover = this.handover;
    if (handover) {
      // Another store asked for the database and this one just handed it over: let it in first.
      const until = Date.now() + HANDOVER_COURTESY_MS;
      while (handover.pending() && Date.now() < until) await delay(5);
    }
    try {
      return await this.openLevelWaiting();
    } finally {
      handover?.withdraw();
    }
  }

  /** The whole lock wait: as long as the backoff schedule of `lockWait.attempts` adds up to. */
  private lockWaitBudgetMs(): number {
    const { attempts, minDelayMs, maxDelayMs } = this.lockWait;
    let total = 0;
    for (let attempt = 1; attempt < attempts; attempt++) total += Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 20));
    return total;
  }

  private async openLevelWaiting(): Promise<Db> {
    const path = this.location;
    const { attempts } = this.lockWait;
    const deadline = Date.now() + this.lockWaitBudgetMs();
    let lastSuspicion: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const state = await inspectFolder(path);
      let tornTails: TornTail[] = [];
      let createIfMissing = false;
      if (state.kind === 'missing' || state.kind === 'empty') {
        if (!this.create) {
          throw new StateError(
            ErrorCodes.STORE_NOT_FOUND,
            state.kind === 'missing' ? `no LevelDB store at ${path}` : `${path} holds no LevelDB store (no CURRENT file)`,
            {
              file: path,
              hint: 'check the path (the default is ./leveldb); reading never creates a store, only writing commands do',
            },
          );
        }
        const foreign = state.kind === 'empty' ? state.entries.filter((name) => !['LOCK', 'LOG', 'LOG.old'].includes(name)) : [];
        if (foreign.length > 0) {
          throw new StateError(
            ErrorCodes.INVALID_ARGUMENT,
            `${path} is not empty and holds no LevelDB store (found ${foreign.slice(0, 3).join(', ')}); refusing to create a store among other files`,
            { file: path },
          );
        }
        createIfMissing = true;
      } else if (state.kind === 'headless') {
        throw corrupted(path, 'CURRENT is missing while table, log or MANIFEST files are present (opening would discard them)');
      } else {
        const check = await checkDataFiles(path, state.entries, { reuse: this.reuseVerifiedFiles });
        // Noted only once LevelDB opens: while another process holds the lock, a torn tail may
        // be its append in progress rather than a crash.
        tornTails = check.tornTails;
        const { suspicious } = check;
        if (suspicious.length > 0) {
          // A writer in another process can show the same picture for a moment; damage stays put.
          const seen = suspicious.join('; ');
          if (seen === lastSuspicion || attempt >= attempts) throw corrupted(path, seen);
          lastSuspicion = seen;
          await delay(this.backoff(attempt));
          continue;
        }
      }
      const db = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing, errorIfExists: false });
      try {
        await db.open();
        this.noteTornTails(tornTails);
        return db;
      } catch (error) {
        if (!isLockedError(error)) throw mapLevelError(error, path);
        const handover = this.handover;
        if (!handover) {
          if (attempt >= attempts) throw lockedError(path, attempts, error);
          await delay(this.backoff(attempt));
          continue;
        }
        // A sharing holder releases as soon as its operations in flight end: ask, and look often
        // (within the same total wait as the backoff schedule), so the turn is not missed.
        if (Date.now() >= deadline) throw lockedError(path, attempt, error);
        handover.request();
        await delay(Math.min(HANDOVER_POLL_MS, this.backoff(attempt), Math.max(1, deadline - Date.now())));
      }
    }
  }

  private backoff(attempt: number): number {
    const { minDelayMs, maxDelayMs } = this.lockWait;
    const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 20));
    // Jitter keeps two waiting processes from retrying in lockstep.
    return Math.max(minDelayMs, Math.round(ceiling * (0.5 + Math.random() / 2)));
  }

  private openHandle(): SharedHandle<Db> {
    this.assertOpen();
    if (!this.handle) throw new StateError(ErrorCodes.STORE_CLOSED, `LevelDB store ${this.location} is not open`, { file: this.location });
    return this.handle;
  }

  private async withDb<T>(run: (db: Db) => Promise<T>, key?: string, fallback?: typeof ErrorCodes.WRITE_FAILED): Promise<T> {
    const handle = this.openHandle();
    try {
      return await handle.use(run);
    } catch (error) {
      const mapped = mapLevelError(error, this.location, key);
      if (fallback && mapped.code === ErrorCodes.BACKEND_UNAVAILABLE && !(error instanceof StateError)) {
        return Promise.reject(
          new StateError(fallback, `write to LevelDB store ${this.location} failed; what was stored before is intact`, {
            file: this.location,
            ...(key !== undefined && { key }),
            cause: error,
          }),
        );
      }
      throw mapped;
    }
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

/** Decodes one stored value, or says with a finding why it is not the record its key names. */
export function decodeEntry(key: string, raw: string): { record: DeploymentRecord } | InvalidEntry {
  let value: unknown;
  try {
    value = parseLossless(raw, { source: key, sourceIsKey: true });
  } catch (error) {
    return { key, raw, finding: invalidValueFinding(key, error, 'UNDECODABLE_VALUE') };
  }
  let record: DeploymentRecord;
  try {
    record = assertDeploymentRecord(value, key);
  } catch (error) {
    return { key, raw, finding: invalidValueFinding(key, error, 'INVALID_RECORD') };
  }
  const parsed = tryParseKey(key);
  if (!parsed) {
    return { key, raw, finding: invalidValueFinding(key, new Error('the key is not of the form <chainId>-<contractName>'), 'INVALID_KEY') };
  }
  if (parsed.chainId !== record.chainId || parsed.contractName !== record.contractName) {
    const field = parsed.chainId !== record.chainId ? 'chainId' : 'contractName';
    const says = `${record.chainId}-${record.contractName}`;
    return {
      key,
      raw,
      finding: finding('KEY_MISMATCH', `stored under ${JSON.stringify(key)} but the record says ${JSON.stringify(says)}`, {
        key,
        chainId: record.chainId,
        contractName: record.contractName,
        field,
      }),
    };
  }
  return { record };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
