// File systems that keep whole-second timestamps (ext3 with 128-byte inodes, HFS+) or two-second
// ones (FAT) stamp every change within that tick alike: a same-size change in place, or another
// store's put whose rename brings back an inode the cache knows, leaves the stat a reader kept.
// The coarse clock is simulated here on whatever this machine mounts: the file's (and the backups
// folder's) mtime set to a whole second with utimes, as such a file system would stamp it, and the
// ctime, which no program can set, carried into the entry the store kept (as a test's look inside).
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { BackupShelf, backupDirFor, backupName } from '../src/backups.js';
import { signatureOf, type LoadedFile } from '../src/file-cache.js';
import type { JsonFileStore } from '../src/index.js';
import { rec, storePerTest, type StoreContext } from './helpers.js';

const setup = storePerTest();

/** The same number of digits, so a file that holds one timestamp or the other keeps its size. */
const ts = (i: number): number => 1_700_000_000_000 + i;

function cachedEntry(store: JsonFileStore, chainId: number): LoadedFile {
  const entry = (store as unknown as { cache: { entries: Map<number, LoadedFile> } }).cache.entries.get(chainId);
  if (!entry?.readAt) throw new Error(`chain ${chainId} is not cached`);
  return entry;
}

/** A whole second 100 ms to 1.1 s before `at`: well past the fine clock's racy window, inside one coarse tick of it. */
const wholeSecondBefore = (at: number): number => Math.floor((at - 100) / 1000);

/**
 * As a coarse file system leaves it: the file's mtime the whole second `second`, and the stat the
 * entry holds the file's stat now (same inode, size, mtime and ctime), though its bytes differ.
 */
function hideBehindCoarseStat(file: string, entry: LoadedFile, second: number): void {
  utimesSync(file, second, second);
  const now = signatureOf(file);
  if (now?.mtimeNs !== BigInt(second) * 1_000_000_000n) throw new Error('utimes did not set a whole-second mtime');
  entry.signature = now;
}

/** A script's change of record A's timestamp in place, the file's size unchanged. */
function editInPlace(file: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(`"timestamp": ${ts(1)}`, `"timestamp": ${ts(2)}`));
}

/** Another writer's change of record A's timestamp, the file's size unchanged. */
const writers: Record<string, (ctx: StoreContext) => Promise<void>> = {
  'a script writing in place': async ({ store }) => editInPlace(store.fileFor(56)),
  "another store's put": async ({ open }) => {
    await (await open()).put(rec(56, 'A', { timestamp: ts(2) }));
  },
};

/** The file holds A as the other writer left it (`timestamp`), and the B just put beside it. */
function expectAKeptBesideB(file: string, timestamp: number): void {
  const records = JSON.parse(readFileSync(file, 'utf8')).records;
  expect(records.A.timestamp).toBe(timestamp);
  expect(Object.keys(records)).toEqual(['A', 'B']);
}

describe('whole-second timestamps', () => {
  it.each(Object.keys(writers))("a get sees a same-size change by %s within the file's mtime second", async (writer) => {
    const ctx = await setup();
    const { store } = ctx;
    const file = store.fileFor(56);
    await store.put(rec(56, 'A', { timestamp: ts(1) }));
    expect((await store.get(56, 'A'))?.timestamp).toBe(ts(1));
    const entry = cachedEntry(store, 56);
    await writers[writer]?.(ctx);
    hideBehindCoarseStat(file, entry, wholeSecondBefore(entry.readAt as number));
    expect(store.getCached(56, 'A')).toBeUndefined();
    expect((await store.get(56, 'A'))?.timestamp).toBe(ts(2));
  });

  it.each([0, 60_000])(
    'the next put keeps a same-size change in place within the mtime second of its last write (lease %i ms)',
    async (lockLeaseMs) => {
      const { store } = await setup({ lockLeaseMs });
      const file = store.fileFor(56);
      await store.put(rec(56, 'A', { timestamp: ts(1) }));
      const entry = cachedEntry(store, 56);
      editInPlace(file);
      hideBehindCoarseStat(file, entry, wholeSecondBefore(entry.readAt as number));
      await store.put(rec(56, 'B'));
      expectAKeptBesideB(file, ts(2));
    },
  );

  it("the next put keeps another store's put that brought back the inode it read", async () => {
    const { store, open } = await setup({ lockLeaseMs: 0 });
    const file = store.fileFor(56);
    await store.put(rec(56, 'A', { timestamp: ts(1) }));
    expect((await store.get(56, 'A'))?.timestamp).toBe(ts(1));
    const entry = cachedEntry(store, 56);
    const other = await open({ lockLeaseMs: 0 });
    await other.put(rec(56, 'A', { timestamp: ts(2) }));
    await other.put(rec(56, 'A', { timestamp: ts(3) }));
    hideBehindCoarseStat(file, entry, wholeSecondBefore(entry.readAt as number));
    await store.put(rec(56, 'B'));
    expectAKeptBesideB(file, ts(3));
  });

  it('a fine timestamp keeps its short window: the same stat, read well past its tick, is trusted without a read', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    await store.put(rec(56, 'A', { timestamp: ts(1) }));
    const entry = cachedEntry(store, 56);
    editInPlace(file);
    // Half a second past a whole second: a fine clock's stamp, 0.1 to 1.1 s before the entry was read.
    const fine = wholeSecondBefore(entry.readAt as number) - 0.5;
    utimesSync(file, fine, fine);
    entry.signature = signatureOf(file) ?? undefined;
    // Served from memory: the simulated change is hidden from the stat, and only the coarse window looks behind it.
    expect(store.getCached(56, 'A')?.timestamp).toBe(ts(1));
  });
});

describe('the backups shelf on whole-second timestamps', () => {
  it.each([
    ['whole-second', true, 0],
    ['fine', false, -0.5],
  ] as const)(
    "another writer's backups in the tick of a %s folder mtime: listed again on the next take, %s",
    async (_clock, listedAgain, offset) => {
      const dir = await makeTempDir('deploystate-coarse-');
      try {
        const folder = backupDirFor(dir, 'bscmainnet.json');
        mkdirSync(folder, { recursive: true });
        const written = (): string => {
          const name = backupName({ size: 1n, mtimeNs: 1n });
          writeFileSync(join(folder, name), '{}');
          return name;
        };
        const own = [written(), written()];
        const second = wholeSecondBefore(Date.now()) + offset;
        utimesSync(folder, second, second);
        const shelf = new BackupShelf(dir, 'bscmainnet.json', 3);
        expect(shelf.next(1).lastWritten?.path).toBe(join(folder, own[1] as string));
        // Another process adds two backups in the same tick: the folder's mtime stays the one seen.
        const others = [written(), written()];
        utimesSync(folder, second, second);
        const next = shelf.next(2);
        if (listedAgain) {
          expect(next.lastWritten?.path).toBe(join(folder, others[1] as string));
          expect(next.recyclable).toBe(join(folder, own[0] as string));
        } else {
          // A fine stamp seen half a second after it is trusted: no listing on the write path.
          expect(next.lastWritten?.path).toBe(join(folder, own[1] as string));
          expect(next.recyclable).toBeUndefined();
        }
      } finally {
        await removeTempDir(dir);
      }
    },
  );
});
