// The wait for git and for a folder to settle (untilGitDone, gitAtWork), on real folders with their
// time stamps set: whether the wait is still sleeping is read at the next turn of the event loop
// (a wait that returns at once settles before it, one that sleeps a poll cannot), so nothing here
// depends on how fast the machine is.
import { mkdirSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitAtWork, gitBusy, untilGitDone } from '../src/index.js';
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

// One git command is several steps that each hold index.lock on their own (a merge that aborts on
// a dirty file: stash create, its strategy, read-tree --reset -u, stash apply), with gaps between
// them in which no lock is held: git's folder changed just before each gap.
describe('gitBusy', () => {
  it("is true while index.lock is fresh or git's folder changed within settleMs; a stale lock and a quiet folder are not busy", () => {
    const repo = join(dir, 'busy');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'deployments'));
    const gitDir = join(repo, '.git');
    const lock = join(gitDir, 'index.lock');
    const folder = join(repo, 'deployments');
    // A gap: the lock just let go of.
    stamp(gitDir, 0);
    expect(gitAtWork(folder)).toBe(false);
    expect(gitBusy(folder, 60_000)).toBe(true);
    stamp(gitDir, -120_000);
    expect(gitBusy(folder, 60_000)).toBe(false);
    // Git's folder stamped ahead of the clock cannot be told quiet by its age: quiet, as untilGitDone's quietMs.
    stamp(gitDir, 3_600_000);
    expect(gitBusy(folder, 60_000)).toBe(false);
    writeFileSync(lock, '');
    stamp(lock, 0);
    stamp(gitDir, -120_000);
    expect(gitBusy(folder, 60_000)).toBe(true);
    // A lock a crashed git left behind: no git command runs beside it, however new the folder's change.
    stamp(lock, -60_000);
    stamp(gitDir, 0);
    expect(gitBusy(folder, 60_000)).toBe(false);
    unlinkSync(lock);
    // Outside a repository: never.
    expect(gitBusy(dir, 60_000)).toBe(false);
  });

  it('untilGitDone with settleMs waits across the gap between two steps, and returns once git has settled', async () => {
    const repo = join(dir, 'steps');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'deployments'));
    const gitDir = join(repo, '.git');
    const lock = join(gitDir, 'index.lock');
    const folder = join(repo, 'deployments');
    writeFileSync(lock, '');
    stamp(lock, 0);
    const settled = watch(untilGitDone(folder, { settleMs: 60_000, maxWaitMs: 60_000 }));
    const plain = watch(untilGitDone(folder, { maxWaitMs: 60_000 }));
    await nextTurn();
    expect(settled.ended()).toBe(false);
    // The step ends: its lock goes, and git's folder changed just now.
    unlinkSync(lock);
    stamp(gitDir, 0);
    await plain.wait;
    await nextTurn();
    expect(settled.ended()).toBe(false);
    // Quiet for longer than asked: the next poll sees it.
    stamp(gitDir, -120_000);
    await settled.wait;
  });
});
