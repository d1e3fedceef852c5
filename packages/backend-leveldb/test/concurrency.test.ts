// One store used concurrently inside one process: deletes of one key and close() against a
// suspended iterator.
import { describe, expect, it } from 'vitest';
import { generateRecords } from '@deploystate/core';
import { LevelDbStore } from '../src/index.js';
import { rec, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('concurrency');

describe('concurrent deletes', () => {
  it('of one key in one process: exactly one returns true', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
    await store.open();
    try {
      for (let round = 0; round < 5; round++) {
        await store.put(rec(56, 'Twice'));
        const results = await Promise.all(Array.from({ length: 6 }, () => store.delete(56, 'Twice')));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get(56, 'Twice')).toBeNull();
      }
    } finally {
      await store.close();
    }
  });

  it('of different keys still run side by side and each reports its own key', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
    await store.open();
    try {
      await store.putMany([rec(56, 'A'), rec(56, 'B')]);
      expect(await Promise.all([store.delete(56, 'A'), store.delete(56, 'B'), store.delete(56, 'C')])).toEqual([true, true, false]);
    } finally {
      await store.close();
    }
  });
});

describe('close() with a suspended iterator', () => {
  it('ends the iterator after the bounded wait: close resolves, the lock is free, the next step fails with STORE_CLOSED', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0, closeWaitMs: 20 });
    await store.open();
    await store.putMany(generateRecords(600));
    const iterator = store.iterate()[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await store.close(); // without the bound this waits for the consumer forever
    expect(store.status).toBe('closed');
    expect(store.holdsLock).toBe(false);
    await expect(iterator.next()).rejects.toMatchObject({ code: 'STORE_CLOSED', file: folder.path });
    // The lock was released: another store in this process opens it.
    const other = new LevelDbStore({ path: folder.path, idleCloseMs: 0, lockWait: { attempts: 2, minDelayMs: 1, maxDelayMs: 2 } });
    await other.open();
    expect(await other.list(56)).toHaveLength(120);
    await other.close();
  }, 10_000);

  it('a raw iterator closed under fails its next batch with STORE_CLOSED, and the lock is free', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0, closeWaitMs: 20 });
    await store.open();
    await store.putMany(generateRecords(2500));
    const batches = store.iterateRaw()[Symbol.asyncIterator]();
    const first = await batches.next();
    expect(first.done).toBe(false);
    expect((first.value as unknown[]).length).toBeLessThan(2500);
    await store.close();
    expect(store.holdsLock).toBe(false);
    await expect(batches.next()).rejects.toMatchObject({ code: 'STORE_CLOSED', file: folder.path });
  }, 10_000);

  it('a scan stopped early, with its next batch read ahead, leaves the store to close and open again', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
    await store.open();
    await store.putMany(generateRecords(2500));
    const sizes: number[] = [];
    for await (const rows of store.iterateRaw()) sizes.push(rows.length);
    // Every record, in batches of bounded size.
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2500);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    for await (const entry of store.iterate()) {
      expect(entry.key).toMatch(/^\d+-/);
      break;
    }
    await store.close();
    expect(store.holdsLock).toBe(false);
    await store.open();
    expect(await store.list(56)).toHaveLength(500);
    await store.close();
  }, 10_000);

  it('an iterator that finishes within the wait is not cut short', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0, closeWaitMs: 5_000 });
    await store.open();
    await store.putMany(generateRecords(300));
    const seen: string[] = [];
    let midway!: () => void;
    const reachedMidway = new Promise<void>((resolve) => (midway = resolve));
    const consuming = (async () => {
      for await (const { key } of store.iterate()) {
        seen.push(key);
        if (seen.length === 50) midway();
        if (seen.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    // close() is called while the iterator is provably mid-way (not after a guessed sleep).
    await reachedMidway;
    const closing = store.close();
    expect(seen.length).toBeLessThan(300);
    await closing;
    await consuming;
    expect(seen).toHaveLength(300);
  });
});

describe('handBack()', () => {
  it('closes an idle handle at once, so another store opens the database without waiting for the idle delay, and the store reopens on its next call', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 60_000 });
    await store.open();
    await store.put(rec(56, 'Kept'));
    expect(store.holdsLock).toBe(true);
    expect(await store.handBack()).toBe(true);
    expect(store.holdsLock).toBe(false);
    // One try, no retries: the lock must be free now, not after the minute of idle delay.
    const other = new LevelDbStore({ path: folder.path, idleCloseMs: 0, lockWait: { attempts: 1, minDelayMs: 1, maxDelayMs: 1 } });
    await other.open();
    expect(await other.get(56, 'Kept')).not.toBeNull();
    await other.close();
    expect(await store.get(56, 'Kept')).not.toBeNull();
    expect(store.holdsLock).toBe(true);
    await store.close();
  });

  it('keeps the handle while a call uses it (an iteration in progress), and says so', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 60_000 });
    await store.open();
    await store.putMany(generateRecords(300));
    const iterator = store.iterate()[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    expect(await store.handBack()).toBe(false);
    expect(store.holdsLock).toBe(true);
    await iterator.return?.(undefined);
    expect(await store.handBack()).toBe(true);
    await store.close();
  });
});
