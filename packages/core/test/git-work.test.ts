// The wait for git and for a folder to settle (untilGitDone, gitAtWork), on real folders with their
// time stamps set: whether the wait is still sleeping is read at the next turn of the event loop
// (a wait that returns at once settles before it, one that sleeps a poll cannot), so nothing here
// depends on how fast the machine is.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitAtWork, gitBusy, gitCommandOf, gitStashed, gitStepInProgress, gitStepMarked, readBesideGit, untilGitDone } from '../src/index.js';
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

/** A fresh repository under the temp folder: its deployments folder, git's folder and index.lock's path. */
function repository(name: string): { folder: string; gitDir: string; lock: string } {
  const repo = join(dir, name);
  mkdirSync(join(repo, 'deployments'), { recursive: true });
  execFileSync('git', ['init', '-q', repo]);
  return { folder: join(repo, 'deployments'), gitDir: join(repo, '.git'), lock: join(repo, '.git', 'index.lock') };
}

/** git takes the index now and lets go a moment later, its folder quiet since. */
function holdIndexBriefly(lock: string, gitDir: string): void {
  writeFileSync(lock, '');
  stamp(lock, 0);
  setTimeout(() => {
    unlinkSync(lock);
    stamp(gitDir, -120_000);
  }, 30);
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
// them in which no lock is held; the command that runs the steps lives throughout. `git status` (an
// editor's panel, a shell prompt) changes git's folder as it refreshes the index: a put beside it
// waited 250 ms each time (5 s at worst, with one every 0.2 s) when any change of the folder counted.
/**
 * A git process working in `cwd` until its input ends (as the command that runs a merge's steps
 * lives across them): `git apply`, which rewrites the work tree, reading its patch; with
 * `rewrites: false`, `git hash-object`, which rewrites nothing (as `git log` in a pager, or the
 * lost-write check's own `git cat-file`).
 */
async function runningGit(cwd: string, rewrites = true): Promise<ChildProcess> {
  const args = rewrites ? ['apply', '--check'] : ['hash-object', '--stdin'];
  const child = spawn('git', args, { cwd, stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

describe('gitBusy', () => {
  it('is true while index.lock is fresh, or while a git process runs in the work tree after git\'s folder changed; a stale lock and a quiet folder are not busy', async () => {
    const { folder, gitDir, lock } = repository('busy');
    // git's folder changed just now, no git runs (a status that has ended): not busy.
    stamp(gitDir, 0);
    expect(gitAtWork(folder)).toBe(false);
    expect(gitBusy(folder, 60_000)).toBe(false);
    // A git running in the work tree (here one waiting for its input, as a command between two steps).
    const running = await runningGit(folder);
    try {
      expect(gitBusy(folder, 60_000)).toBe(process.platform === 'linux');
      // The folder quiet since: done, whatever runs.
      stamp(gitDir, -120_000);
      expect(gitBusy(folder, 60_000)).toBe(false);
    } finally {
      running.stdin?.end();
      await new Promise((resolve) => running.once('exit', resolve));
    }
    // A git that rewrites nothing (a pager's `git log`, an editor's `git status`, the store's own
    // `git cat-file`) holds nothing, however often git's folder changes beside it: a read waited 3.2 s.
    const reader = await runningGit(folder, false);
    try {
      stamp(gitDir, 0);
      expect(gitBusy(folder, 60_000)).toBe(false);
    } finally {
      reader.stdin?.end();
      await new Promise((resolve) => reader.once('exit', resolve));
    }
    stamp(gitDir, 0);
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

  it('where no process table can be read, tells a command of several steps by the marks it leaves, never by an index refresh', () => {
    const gitDir = join(dir, 'marks', '.git');
    mkdirSync(join(gitDir, 'logs'), { recursive: true });
    expect(gitStepMarked(gitDir, 60_000)).toBe(false);
    writeFileSync(join(gitDir, 'index'), '');
    stamp(join(gitDir, 'index'), 0);
    expect(gitStepMarked(gitDir, 60_000)).toBe(false);
    for (const mark of ['ORIG_HEAD', 'AUTO_MERGE', join('logs', 'HEAD')]) {
      writeFileSync(join(gitDir, mark), '');
      stamp(join(gitDir, mark), 0);
      expect(gitStepMarked(gitDir, 60_000), mark).toBe(true);
      stamp(join(gitDir, mark), -120_000);
      expect(gitStepMarked(gitDir, 60_000), mark).toBe(false);
    }
    mkdirSync(join(gitDir, 'rebase-merge'));
    expect(gitStepMarked(gitDir, 60_000)).toBe(true);
  });

  it('untilGitDone with settleMs waits across the gap between two steps, and returns once the command has ended', async () => {
    const { folder, gitDir, lock } = repository('steps');
    // The command that runs the steps (here a git waiting for its input) lives across the gap.
    const command = await runningGit(folder);
    writeFileSync(lock, '');
    stamp(lock, 0);
    const settled = watch(untilGitDone(folder, { settleMs: 60_000, maxWaitMs: 60_000 }));
    const plain = watch(untilGitDone(folder, { maxWaitMs: 60_000 }));
    await nextTurn();
    expect(settled.ended()).toBe(false);
    // The step ends: its lock goes, git's folder changed just now, the command still runs.
    unlinkSync(lock);
    stamp(gitDir, 0);
    await plain.wait;
    await nextTurn();
    expect(settled.ended()).toBe(process.platform !== 'linux' ? settled.ended() : false);
    // The command ends: the next poll sees git done, though its folder changed just now.
    command.stdin?.end();
    await new Promise((resolve) => command.once('exit', resolve));
    if (process.platform !== 'linux') stamp(gitDir, -120_000);
    await settled.wait;
  });
});

// `git stash && git stash pop`: the files come back in a second command, with no git running in
// between; a read in that gap found the stashed version (a record an earlier script wrote, absent).
describe('gitBusy after a stash', () => {
  it('is busy for settleMs after refs/stash changed, though no git process runs', () => {
    const { folder, gitDir } = repository('stash');
    const stash = join(gitDir, 'refs', 'stash');
    writeFileSync(stash, '0000000000000000000000000000000000000000\n');
    stamp(stash, 0);
    stamp(gitDir, 0);
    expect(gitBusy(folder, 60_000)).toBe(true);
    stamp(stash, -120_000);
    expect(gitBusy(folder, 60_000)).toBe(false);
    // Held still: what a record missing from the work tree may be in.
    expect(gitStashed(folder)).toBe(true);
    unlinkSync(stash);
    expect(gitStashed(folder)).toBe(false);
  });

  // `git stash; git pull; git stash pop`: the pull's fetch runs for seconds with git's folder quiet.
  it('is busy while a command that rewrites the work tree runs within GIT_WAIT_MAX_MS of a stash, its folder quiet', async () => {
    const { folder, gitDir } = repository('stash-pull');
    const stash = join(gitDir, 'refs', 'stash');
    writeFileSync(stash, '0000000000000000000000000000000000000000\n');
    stamp(stash, -2_000);
    stamp(gitDir, -120_000);
    expect(gitBusy(folder, 250)).toBe(false);
    const pull = await runningGit(folder);
    try {
      expect(gitBusy(folder, 250)).toBe(process.platform === 'linux');
      stamp(stash, -120_000);
      expect(gitBusy(folder, 250)).toBe(false);
    } finally {
      pull.stdin?.end();
      await new Promise((resolve) => pull.once('exit', resolve));
    }
  });

  // A rebase replaying commits one by one (each a merge driver's process on a loaded machine): git's
  // folder stayed quiet past settleMs mid-rebase, and a read found the upstream's file (CI).
  it('is busy while a rebase or sequencer folder is there and a command that rewrites the work tree runs, its folder quiet', async () => {
    const { folder, gitDir } = repository('replaying');
    mkdirSync(join(gitDir, 'rebase-merge'));
    stamp(gitDir, -120_000);
    expect(gitBusy(folder, 250)).toBe(false);
    const rebase = await runningGit(folder);
    try {
      expect(gitBusy(folder, 250)).toBe(process.platform === 'linux');
    } finally {
      rebase.stdin?.end();
      await new Promise((resolve) => rebase.once('exit', resolve));
    }
    expect(gitBusy(folder, 250)).toBe(false);
  });

  // A linked worktree's git folder is `.git/worktrees/<name>`; the stash lives in the common folder.
  it("in a linked worktree, sees the stash in the repository's common folder", () => {
    const repo = join(dir, 'stash-main');
    execFileSync('git', ['init', '-q', repo]);
    const linked = join(dir, 'stash-linked');
    const linkedGitDir = join(repo, '.git', 'worktrees', 'linked');
    mkdirSync(linkedGitDir, { recursive: true });
    mkdirSync(join(linked, 'deployments'), { recursive: true });
    writeFileSync(join(linked, '.git'), `gitdir: ${linkedGitDir}\n`);
    writeFileSync(join(linkedGitDir, 'commondir'), '../..\n');
    stamp(linkedGitDir, -120_000);
    const stash = join(repo, '.git', 'refs', 'stash');
    writeFileSync(stash, '0000000000000000000000000000000000000000\n');
    stamp(stash, 0);
    expect(gitBusy(join(linked, 'deployments'), 60_000)).toBe(true);
    stamp(stash, -120_000);
    expect(gitBusy(join(linked, 'deployments'), 60_000)).toBe(false);
  });
});

describe('gitCommandOf', () => {
  it("reads git's command past its own options, or from a dashed program name", () => {
    expect(gitCommandOf(['git', 'pull', '--rebase'])).toBe('pull');
    expect(gitCommandOf(['/usr/bin/git', '-C', '/p', '-c', 'user.name=x', '--no-pager', 'stash', 'pop'])).toBe('stash');
    expect(gitCommandOf(['git', '--git-dir=/p/.git', 'merge'])).toBe('merge');
    expect(gitCommandOf(['/usr/lib/git-core/git-merge-ort', 'x'])).toBe('merge-ort');
    expect(gitCommandOf(['git', '--version'])).toBeUndefined();
  });
});

describe('gitStepInProgress', () => {
  it('names the command a repository holds stopped part-way, by the file or folder git keeps for it', () => {
    const { folder, gitDir } = repository('in-progress');
    expect(gitStepInProgress(folder)).toBeUndefined();
    for (const [mark, step] of [
      ['MERGE_HEAD', 'merge'],
      ['CHERRY_PICK_HEAD', 'cherry-pick'],
      ['REVERT_HEAD', 'revert'],
    ] as const) {
      writeFileSync(join(gitDir, mark), '');
      expect(gitStepInProgress(folder), mark).toBe(step);
      unlinkSync(join(gitDir, mark));
    }
    mkdirSync(join(gitDir, 'rebase-apply'));
    expect(gitStepInProgress(folder)).toBe('rebase');
    // `git am` keeps rebase-apply too, with `applying` in it: its way out is `git am --continue`.
    writeFileSync(join(gitDir, 'rebase-apply', 'applying'), '');
    expect(gitStepInProgress(folder)).toBe('am');
    mkdirSync(join(gitDir, 'rebase-merge'));
    expect(gitStepInProgress(folder)).toBe('rebase');
    expect(gitStepInProgress(dir)).toBeUndefined();
  });
});

// A read that met a git command rewriting the file in steps answered one step's whole version (the
// stash's, the upstream one a rebase starts from): a get answered null for a record that was there
// before and after the command.
describe('readBesideGit', () => {
  const race = { missing: (r: string) => r === 'missing', unfinished: () => false, exists: () => true };

  it('waits while git holds the index before it reads', async () => {
    const { folder, gitDir, lock } = repository('read-wait');
    writeFileSync(lock, '');
    stamp(lock, 0);
    let reads = 0;
    const reading = watch(readBesideGit(folder, async () => `read ${++reads}`, race).then(() => undefined));
    await nextTurn();
    expect(reads).toBe(0);
    unlinkSync(lock);
    stamp(gitDir, -120_000);
    await reading.wait;
    expect(reads).toBe(1);
  });

  it('a read that finds the text cut short as git takes the index reads again only once git is done', async () => {
    const { folder, gitDir, lock } = repository('read-unfinished');
    stamp(gitDir, -120_000);
    const cutShort = new Error('cut short');
    let reads = 0;
    const answer = readBesideGit(
      folder,
      async () => {
        reads++;
        // git is writing the file while it holds the index: its text is cut short until then.
        if (reads === 1) holdIndexBriefly(lock, gitDir);
        if (existsSync(lock)) throw cutShort;
        return 'the file git wrote';
      },
      { ...race, unfinished: (error) => error === cutShort },
    );
    await expect(answer).resolves.toBe('the file git wrote');
    expect(reads).toBe(2);
  });

  it('reads again once git is done when a command began during the read, and answers that read', async () => {
    const { folder, gitDir, lock } = repository('read-again');
    stamp(gitDir, -120_000);
    let reads = 0;
    const answer = readBesideGit(
      folder,
      async () => {
        reads++;
        if (reads === 1) {
          // git takes the index while the first read runs, and lets go a moment later.
          holdIndexBriefly(lock, gitDir);
          return 'one step\'s version';
        }
        return 'the version git left';
      },
      race,
    );
    await expect(answer).resolves.toBe('the version git left');
    expect(reads).toBe(2);
    // Outside a repository: one read.
    let outside = 0;
    await expect(readBesideGit(dir, async () => `read ${++outside}`, race)).resolves.toBe('read 1');
  });
});
