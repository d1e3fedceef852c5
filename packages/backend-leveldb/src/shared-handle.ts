// One LevelDB handle shared by every call of one store: opened on demand, counted while in use,
// closed after an idle delay so another process can take its turn with the lock. Every open,
// lease and close goes through here, so concurrent calls never open twice or close under a reader.

export interface Lease<Db> {
  db: Db;
  release(): void;
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
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(
    private readonly openDb: () => Promise<Db>,
    /** 0 keeps the handle open until shutdown. */
    private readonly idleCloseMs: number,
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
    this.active++;
    this.cancelIdle();
    let db: Db;
    try {
      db = await this.acquire();
    } catch (error) {
      this.done();
      throw error;
    }
    let released = false;
    return {
      db,
      release: () => {
        if (released) return;
        released = true;
        this.done();
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

  /** Waits for every lease to be released, then closes LevelDB. Errors from close propagate. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.cancelIdle();
    while (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.closing) await this.closing;
    const db = this.db;
    this.db = undefined;
    if (db) await db.close();
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
    this.scheduleIdle();
  }

  private cancelIdle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleIdle(): void {
    if (this.idleCloseMs <= 0 || this.shuttingDown) return;
    this.cancelIdle();
    this.timer = setTimeout(() => this.closeIdle(), this.idleCloseMs);
    // A deploy script that is done should exit now, not after the idle delay.
    this.timer.unref();
  }

  private closeIdle(): void {
    this.timer = undefined;
    const db = this.db;
    if (this.active > 0 || this.opening || this.closing || !db) return;
    this.db = undefined;
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
