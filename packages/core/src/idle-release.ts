// A descriptor a store keeps open between uses (the journal's append descriptor, the folder a JSON
// store syncs) is let go once the store has gone unused for a while. A deploy script that creates a
// store per call and closes none (as legacy code used its StateManager) then holds no descriptor per
// store for the rest of its run; a store in use keeps its descriptor, and one that is used again
// after the release opens it again.

/** How long a store's kept descriptor stays open without a use: LevelDB's idle close (1 s) alike. */
export const DESCRIPTOR_IDLE_MS = 1_000;

/**
 * Calls `release` once `touch()` has not been called for `idleMs`. One timer per idle spell, armed
 * by the first use after a release (or ever) and pushed back by what used it since, so a use costs
 * a clock read, not a timer. The timer never keeps the process alive. `release` returns false when
 * it cannot let go now (work still runs on the descriptor): the timer is then armed again.
 */
export class IdleRelease {
  private lastUse = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly release: () => boolean,
    private readonly idleMs: number = DESCRIPTOR_IDLE_MS,
  ) {}

  /** Marks a use of what is kept. */
  touch(): void {
    this.lastUse = performance.now();
    if (this.timer === undefined) this.arm(this.idleMs);
  }

  /** Stops waiting (what is kept was let go by other means, such as close()). */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms);
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const idle = performance.now() - this.lastUse;
    if (idle < this.idleMs) this.arm(this.idleMs - idle);
    else if (!this.release()) this.arm(this.idleMs);
  }
}
