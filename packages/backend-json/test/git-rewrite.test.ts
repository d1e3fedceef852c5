// A teammate's pull, checkout or reset rewrites deployments/*.json while a deploy script reads: git
// unlinks each file it updates and then writes the new one, holding the repository's index.lock
// all along. A read in between found the chain's file missing (null: the script deploys the
// contract again) or empty (CORRUPTED) (reads hunt: 717 null reads and 136 CORRUPTED "empty text"
// in 40 resets under a reader reading back to back; none in 80 since). Such a read now waits for git.
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '@deploystate/core';
import { readStateFile } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

// The module object the store's named imports are synced from (syncBuiltinESMExports).
const fsPromises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
const realReaddir = fsPromises.readdir;
afterEach(() => {
  fsPromises.readdir = realReaddir;
  syncBuiltinESMExports();
});

/** Runs `gitStarts` right before the store's first listing of `folder` reads it (after the listing's wait for git). */
function gitStartsDuringListing(folder: string, gitStarts: () => void): void {
  let started = false;
  fsPromises.readdir = ((path: string, ...rest: unknown[]) => {
    if (!started && path === folder) {
      started = true;
      gitStarts();
    }
    return (realReaddir as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fsPromises.readdir;
  syncBuiltinESMExports();
}

const setup = storePerTest();
const A = `0x${'a'.repeat(40)}`;
const B = `0x${'b'.repeat(40)}`;

/** A store that has read Token at A from a folder inside a git repository, and the file's next version (Token at B) set aside. */
async function readerInRepository() {
  const ctx = await setup();
  execFileSync('git', ['init', '-q'], { cwd: ctx.dir });
  const file = join(ctx.dir, 'bscmainnet.json');
  const next = join(ctx.dir, 'next.bytes');
  const previous = join(ctx.dir, 'previous.bytes');
  await ctx.store.put(rec(56, 'Token', { address: A }));
  await copyFile(file, previous);
  await ctx.store.put(rec(56, 'Token', { address: B }));
  await copyFile(file, next);
  execFileSync('sh', ['-c', 'cp "$0" "$1.tmp" && mv "$1.tmp" "$1"', previous, file]);
  const reader = await ctx.open();
  expect((await reader.get(56, 'Token'))?.address).toBe(A);
  return { reader, file, next, indexLock: join(ctx.dir, '.git', 'index.lock') };
}

/** Starts a get and reports whether it has answered. */
function pending<T>(read: Promise<T>): { read: Promise<T>; answered: () => boolean } {
  let answered = false;
  const tracked = read.finally(() => {
    answered = true;
  });
  return { read: tracked, answered: () => answered };
}

describe('reads while git rewrites a chain file', () => {
  it('a file git has unlinked and not yet written is waited for, never read as absent', async () => {
    const { reader, file, next, indexLock } = await readerInRepository();
    await writeFile(indexLock, '');
    execFileSync('rm', [file]);
    const get = pending(reader.get(56, 'Token'));
    await sleep(200);
    expect(get.answered()).toBe(false);
    execFileSync('sh', ['-c', 'cp "$0" "$1" && rm "$2"', next, file, indexLock]);
    expect((await get.read)?.address).toBe(B);
  });

  it('a file git has created and not yet filled is waited for, never reported CORRUPTED', async () => {
    const { reader, file, next, indexLock } = await readerInRepository();
    await writeFile(indexLock, '');
    execFileSync('sh', ['-c', 'rm "$0" && : > "$0"', file]);
    const get = pending(reader.get(56, 'Token'));
    await sleep(200);
    expect(get.answered()).toBe(false);
    execFileSync('sh', ['-c', 'cat "$0" > "$1" && rm "$2"', next, file, indexLock]);
    expect((await get.read)?.address).toBe(B);
  });

  it('a listing of every chain waits for a file git has unlinked, never leaves its chain out', async () => {
    const { reader, file, next, indexLock } = await readerInRepository();
    await writeFile(indexLock, '');
    execFileSync('rm', [file]);
    const all = pending(reader.query({}));
    await sleep(200);
    expect(all.answered()).toBe(false);
    execFileSync('sh', ['-c', 'cp "$0" "$1" && rm "$2"', next, file, indexLock]);
    expect((await all.read).map((r) => `${r.chainId}-${r.contractName} ${r.address}`)).toEqual([`56-Token ${B}`]);
  });

  // verify beside `git reset` in a loop: 1 verify in 900 missed a whole chain, and a listing in a
  // loop missed a network file 5 times in 80,000 (340 resets), git having begun between the
  // listing's wait and its read of the folder; none in 120,000 (964 resets) since.
  it('a listing git began during, after its wait, is made again once git is done', async () => {
    const { reader, file, next, indexLock } = await readerInRepository();
    gitStartsDuringListing(join(file, '..'), () => {
      execFileSync('sh', ['-c', ': > "$1" && rm "$0"', file, indexLock]);
      void sleep(200).then(() => execFileSync('sh', ['-c', 'cp "$0" "$1" && rm "$2"', next, file, indexLock]));
    });
    expect((await reader.query({})).map((r) => `${r.chainId}-${r.contractName} ${r.address}`)).toEqual([`56-Token ${B}`]);
  });

  it('a listing that a whole git command ran within is made again: the index git rewrote tells', async () => {
    const { reader, file, next, indexLock } = await readerInRepository();
    const dir = join(file, '..');
    // git unlinks the file, and writes it and its index (by renaming index.lock over it) once the folder was read.
    fsPromises.readdir = (async (path: string, ...rest: unknown[]) => {
      const gitRuns = path === dir && fsPromises.readdir !== realReaddir;
      if (gitRuns) execFileSync('sh', ['-c', ': > "$1" && rm "$0"', file, indexLock]);
      const listed = await (realReaddir as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
      if (gitRuns) {
        fsPromises.readdir = realReaddir;
        syncBuiltinESMExports();
        execFileSync('sh', ['-c', 'cp "$0" "$1" && echo index > "$2" && mv "$2" "${2%.lock}"', next, file, indexLock]);
      }
      return listed;
    }) as typeof fsPromises.readdir;
    syncBuiltinESMExports();
    expect((await reader.query({})).map((r) => `${r.chainId}-${r.contractName} ${r.address}`)).toEqual([`56-Token ${B}`]);
  });

  it('with no git at work, a chain whose file is gone reads as absent at once', async () => {
    const { reader, file } = await readerInRepository();
    execFileSync('rm', [file]);
    expect(await reader.get(56, 'Token')).toBeNull();
  });

  it('an index.lock a crashed git left behind long ago is not waited for', async () => {
    const { reader, file, indexLock } = await readerInRepository();
    await writeFile(indexLock, '');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(indexLock, longAgo, longAgo);
    execFileSync('rm', [file]);
    const get = pending(reader.get(56, 'Token'));
    await sleep(200);
    expect(get.answered()).toBe(true);
    expect(await get.read).toBeNull();
  });

  it('an index.lock stamped far in the future (the clock set back since a crash) is not waited for', async () => {
    const { reader, file, indexLock } = await readerInRepository();
    await writeFile(indexLock, '');
    const ahead = new Date(Date.now() + 60_000);
    await utimes(indexLock, ahead, ahead);
    execFileSync('rm', [file]);
    const get = pending(reader.get(56, 'Token'));
    await sleep(200);
    expect(get.answered()).toBe(true);
    expect(await get.read).toBeNull();
  });
});

describe('readStateFile (status, a rollback\'s leftovers: files read without a store)', () => {
  it('reads a file git is between unlinking and writing once git is done, as the store reads it', async () => {
    const ctx = await setup();
    execFileSync('git', ['init', '-q'], { cwd: ctx.dir });
    await ctx.store.put(rec(56, 'Token', { address: A }));
    const file = join(ctx.dir, 'bscmainnet.json');
    const indexLock = join(ctx.dir, '.git', 'index.lock');
    for (const between of ['', undefined]) {
      const whole = await readFile(file);
      await writeFile(indexLock, '');
      // Empty, as git leaves it between its create and write; or gone, between its unlink and create.
      if (between === undefined) await unlink(file);
      else await writeFile(file, between);
      const read = pending(readStateFile(file, 56));
      await sleep(100);
      expect(read.answered()).toBe(false);
      await writeFile(file, whole);
      await unlink(indexLock);
      expect((await read.read)?.records.get('Token')?.address).toBe(A);
    }
    // With git not at work: a missing file is none, an empty one the store's error.
    expect(await readStateFile(join(ctx.dir, 'bsctestnet.json'), 97)).toBeUndefined();
    await writeFile(file, '');
    await expect(readStateFile(file, 56)).rejects.toMatchObject({ code: 'CORRUPTED', file });
  });
});
