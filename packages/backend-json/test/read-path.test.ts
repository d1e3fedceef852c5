// The read side's shortcuts keep what a read promises: a record handed out is the caller's own,
// however deep it is changed, and a get by chain and name answers as the key would.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';
import { cloneRecord } from '@deploystate/core';

/** One record both read-path tests store and read back. */
const vault = {
  contractName: 'Vault',
  chainId: 56,
  networkName: 'bscmainnet',
  address: `0x${'1'.repeat(40)}`,
  factoryByteCodeHash: `0x${'ab'.repeat(32)}`,
  timestamp: 1,
};

describe('the read path', () => {
  it('copies every object in a record, an own __proto__ and a null-prototype object included', () => {
    const source = JSON.parse('{"__proto__": {"deep": [1]}, "args": [{"nested": {"n": 1}}], "name": "x"}') as Record<string, unknown>;
    source.bare = Object.assign(Object.create(null) as Record<string, unknown>, { inner: { v: 1 } });
    const copy = cloneRecord(source);
    expect(copy).toEqual(source);
    const own = (o: object): unknown => Object.getOwnPropertyDescriptor(o, '__proto__')?.value;
    expect(own(copy)).toEqual({ deep: [1] });
    expect(own(copy)).not.toBe(own(source));
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    const bare = copy.bare as Record<string, unknown>;
    expect(Object.getPrototypeOf(bare)).toBeNull();
    expect(bare).not.toBe(source.bare);
    expect(bare.inner).not.toBe((source.bare as Record<string, unknown>).inner);
    ((copy.args as Array<{ nested: { n: number } }>)[0] as { nested: { n: number } }).nested.n = 2;
    expect(((source.args as Array<{ nested: { n: number } }>)[0] as { nested: { n: number } }).nested.n).toBe(1);
  });

  it('a record read from memory is the caller’s own: changing it deep down changes no later read', async () => {
    const dir = await makeTempDir('deploystate-read-path-');
    try {
      const store = new JsonFileStore({ dir, cache: true });
      await store.open();
      const record = { ...vault, deploymentArgs: [{ owner: 'a', limits: [1, 2] }] };
      await store.put(record);
      for (let round = 0; round < 3; round++) {
        const got = await store.get(56, 'Vault');
        expect(got).toEqual(record);
        ((got?.deploymentArgs as Array<{ limits: number[] }>)[0] as { limits: number[] }).limits.push(round);
        (got as Record<string, unknown>).address = 'changed';
      }
      await expect(store.get(56, '')).rejects.toMatchObject({ code: 'INVALID_KEY' });
      await expect(store.get(-1, 'Vault')).rejects.toMatchObject({ code: 'INVALID_KEY' });
      expect(store.metrics().operations.get).toMatchObject({ count: 5, errors: 2 });
      await store.close();
    } finally {
      await removeTempDir(dir);
    }
  });

  it('getCached answers from memory once a long-unchanged file is read, and only get() after the file changes', async () => {
    const dir = await makeTempDir('deploystate-read-path-');
    try {
      const store = new JsonFileStore({ dir, cache: true });
      expect(store.getCached(56, 'Vault')).toBeUndefined();
      await store.open();
      const record = { ...vault };
      await store.put(record);
      const file = store.fileFor(56);
      // Stamped ahead of the clock (a change within the tick of a read looks so to a stat): get()
      // reads it, and one stat still cannot vouch for it, so memory does not answer. (The file's
      // own times set it, not how long the put took: under load a put's look at its file can come
      // after its tick, and memory rightly answered.)
      const ahead = new Date(Date.now() + 60_000);
      await utimes(file, ahead, ahead);
      expect(await store.get(56, 'Vault')).toEqual(record);
      expect(store.getCached(56, 'Vault')).toBeUndefined();
      // Long unchanged (stamped a minute ago): a new stat, so get() looks again, and memory answers after it.
      const past = new Date(Date.now() - 60_000);
      await utimes(file, past, past);
      expect(store.getCached(56, 'Vault')).toBeUndefined();
      expect(await store.get(56, 'Vault')).toEqual(record);
      expect(store.getCached(56, 'Vault')).toEqual(record);
      expect(store.getCached(56, 'Other')).toBeNull();
      expect(() => store.getCached(56, '')).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }) as Error);
      // Rewritten in place, same size: memory no longer answers, get() reads the new bytes.
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(`0x${'1'.repeat(40)}`, `0x${'2'.repeat(40)}`));
      expect(store.getCached(56, 'Vault')).toBeUndefined();
      expect((await store.get(56, 'Vault'))?.address).toBe(`0x${'2'.repeat(40)}`);
      await store.close();
      expect(store.getCached(56, 'Vault')).toBeUndefined();
    } finally {
      await removeTempDir(dir);
    }
  });
});
