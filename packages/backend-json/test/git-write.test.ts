// A put while git rewrites the work tree (reset, checkout, stash, pull): git unlinks each file it
// updates and creates it again exclusively, holding the repository's index.lock all along. A put
// that renamed its file in that window failed git's command halfway ("unable to create file
// deployments/bscmainnet.json: File exists") or was written over by git's version after the put
// had returned (repro, a put every 10 ms under 150 resets, checkouts or stashes each: 0-17 puts
// renamed while git held its lock and 1-14 acknowledged after git took it, then written over; git's
// own failure needs the rename in the microseconds between its unlink and its create, unseen in
// 1,350 commands, so placed here by holding index.lock). A put now waits for git, and lands on
// top of the file as git left it.
import { execFileSync } from 'node:child_process';
import type { PathLike } from 'node:fs';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GIT_WAIT_MAX_MS, gitAtWork, sleep } from '@deploystate/core';
import { rec, storePerTest } from './helpers.js';

// The module object the store's named imports are synced from (syncBuiltinESMExports).
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const setup = storePerTest();
const A = `0x${'a'.repeat(40)}`;

/** A store in a git work tree whose chain file holds Token (as committed, set aside) and Extra (a change git's reset drops). */
async function writerInRepository(options: Parameters<typeof setup>[0] = {}) {
  const ctx = await setup(options);
  execFileSync('git', ['init', '-q'], { cwd: ctx.dir });
  const file = join(ctx.dir, 'bscmainnet.json');
  const committed = join(ctx.dir, 'committed.bytes');
  await ctx.store.put(rec(56, 'Token', { address: A }));
  await copyFile(file, committed);
  await ctx.store.put(rec(56, 'Extra'));
  const indexLock = join(ctx.dir, '.git', 'index.lock');
  // What git's reset does to the file under its lock, in steps: unlink (once), create exclusively
  // (EEXIST when a file appeared since), then the lock goes.
  let unlinked = false;
  const gitUnlinks = (): void => {
    if (!unlinked) fs.unlinkSync(file);
    unlinked = true;
  };
  const gitRewrites = async (): Promise<void> => {
    gitUnlinks();
    await writeFile(file, fs.readFileSync(committed), { flag: 'wx' });
    await rm(indexLock);
  };
  return { ctx, file, indexLock, gitUnlinks, gitRewrites };
}

/** Starts a put and reports whether it has returned. */
function pending<T>(write: Promise<T>): { write: Promise<T>; answered: () => boolean } {
  let answered = false;
  const tracked = write.finally(() => {
    answered = true;
  });
  return { write: tracked, answered: () => answered };
}

async function namesIn(ctx: { open(): Promise<{ list(chainId: number): Promise<Array<{ contractName: string }>> }> }): Promise<string[]> {
  const reader = await ctx.open();
  return (await reader.list(56)).map((r) => r.contractName).sort();
}

/**
 * A put of Router made as git began (`gitStarted`): unanswered while git holds its lock, answered
 * once git has rewritten the file, and then the file holds git's Token and the put's Router.
 */
async function answeredOnceGitIsDone(
  put: ReturnType<typeof pending>,
  gitStarted: () => boolean,
  gitRewrites: () => Promise<unknown>,
  ctx: Parameters<typeof namesIn>[0],
): Promise<void> {
  await sleep(200);
  expect(gitStarted()).toBe(true);
  expect(put.answered()).toBe(false);
  await gitRewrites();
  await put.write;
  expect(await namesIn(ctx)).toEqual(['Router', 'Token']);
}

const realRename = fs.renameSync;
afterEach(() => {
  fs.renameSync = realRename;
  syncBuiltinESMExports();
});

describe('a put while git rewrites its chain file', () => {
  it('is held while git holds index.lock, so git creates its file and the put lands on top of it', async () => {
    const { ctx, file, indexLock, gitUnlinks, gitRewrites } = await writerInRepository();
    let gitStarted = false;
    // git takes its lock after the put read the file, and unlinks the file just before a rename the
    // put makes while git holds the lock: git's exclusive create then finds the put's file.
    const writer = await ctx.open({
      beforeReplace: async () => {
        if (gitStarted) return;
        gitStarted = true;
        await writeFile(indexLock, '');
      },
    });
    fs.renameSync = (from: PathLike, to: PathLike) => {
      if (to === file && fs.existsSync(indexLock)) gitUnlinks();
      realRename(from, to);
    };
    syncBuiltinESMExports();
    await answeredOnceGitIsDone(pending(writer.put(rec(56, 'Router'))), () => gitStarted, gitRewrites, ctx);
  });

  it('renamed in just before git took index.lock, is written again on top of the file git wrote before it returns', async () => {
    const { ctx, file, indexLock, gitRewrites } = await writerInRepository();
    let gitStarted = false;
    fs.renameSync = (from: PathLike, to: PathLike) => {
      realRename(from, to);
      if (gitStarted || to !== file) return;
      gitStarted = true;
      fs.writeFileSync(indexLock, '');
    };
    syncBuiltinESMExports();
    await answeredOnceGitIsDone(pending(ctx.store.put(rec(56, 'Router'))), () => gitStarted, gitRewrites, ctx);
  });

  it('replaced by git between its rename and its return (lock taken and let go meanwhile) is written again on top of the file git wrote', async () => {
    const { ctx, file, indexLock, gitRewrites } = await writerInRepository();
    let gitRan = false;
    fs.renameSync = (from: PathLike, to: PathLike) => {
      realRename(from, to);
      if (gitRan || to !== file) return;
      gitRan = true;
      fs.writeFileSync(indexLock, '');
      void gitRewrites();
    };
    syncBuiltinESMExports();
    await ctx.store.put(rec(56, 'Router'));
    expect(gitRan).toBe(true);
    expect(await namesIn(ctx)).toEqual(['Router', 'Token']);
  });

  it('with no backups kept, replaced by git before its return, is written again though git\'s file may get the inode the put renamed in', async () => {
    // With no backup linking the version written, git's unlink freed its inode and git's create
    // could get the same number (ext4 hands a freed inode out again, about 1 create in 2 here): the
    // inode alone told the put its version was still the file, and the put returned under git's.
    // A few rounds, so that reuse shows in one of them.
    const { ctx, file, indexLock } = await writerInRepository({ backups: 0 });
    const committed = fs.readFileSync(join(ctx.dir, 'committed.bytes'));
    for (let round = 0; round < 8; round++) {
      let gitRan = false;
      let sameInode = false;
      fs.renameSync = (from: PathLike, to: PathLike) => {
        realRename(from, to);
        if (gitRan || to !== file) return;
        gitRan = true;
        const written = fs.statSync(file).ino;
        fs.writeFileSync(indexLock, '');
        fs.unlinkSync(file);
        void writeFile(file, committed, { flag: 'wx' }).then(async () => {
          sameInode = fs.statSync(file).ino === written;
          await rm(indexLock);
        });
      };
      syncBuiltinESMExports();
      await ctx.store.put(rec(56, `Router${round}`));
      expect(gitRan).toBe(true);
      expect(await namesIn(ctx)).toEqual([`Router${round}`, 'Token']);
      // The version written keeps its inode until the put's check.
      expect(sameInode).toBe(false);
    }
  });

  it('is not held by an index.lock a crashed git left behind long ago', async () => {
    const { ctx, indexLock } = await writerInRepository();
    await writeFile(indexLock, '');
    const longAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(indexLock, longAgo, longAgo);
    const put = pending(ctx.store.put(rec(56, 'Router')));
    await sleep(200);
    expect(put.answered()).toBe(true);
    expect(await namesIn(ctx)).toEqual(['Extra', 'Router', 'Token']);
  });

  it('waits for git once, bounded, across its waits before the rename and before it returns', async () => {
    // A lock stamped just inside the bound ahead of the clock counts as git at work for about twice
    // the bound: a put that waited the bound before its rename and again before it returned held
    // the file's lock that long (as long as another writer's wait for the lock, 10 s). Repro: 9.5 s a put.
    const { ctx, indexLock } = await writerInRepository();
    await writeFile(indexLock, '');
    const ahead = new Date(Date.now() + GIT_WAIT_MAX_MS - 100);
    fs.utimesSync(indexLock, ahead, ahead);
    await ctx.store.put(rec(56, 'Router'));
    // Returned within one bound: the lock still counts as git at work (it would for another ~5 s).
    expect(gitAtWork(ctx.dir)).toBe(true);
    expect(await namesIn(ctx)).toEqual(['Extra', 'Router', 'Token']);
  }, 20_000);
});
