// One LevelDB handle shared by every call of one store: opened on demand, counted while in use,
// closed after an idle delay so another process can take its turn with the lock. Every open,
// lease and close goes through here, so concurrent calls never open twice or close under a reader.
import { noteWait } from '@deploystate/core';

/** While idle, a sharing handle looks this often whether another process asked for the database. */
const IDLE_HANDOVER_POLL_MS = 20;
/**
 * A busy sharing handle looks for a hand-over request at most this often: as often as an idle one,
 * so a writer's operations (a put every few milliseconds, or every 100 ms between idle polls) find
 * the request already looked for instead of paying a stat each. A requester polls the lock every
 * 20 ms anyway.
 */
const HANDOVER_CHECK_MS = IDLE_HANDOVER_POLL_MS;

export interface Lease<Db> {
  db: Db;
  release(): void;
  /**
   * True once shutdown stopped waiting for this lease and closed the handle under it: its holder
   * (a suspended iterator) must stop at its next step.
   */
  readonly revoked: boolean;
}

export interface ClosableDb {
  close(): Promise<void>;
}

export class SharedHandle<Db extends ClosableDb> {
  private db: Db | undefined;
  private opening: Promise<Db> | undefined;
  private closing: Promise<void> | undefined;
  private active = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last lease was released (performance.now()). */
  private lastUsed = 0;
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly leases = new Set<{ revoked: boolean; released: boolean }>();
  /** Bumped when shutdown revokes the leases: a lease of an earlier generation no longer counts. */
  private generation = 0;
  /** Another process asked for the database: new leases wait until the ones in flight end and it is closed. */
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  /** When handOver() was last asked (performance.now()). */
  private lastHandOverCheck = -Infinity;
  /** Holds taken by pinned(): while any is held, the handle is not handed over. */
  private pins = 0;
  /** The LevelDB a write failed on (discard): it takes no more writes and closes as soon as it can. */
  private failed: Db | undefined;

  constructor(
    private readonly openDb: () => Promise<Db>,
    /** 0 keeps the handle open until shutdown. */
    private readonly idleCloseMs: number,
    /**
     * Whether another process is waiting for the database. A sharing handle (idleCloseMs > 0)
     * asks when its last operation in flight ends and, if so, closes at once instead of after the
     * idle delay: a busy holder must not starve a waiter.
     */
    private readonly handOver?: () => boolean,
  ) {}

  /** Whether LevelDB is open right now (false between idle close and the next call). */
  get isOpen(): boolean {
    return this.db !== undefined;
  }

  get inUse(): number {
    return this.active;
  }

  /** Takes the handle (opening it if needed); `release` must be called exactly once. */
  async lease(): Promise<Lease<Db>> {
    if (this.db && !this.closing && !this.draining && this.handOverNow()) {
      this.startHandOver();
    }
    if (this.draining) {
      const started = performance.now();
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      noteWait('handover', started);
    }
    const generation = this.generation;
    // The idle timer is not cancelled here: re-arming a timer on every operation costs more than
    // the operation on a warm handle; the timer checks on firing whether the handle was used since.
    this.active++;
    let db: Db;
    try {
      db = await this.acquire();
    } catch (error) {
      if (generation === this.generation) this.done();
      throw error;
    }
    return this.leaseOf(db, generation);
  }

  /**
   * The lease lease() would give, taken synchronously when the handle is open and nothing is
   * opening, closing or waiting for a hand-over; undefined when only lease() can say (it waits).
   * A hand-over found due here is started as lease() starts it, so lease() then waits for it.
   */
  leaseNow(): Lease<Db> | undefined {
    const db = this.db;
    if (db === undefined || this.closing || this.opening || this.draining) return undefined;
    if (this.handOverNow()) {
      this.startHandOver();
      return undefined;
    }
    this.active++;
    return this.leaseOf(db, this.generation);
  }

  private leaseOf(db: Db, generation: number): Lease<Db> {
    const state = { revoked: generation !== this.generation, released: false };
    if (!state.revoked) this.leases.add(state);
    return {
      db,
      release: () => {
        if (state.released) return;
        state.released = true;
        this.leases.delete(state);
        if (!state.revoked) this.done();
      },
      get revoked() {
        return state.revoked;
      },
    };
  }

  async use<T>(run: (db: Db) => Promise<T>): Promise<T> {
    const lease = await this.lease();
    try {
      return await run(lease.db);
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `work` holding a lease, and hands over to no other process until it ends: leases taken
   * inside it (the store's own calls) go through at once instead of queueing behind a hand-over.
   */
  async pinned<T>(work: () => Promise<T>): Promise<T> {
    const lease = await this.lease();
    this.pins++;
    try {
      return await work();
    } finally {
      this.pins--;
      lease.release();
    }
  }

  /**
   * LevelDB failed a write on `db` (a full disk, a file size limit): it takes no more writes
   * (failedOn), and closes as soon as no operation uses it (a hold's, an open iteration's, once
   * they end); the next lease opens LevelDB afresh. LevelDB's log writer counts a record it could
   * not finish as written, so the records appended after it land out of place, and its next open
   * drops them: acknowledged writes lost. Reopened, it drops only the unfinished record, at the
   * log's end, as after a crash. New leases are not held back meanwhile: one that waited for an
   * iteration its own caller keeps open would never get its turn.
   */
  discard(db: Db): void {
    if (this.db !== db || this.closing) return;
    this.failed = db;
    if (this.active === 0) this.closeIdle();
  }

  /** Whether a write failed on `db` (discard): no write may follow it there. */
  failedOn(db: Db): boolean {
    return this.failed === db;
  }

  /**
   * Another store of this process asked for the database: handed over as a request found by
   * `handOver` is (once the operations in flight end; not while pinned), without waiting for the
   * next look for requests.
   */
  handOverAsked(): void {
    if (!(this.idleCloseMs > 0) || this.shuttingDown || this.pins !== 0 || !this.db || this.closing || this.draining) return;
    this.startHandOver();
  }

  /** Hands over before taking more work: at once when idle, else once the work in flight ends. */
  private startHandOver(): void {
    if (this.active === 0) this.closeIdle();
    else this.draining = true;
  }

  /**
   * Closes LevelDB now when nothing uses or pins it (the next lease opens it again), so another
   * process gets its turn without waiting for the idle delay. False when it stays open.
   */
  async closeIfIdle(): Promise<boolean> {
    if (this.active > 0 || this.pins > 0 || this.shuttingDown) return false;
    this.closeIdle();
    if (this.closing) await this.closing;
    return this.db === undefined;
  }

  /**
   * Waits for every lease to be released, then closes LevelDB. Errors from close propagate.
   * After `maxWaitMs` the leases still held (a consumer that stopped pulling from an iterator) are
   * revoked and LevelDB is closed under them; operations in flight inside LevelDB still finish.
   */
  async shutdown(maxWaitMs = Infinity): Promise<void> {
    this.shuttingDown = true;
    this.cancelIdle();
    this.draining = false;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    const deadline = Date.now() + maxWaitMs;
    while (this.active > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.revokeAll();
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.idleWaiters.push(() => {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.closing) await this.closing;
    const db = this.db;
    this.db = undefined;
    if (db) await db.close();
  }

  private revokeAll(): void {
    for (const lease of this.leases) lease.revoked = true;
    this.leases.clear();
    this.generation++;
    this.active = 0;
  }

  private async acquire(): Promise<Db> {
    for (;;) {
      if (this.closing) {
        await this.closing;
        continue;
      }
      if (this.db) return this.db;
      this.opening ??= this.openDb().then(
        (db) => {
          this.db = db;
          this.opening = undefined;
          return db;
        },
        (error: unknown) => {
          this.opening = undefined;
          throw error;
        },
      );
      return this.opening;
    }
  }

  private done(): void {
    this.active--;
    if (this.active > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.lastUsed = performance.now();
    // A write failed on it (discard): closed now that nothing uses it, reopened by the next lease.
    if (this.failed !== undefined && this.failed === this.db) {
      this.closeIdle();
      return;
    }
    if (this.draining || this.handOverNow()) {
      this.draining = false;
      this.closeIdle();
      // They reopen after the close (acquire waits for it), behind the process that asked.
      for (const resolve of this.drainWaiters.splice(0)) resolve();
      return;
    }
    if (this.timer === undefined) this.scheduleIdle(this.handOver ? Math.min(IDLE_HANDOVER_POLL_MS, this.idleCloseMs) : this.idleCloseMs);
  }

  /** Only a sharing handle (idleCloseMs > 0) hands over, and never while shutting down. */
  private handOverNow(): boolean {
    if (!(this.idleCloseMs > 0) || this.shuttingDown || this.pins !== 0 || this.handOver === undefined) return false;
    // A busy holder asks at most every HANDOVER_CHECK_MS: a stat per operation costs as much as a
    // LevelDB put, and a waiter polls every 20 ms anyway.
    const now = performance.now();
    if (now - this.lastHandOverCheck < HANDOVER_CHECK_MS) return false;
    this.lastHandOverCheck = now;
    return this.handOver();
  }

  private cancelIdle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleIdle(delayMs: number): void {
    if (this.idleCloseMs <= 0 || this.shuttingDown) return;
    this.cancelIdle();
    this.timer = setTimeout(() => this.onIdleTimer(), delayMs);
    // A deploy script that is done should exit now, not after the idle delay.
    this.timer.unref();
  }

  private onIdleTimer(): void {
    this.timer = undefined;
    // In use now: the release that ends it schedules the next check.
    if (this.active > 0) return;
    // Idle and asked for by another process: its turn now, not when the idle delay ends.
    if (this.handOverNow()) {
      this.closeIdle();
      return;
    }
    const idleFor = performance.now() - this.lastUsed;
    if (idleFor < this.idleCloseMs) {
      const left = Math.max(1, this.idleCloseMs - idleFor);
      this.scheduleIdle(this.handOver ? Math.min(IDLE_HANDOVER_POLL_MS, left) : left);
      return;
    }
    this.closeIdle();
  }

  private closeIdle(): void {
    const db = this.db;
    if (this.active > 0 || this.opening || this.closing || !db) return;
    this.db = undefined;
    if (this.failed === db) this.failed = undefined;
    // A failed idle close leaves nothing to recover: the next call opens a fresh handle.
    this.closing = db.close().then(
      () => {
        this.closing = undefined;
      },
      () => {
        this.closing = undefined;
      },
    );
  }
}
