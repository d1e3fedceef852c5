// The write fence (fence.ts) as one process's writes hold it: shared, and kept between back-to-back
// writes so each does not take the kernel lock anew. A gate still gets its turn: the lease ends once
// writes have been idle a moment, and before the next write when a gate shows it is waiting.
import { LockLease } from '@deploystate/backend-json/lock';
import { WRITE_FENCE_WAIT_MS } from './fence.js';
import type { StateFiles } from './paths.js';

/**
 * How long the fence stays held after a process's last write. A gate that waits meanwhile gets it
 * within this long (or at the next write, which hands over first); writes closer together than this
 * share one take of the lock.
 */
export const WRITE_FENCE_IDLE_MS = 50;

export class WriteFence {
  private readonly lease: LockLease;

  constructor(files: Pick<StateFiles, 'fence'>) {
    this.lease = new LockLease(files.fence, {
      lockFile: files.fence,
      mode: 'shared',
      timeoutMs: WRITE_FENCE_WAIT_MS,
      idleMs: WRITE_FENCE_IDLE_MS,
    });
  }

  /** Runs one write holding the fence shared (writes of this process may overlap: they share it). */
  run<T>(write: () => Promise<T>): Promise<T> {
    return this.lease.run(() => write());
  }

  /**
   * Runs one write on the fence this process holds now, idle, when no gate waits for it and its lock
   * file is still the one held (the checks run() makes before it uses a held lease); undefined, with
   * nothing run, otherwise: the write then takes the fence by run(), a waiting gate first.
   */
  runHeld<T>(write: () => Promise<T>): Promise<T> | undefined {
    const lease = this.lease;
    if (!lease.idleHeld || lease.waitedFor() || !lease.confirm()) return undefined;
    return lease.runUnchecked(() => write());
  }

  /** Lets the fence go now (the store's close). */
  release(): Promise<void> {
    return this.lease.release();
  }
}
