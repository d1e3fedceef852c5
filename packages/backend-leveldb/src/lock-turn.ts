// Whether this process would get its turn on LevelDB, found without opening it (an open rewrites
// its log and MANIFEST, and read-only commands change no byte there): the holders are asked to hand
// it over, as an open asks, and its LOCK is watched for as long as an open waits.
import { join } from 'node:path';
import { isStopped, lockHolders, sleep } from '@deploystate/core';
import { Handover } from './handover.js';
import { lockWaitBudgetMs, type LockWait } from './leveldb-options.js';

/** A process holding LevelDB's lock. `stopped`: paused (SIGSTOP, a debugger), so it cannot hand it over until resumed. */
export interface LevelDbHolder {
  pid: number;
  command: string;
  stopped: boolean;
}

const POLL_MS = 20;

/**
 * The other processes that still hold the LevelDB at `location` once an open would have stopped
 * waiting (`lockWait`, the opening store's): empty when it is free or was handed over. A holder
 * that shares hands it over on request (a deploy script between writes); one that is stopped never
 * can, and the answer comes at once. Linux only (the holders are read from /proc): elsewhere empty.
 */
export async function holdersAfterWait(location: string, lockWait: LockWait): Promise<LevelDbHolder[]> {
  const lockFile = join(location, 'LOCK');
  const holders = (): LevelDbHolder[] =>
    lockHolders(lockFile)
      .filter((h) => h.pid !== process.pid)
      .map((h) => ({ ...h, stopped: isStopped(h.pid) }));
  let now = holders();
  if (now.length === 0) return now;
  const handover = new Handover(location);
  const deadline = Date.now() + lockWaitBudgetMs(lockWait);
  try {
    while (now.length > 0 && !now.every((h) => h.stopped) && Date.now() < deadline) {
      handover.request();
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
      now = holders();
    }
  } finally {
    handover.withdraw();
  }
  return now;
}
