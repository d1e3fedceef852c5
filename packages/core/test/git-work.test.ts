// The wait for git and for a folder to settle (untilGitDone, gitAtWork), on real folders with their
// time stamps set: whether the wait is still sleeping is read at the next turn of the event loop
// (a wait that returns at once settles before it, one that sleeps a poll cannot), so nothing here
// depends on how fast the machine is.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitAtWork, untilGitDone } from '../src/index.js';
import { makeTempDir, removeTempDir } from '../src/testing/index.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('deploystate-git-work-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** The wait, and whether it has ended, as seen at each turn of the event loop. */
function watch(wait: Promise<void>): { ended: () => boolean; wait: Promise<void> } {
  let ended = false;
  void wait.then(() => (ended = true));
  return { ended: () => ended, wait };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Sets a path's modification time `offsetMs` from now. */
function stamp(path: string, offsetMs: number): void {
  const at = (Date.now() + offsetMs) / 1000;
  utimesSync(path, at, at);
}

describe('untilGitDone with quietMs', () => {
  it('waits while the folder changed within quietMs, and returns once it has been quiet that long', async () => {
    const folder = join(dir, 'changing');
    mkdirSync(folder);
    stamp(folder, 0);
    const quiet = watch(untilGitDone(folder, { quietMs: 60_000, maxWaitMs: 60_000 }));
    await nextTurn();
    expect(quiet.ended()).toBe(false);
    // Quiet for longer than asked: the next poll sees it.
    stamp(folder, -120_000);
    await quiet.wait;
    // Without quietMs only git is waited for, and none is at work here.
    stamp(folder, 0);
    const plain = watch(untilGitDone(folder, { maxWaitMs: 60_000 }));
    await nextTurn();
    expect(plain.ended()).toBe(true);
  });

  // A folder stamped ahead of the clock (the clock set back since, a mount's clock ahead) cannot be
  // told to be quiet by its age: taken for quiet, or every reopen would wait the whole bound.
  it('takes a folder stamped in the future for quiet, and returns at once', async () => {
    const folder = join(dir, 'future');
    mkdirSync(folder);
    stamp(folder, 3_600_000);
    const future = watch(untilGitDone(folder, { quietMs: 100, maxWaitMs: 5_000 }));
    await nextTurn();
    expect(future.ended()).toBe(true);
    // The same folder stamped now is not quiet yet.
    stamp(folder, 0);
    const now = watch(untilGitDone(folder, { quietMs: 60_000, maxWaitMs: 60_000 }));
    await nextTurn();
    expect(now.ended()).toBe(false);
    stamp(folder, -120_000);
    await now.wait;
  });
});

describe('gitAtWork', () => {
  it("is true while the repository's index.lock is fresh, false when it is stale or stamped in the future", () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'deployments'));
    const lock = join(repo, '.git', 'index.lock');
    writeFileSync(lock, '');
    const folder = join(repo, 'deployments');
    stamp(lock, 0);
    expect(gitAtWork(folder)).toBe(true);
    stamp(lock, -60_000);
    expect(gitAtWork(folder)).toBe(false);
    stamp(lock, 3_600_000);
    expect(gitAtWork(folder)).toBe(false);
  });
});
