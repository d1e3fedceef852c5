// A put right after another prints from what the store last wrote at once and reads the file
// while its temp file syncs; each version is printed into the buffer of the version before it.
// Neither may cost a byte: a file changed meanwhile is written again from what it holds now, and
// a write that fails leaves nothing of itself in what the next write starts from.
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, StateError } from '@deploystate/core';
import { STATE_DIR, JsonFileStore } from '../src/index.js';
import { hasWaiters, isLockHeld, lockFileFor } from '../src/lock.js';
import type { LoadedFile } from '../src/file-cache.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();

/** The cache entry the store holds for a chain (a test's look inside). */
function cachedEntry(store: JsonFileStore, chainId: number): LoadedFile | undefined {
  return (store as unknown as { cache: { entries: Map<number, LoadedFile> } }).cache.entries.get(chainId);
}

/** Makes the chain's cache entry racy whatever the machine's pace: as if read in the same millisecond its file was written. */
function makeRacy(store: JsonFileStore, chainId: number): void {
  const entry = cachedEntry(store, chainId) as LoadedFile;
  entry.readAt = Number((entry.signature?.mtimeNs ?? 0n) / 1_000_000n);
}

/** The file as a store that reads it afresh prints it: what every spliced write must equal. */
async function fullRender(dir: string, chainId: number): Promise<string> {
  const fresh = new JsonFileStore({ dir, cache: false });
  await fresh.open();
  try {
    const result = await fresh.replaceChain(chainId, await fresh.list(chainId));
    expect(result.changed, 'the file is not what a full render prints').toBe(false);
    return await readFile(fresh.fileFor(chainId), 'utf8');
  } finally {
    await fresh.close();
  }
}

describe('a put printed before its read', () => {
  it('keeps a file another writer replaced with the same size since the last put (a rename, a new inode): written again from it', async () => {
    const { store, dir } = await setup({ backups: 3 });
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    await store.put(rec(56, 'Vault', { timestamp: 1 }));
    expect(cachedEntry(store, 56)?.layout).toBeDefined();
    // Same length, one digit of Token's address changed, put in place by rename as legacy scripts do.
    const text = await readFile(target, 'utf8');
    const at = text.indexOf('"address": "0x') + '"address": "0x'.length;
    const edited = text.slice(0, at) + (text[at] === 'f' ? 'e' : 'f') + text.slice(at + 1);
    await writeFile(`${target}.edit`, edited);
    await rename(`${target}.edit`, target);
    // As if within the same timestamp tick as the last write: only the bytes show the change.
    makeRacy(store, 56);
    await store.put(rec(56, 'Vault', { timestamp: 2 }));
    const doc = JSON.parse(await readFile(target, 'utf8'));
    expect(doc.records.Token.address).toBe(JSON.parse(edited).records.Token.address);
    expect(doc.records.Vault.timestamp).toBe(2);
    // The write it abandoned left nothing behind: no temp file, the bound of backups kept, and the
    // other writer's version among them (the file the put replaced).
    expect(await readdir(join(dir, STATE_DIR, 'tmp'))).toEqual([]);
    const backups = await store.listBackups(56);
    expect(backups.length).toBeLessThanOrEqual(3);
    const texts = await Promise.all(backups.map((b) => readFile(b, 'utf8')));
    expect(texts).toContain(edited);
    expect(await fullRender(dir, 56)).toBe(await readFile(target, 'utf8'));
  });

  it('reads a file larger than a read on the event loop may take (over 256 KB) beside the sync too, and keeps its change', async () => {
    const { store } = await setup();
    const target = store.fileFor(56);
    const pad = 'x'.repeat(400);
    await store.putMany(
      Array.from({ length: 800 }, (_, i) => rec(56, `C${String(i).padStart(4, '0')}`, { timestamp: 1, deploymentArgs: [pad] })),
    );
    await store.put(rec(56, 'C0000', { timestamp: 2, deploymentArgs: [pad] }));
    const text = await readFile(target, 'utf8');
    expect(Buffer.byteLength(text)).toBeGreaterThan(256 * 1024);
    // The last record's padding edited in place, the same size: only the bytes show it.
    const at = text.lastIndexOf(pad);
    const edited = `${text.slice(0, at)}y${text.slice(at + 1)}`;
    await writeFile(target, edited);
    makeRacy(store, 56);
    await store.put(rec(56, 'C0001', { timestamp: 2, deploymentArgs: [pad] }));
    const doc = JSON.parse(await readFile(target, 'utf8'));
    expect(doc.records.C0799.deploymentArgs[0]).toBe(`y${pad.slice(1)}`);
    expect(doc.records.C0001.timestamp).toBe(2);
  });

  it('decides a put that changes nothing on the file as it is now, not on what the store last wrote', async () => {
    const { store } = await setup();
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    await store.put(rec(56, 'Token', { timestamp: 2 }));
    // Another writer puts timestamp 2 back to 1 in place, with the same size and, as far as a stat tells, the same file.
    const text = await readFile(target, 'utf8');
    await writeFile(target, text.replace('"timestamp": 2', '"timestamp": 1'));
    makeRacy(store, 56);
    // What the store last wrote already says 2: the file does not, so the put is written.
    await store.put(rec(56, 'Token', { timestamp: 2 }));
    expect(JSON.parse(await readFile(target, 'utf8')).records.Token.timestamp).toBe(2);
  });
});

describe('a put on a lease that still holds the lock', () => {
  it('whose lock file was removed meanwhile takes the lock again and writes exactly what a full render prints', async () => {
    const { store, dir } = await setup({ lockLeaseMs: 60_000 });
    await store.put(rec(56, 'A', { timestamp: 1 }));
    await store.put(rec(56, 'B', { timestamp: 1 }));
    await store.put(rec(56, 'A', { timestamp: 2 }));
    await rm(join(dir, STATE_DIR, 'locks'), { recursive: true });
    // A record replaced in place by a text of another length: the write printed at once is
    // abandoned (the lock is not the one others take now), and the usual path must not start
    // from what that print changed.
    await store.put(rec(56, 'A', { timestamp: 1_000_000_000_000, deploymentArgs: ['longer'] }));
    expect(isLockHeld(lockFileFor(store.fileFor(56)))).toBe(true);
    expect((await store.get(56, 'A'))?.timestamp).toBe(1_000_000_000_000);
    await store.put(rec(56, 'B', { timestamp: 2 }));
    await store.close(); // its lease would keep the full render's store waiting
    expect(await fullRender(dir, 56)).toBe(await readFile(store.fileFor(56), 'utf8'));
  });
});

describe('a put on a lease that another writer waits for', () => {
  it('lets the waiter write first, as a put that reads before it prints does', async () => {
    const { store, open } = await setup({ lockLeaseMs: 60_000 });
    const other = await open({ lockLeaseMs: 0, lockWait: { timeoutMs: 5_000 } });
    await store.put(rec(56, 'A', { timestamp: 1 }));
    await store.put(rec(56, 'A', { timestamp: 2 }));
    const order: string[] = [];
    // The other store waits for the lock this store's lease keeps, and shows itself as a waiter.
    const waiting = other.put(rec(56, 'B', { timestamp: 1 })).then(() => order.push('waiter'));
    const lock = lockFileFor(store.fileFor(56));
    // Looked for without a timer: the idle lease looks for waiters on a 5 ms timer too and, seeing
    // this one first, hands the lock over before the put below starts (on a loaded machine, a 2 ms
    // timer of this loop often came due after it). The waiter shows itself within a turn or two of
    // the microtask queue; setImmediate turns (I/O runs in between, timers not before them) if not.
    for (let turn = 0; turn < 100 && !hasWaiters(lock); turn++) await Promise.resolve();
    for (const until = Date.now() + 15_000; Date.now() < until && !hasWaiters(lock); ) await new Promise((resolve) => setImmediate(resolve));
    expect(hasWaiters(lock)).toBe(true);
    // The put printed from what the store last wrote, whatever the machine's pace (a cache entry
    // read well after its write is not racy and takes the usual path), started in the same turn,
    // so the lease's idle look cannot hand over first.
    makeRacy(store, 56);
    await store.put(rec(56, 'A', { timestamp: 3 })).then(() => order.push('holder'));
    await waiting;
    expect(order).toEqual(['waiter', 'holder']);
    const doc = JSON.parse(await readFile(store.fileFor(56), 'utf8'));
    expect([doc.records.A.timestamp, doc.records.B.timestamp]).toEqual([3, 1]);
  });
});

describe('the backups a put keeps', () => {
  it('are looked at again after a look at the folder failed under the same take of the lock', async () => {
    const { store } = await setup({ lockLeaseMs: 1_000 });
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    await store.put(rec(56, 'Token', { timestamp: 2 }));
    // The lease idles out: the next put takes the lock afresh and looks at the backups folder.
    const lock = lockFileFor(target);
    for (const until = Date.now() + 15_000; Date.now() < until && isLockHeld(lock); ) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(isLockHeld(lock)).toBe(false);
    const folder = store.backupDirFor(56);
    await rm(folder, { recursive: true });
    await writeFile(folder, 'not a folder');
    await expect(store.put(rec(56, 'Token', { timestamp: 3 }))).rejects.toMatchObject({ code: ErrorCodes.WRITE_FAILED, file: target });
    // Under the same take (the lease holds the lock still), the folder back: the put is kept, and so is the version it replaced.
    await rm(folder);
    await store.put(rec(56, 'Token', { timestamp: 4 }));
    const kept = await Promise.all(
      (await store.listBackups(56)).map(async (b) => JSON.parse(await readFile(b, 'utf8')).records.Token.timestamp),
    );
    expect(kept).toEqual([4, 2]);
  });
});

describe('each version printed into the buffer of the one before', () => {
  it('never lets a failed write or a reused buffer change what the store reads or writes next', async () => {
    let failNext = false;
    const { store, dir } = await setup({
      backups: 2,
      beforeReplace: () => {
        if (failNext) throw new StateError(ErrorCodes.WRITE_FAILED, 'refused by the test');
      },
    });
    const names = ['A', 'B', 'C', 'D'];
    const expected = new Map<string, number>();
    for (const name of names) {
      await store.put(rec(56, name, { timestamp: 0 }));
      expected.set(name, 0);
    }
    const target = store.fileFor(56);
    // Puts of growing, shrinking and equal size, every fifth refused before its rename.
    for (let i = 1; i <= 40; i++) {
      const name = names[i % names.length] as string;
      const value = i % 3 === 0 ? i * 1_000_003 : i;
      failNext = i % 5 === 0;
      if (failNext) {
        await expect(store.put(rec(56, name, { timestamp: value, deploymentArgs: ['x'.repeat(i % 7)] }))).rejects.toMatchObject({
          code: ErrorCodes.WRITE_FAILED,
        });
      } else {
        await store.put(rec(56, name, { timestamp: value, deploymentArgs: ['x'.repeat(i % 7)] }));
        expected.set(name, value);
      }
      failNext = false;
      for (const n of names) expect((await store.get(56, n))?.timestamp, `step ${i}, ${n}`).toBe(expected.get(n));
      const doc = JSON.parse(await readFile(target, 'utf8'));
      for (const n of names) expect(doc.records[n].timestamp, `step ${i}, ${n} on disk`).toBe(expected.get(n));
    }
    expect(await fullRender(dir, 56)).toBe(await readFile(target, 'utf8'));
  });
});
