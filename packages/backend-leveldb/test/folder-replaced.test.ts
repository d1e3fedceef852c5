// A committed LevelDB replaced under a running store (git stash -u, a checkout, a reset): the files
// the open handle writes to are gone from the folder, so every later put was acknowledged into an
// unlinked file and lost, silently (git hunt: all 54-57 writes after a stash, 3 of 3). The store now
// notices its MANIFEST is no longer the folder's and reopens before writing: later puts land in the
// folder as it is now. Reads look the same way: a script reading every few ms never let its handle
// idle-close, and kept reading the old files for as long as it ran (reads hunt: 12 of 12 runs of a
// reader after git reset --hard, checkout -f or stash -u still saw the old record 1.5 s later).
import { execFileSync } from 'node:child_process';
import { cp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, sleep } from '@deploystate/core';
import { LevelDbStore } from '../src/index.js';
import { rec, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('replaced', { seed: true, git: true });

describe('a LevelDB folder replaced under an open store', () => {
  it.each([
    ['kept open', 0],
    ['idle-closing', 1_000],
  ])('puts after the replacement land in the folder as it is now (%s)', async (_, idleCloseMs) => {
    const committed = join(folder.dir, 'committed');
    await cp(folder.path, committed, { recursive: true });
    const store = new LevelDbStore({ path: folder.path, idleCloseMs });
    await store.open();
    for (let i = 0; i < 5; i++) await store.put(rec(56, `Before${i}`));
    // What git does to the folder: the working files replaced by the committed ones.
    await rm(folder.path, { recursive: true });
    await cp(committed, folder.path, { recursive: true });
    for (let i = 0; i < 5; i++) await store.put(rec(56, `After${i}`));
    await store.close();
    const reopened = new LevelDbStore({ path: folder.path });
    await reopened.open();
    const names = (await reopened.list(56)).map((r) => r.contractName);
    await reopened.close();
    expect(names).toEqual(expect.arrayContaining(['Seed', 'After0', 'After1', 'After2', 'After3', 'After4']));
  });
});

describe('reads on a LevelDB folder replaced under an open store', () => {
  /**
   * The folder's next version beside it (Seed's address changed, Added added), and a store kept
   * busy on the current one: idle-closing, but read often enough that it never closes by itself.
   */
  async function busyStoreAndNextVersion(closeWaitMs?: number): Promise<{ store: LevelDbStore; next: string }> {
    const next = join(folder.dir, 'next');
    await cp(folder.path, next, { recursive: true });
    const other = new LevelDbStore({ path: next, idleCloseMs: 0 });
    await other.open();
    await other.put(rec(56, 'Seed', { address: `0x${'b'.repeat(40)}` }));
    await other.put(rec(56, 'Added'));
    await other.close();
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 1_000, ...(closeWaitMs !== undefined && { closeWaitMs }) });
    await store.open();
    expect((await store.get(56, 'Seed'))?.address).toBe(rec(56, 'Seed').address);
    return { store, next };
  }

  /** What git reset --hard does to a committed folder, by another process: the files replaced by the other version's. */
  function replaceFolder(next: string): void {
    execFileSync('sh', ['-c', 'rm -rf "$0" && cp -R "$1" "$0"', folder.path, next]);
  }

  it('get, has, list and iterate after the replacement read the folder as it is now', async () => {
    const { store, next } = await busyStoreAndNextVersion();
    replaceFolder(next);
    expect((await store.get(56, 'Seed'))?.address).toBe(`0x${'b'.repeat(40)}`);
    expect(await store.has(56, 'Added')).toBe(true);
    expect((await store.list(56)).map((r) => r.contractName).sort()).toEqual(['Added', 'Seed']);
    replaceFolder(join(folder.dir, 'next'));
    const names: string[] = [];
    for await (const { record } of store.iterate()) names.push(record.contractName);
    expect(names.sort()).toEqual(['Added', 'Seed']);
    await store.close();
  });

  it('concurrent gets after the replacement all read the folder as it is now', async () => {
    const { store, next } = await busyStoreAndNextVersion();
    replaceFolder(next);
    const seen = await Promise.all(Array.from({ length: 8 }, () => store.get(56, 'Seed')));
    expect(seen.map((r) => r?.address)).toEqual(Array(8).fill(`0x${'b'.repeat(40)}`));
    await store.close();
  });

  /** A git repository around the store's folder, on `main` (Seed), with a branch `next` whose MANIFEST number differs from the one an open of `main` makes. */
  async function repositoryWithNext(): Promise<(...args: string[]) => void> {
    const git = (...args: string[]): void => {
      execFileSync('git', args, { cwd: folder.dir, stdio: 'pipe' });
    };
    git('config', 'user.email', 'reads@example.com');
    git('config', 'user.name', 'reads');
    git('add', '-A');
    git('commit', '-qm', 'seed');
    git('checkout', '-qb', 'next');
    // Opened twice: its MANIFEST is two numbers past main's, the store's own open below one.
    for (const put of [false, true]) {
      const other = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
      await other.open();
      if (put) await other.put(rec(56, 'Added'));
      await other.close();
    }
    git('add', '-A');
    git('commit', '-qm', 'next');
    git('checkout', '-qf', 'main');
    git('clean', '-qfdx');
    return git;
  }

  it('git reset --hard to a commit whose MANIFEST has another number: reads and writes go to the folder as it is now', async () => {
    const git = await repositoryWithNext();
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 1_000 });
    await store.open();
    expect(await store.has(56, 'Added')).toBe(false);
    // CURRENT is rewritten; the MANIFEST the store's open made is untracked, so git leaves it in place.
    git('reset', '-q', '--hard', 'next');
    expect(await store.has(56, 'Added')).toBe(true);
    await store.put(rec(56, 'After'));
    await store.close();
    const reopened = new LevelDbStore({ path: folder.path });
    await reopened.open();
    const names = (await reopened.list(56)).map((r) => r.contractName).sort();
    await reopened.close();
    expect(names).toEqual(['Added', 'After', 'Seed']);
  });

  it('a copy of another version written over the folder in place (cp) is seen by the next read', async () => {
    const git = await repositoryWithNext();
    const next = join(folder.dir, 'next-copy');
    git('checkout', '-qf', 'next');
    await cp(folder.path, next, { recursive: true });
    git('checkout', '-qf', 'main');
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 1_000 });
    await store.open();
    expect(await store.has(56, 'Added')).toBe(false);
    // cp writes into the files that exist (CURRENT keeps its inode) and leaves the others.
    execFileSync('cp', ['-R', `${next}/.`, folder.path]);
    expect(await store.has(56, 'Added')).toBe(true);
    await store.close();
  });

  it('a folder replaced while git still holds its index is opened again only once git is done', async () => {
    const git = await repositoryWithNext();
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 1_000 });
    await store.open();
    expect(await store.has(56, 'Added')).toBe(false);
    git('checkout', '-qf', 'next');
    // A git command still at work on the work tree: it holds the index's lock until it is done.
    const indexLock = join(folder.dir, '.git', 'index.lock');
    await writeFile(indexLock, '');
    const files = await readdir(folder.path);
    let answered = false;
    const read = store.has(56, 'Added').finally(() => {
      answered = true;
    });
    await sleep(300);
    // Not opened under git (an open renames LOG and writes a new MANIFEST and CURRENT).
    expect(answered).toBe(false);
    expect(await readdir(folder.path)).toEqual(files);
    await rm(indexLock);
    expect(await read).toBe(true);
    await store.close();
  });

  it('a get while an iteration of this store holds the replaced files fails, never answering from them', async () => {
    const { store, next } = await busyStoreAndNextVersion(100);
    await store.put(rec(56, 'Second'));
    const iteration = store.iterate()[Symbol.asyncIterator]();
    await iteration.next();
    replaceFolder(next);
    await expect(store.get(56, 'Seed')).rejects.toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE, file: folder.path });
    await iteration.return?.(undefined);
    expect((await store.get(56, 'Seed'))?.address).toBe(`0x${'b'.repeat(40)}`);
    await store.close();
  });
});

// A put that LevelDB wrote after a git command took the index, into the log that git then replaced
// with a teammate's (a pull bringing a LevelDB whose files have the names this store's open gave
// its own): acknowledged, and gone once git was done (repro: a deploy script putting every ms, one
// `git reset --hard` or `git checkout <commit> -- leveldb` to such a commit per run, 16 of 16 puts
// that returned while git held its lock lost in 20 runs; the same 20 runs lost 11-12 puts that
// returned after git took its lock). The put now waits for git and writes again on the folder git left.
describe('a put while git replaces the folder', () => {
  it('does not return while git holds its index, and lands in the folder git leaves', async () => {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: folder.dir, stdio: 'pipe' }).toString();
    git('-c', 'user.email=w@example.com', '-c', 'user.name=w', 'add', '-A');
    git('-c', 'user.email=w@example.com', '-c', 'user.name=w', 'commit', '-qm', 'seed');
    git('checkout', '-qb', 'teammate');
    // The teammate opened the folder once, as the store below does: the same file names.
    const other = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await other.open();
    await other.put(rec(56, 'Teammate'));
    await other.close();
    git('-c', 'user.email=w@example.com', '-c', 'user.name=w', 'add', '-A');
    git('-c', 'user.email=w@example.com', '-c', 'user.name=w', 'commit', '-qm', 'teammate');
    git('checkout', '-qf', 'main');
    git('clean', '-qfdx');
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 1_000 });
    await store.open();
    await store.put(rec(56, 'Before'));
    // git at work: it holds the index's lock and has not reached leveldb/ yet when the put is written.
    const indexLock = join(folder.dir, '.git', 'index.lock');
    await writeFile(indexLock, '');
    let answered = false;
    const put = store.put(rec(56, 'During')).finally(() => {
      answered = true;
    });
    await sleep(200);
    expect(answered).toBe(false);
    // Then git writes the teammate's files over the folder (real git, through an index of its own,
    // since the lock above stands for the command at work), and lets go of its lock.
    execFileSync('git', ['checkout', '-q', 'teammate', '--', 'leveldb'], {
      cwd: folder.dir,
      stdio: 'pipe',
      env: { ...process.env, GIT_INDEX_FILE: join(folder.dir, '.git', 'teammate-index') },
    });
    await rm(indexLock);
    await put;
    expect((await store.list(56)).map((r) => r.contractName).sort()).toEqual(['During', 'Seed', 'Teammate']);
    await store.close();
  });
});
