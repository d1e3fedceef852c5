// The legacy store as the old deploy scripts left it: read exactly, problems reported with their
// keys, and what this store writes read back by the old `valueEncoding: 'json'` path.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalEncode, productionSample, type InvalidEntry } from '@deploystate/core';
import { Level } from 'level';
import { LevelDbStore, writeLegacyStore } from '../src/index.js';
import { rec, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('legacy');

const BIG_RAW = `{"contractName":"Big","chainId":56,"networkName":"bsc","address":"0x${'12'.repeat(20)}","factoryByteCodeHash":"0x${'ab'.repeat(32)}","deploymentArgs":[18446744073709551617,-9007199254740993,"18446744073709551617"],"timestamp":1700000000000}`;

async function legacyFixture(): Promise<void> {
  const { records, devJunk } = productionSample();
  await writeLegacyStore(folder.path, [
    ...[...records, ...devJunk].map((r) => ({ key: `${r.chainId}-${r.contractName}`, value: r })),
    { key: '56-Big', raw: BIG_RAW },
    { key: '56-Broken', raw: '{"contractName":"Broken","chainId":56,' },
    // A value naming "address" twice (a hand edit): JSON.parse keeps the second without a word.
    { key: '56-Twice', raw: BIG_RAW.replace('"Big"', '"Twice"').replace('"address":', `"address":"0x${'34'.repeat(20)}","address":`) },
    { key: '97-Moved', value: rec(56, 'Moved') },
    { key: '97-NotARecord', value: { hello: 'world' } },
    { key: 'junk-key', value: rec(1, 'x') },
  ]);
}

describe('reading the legacy store', () => {
  it('keeps bare literals beyond 2^53 exact (as bigint) and big strings as strings', async () => {
    await legacyFixture();
    const store = new LevelDbStore({ path: folder.path, readOnly: true });
    await store.open();
    try {
      const big = await store.get(56, 'Big');
      expect(big?.deploymentArgs).toEqual([18446744073709551617n, -9007199254740993n, '18446744073709551617']);
      expect(typeof big?.deploymentArgs?.[0]).toBe('bigint');
      for (const r of productionSample().records)
        expect(canonicalEncode(await store.get(r.chainId, r.contractName))).toBe(canonicalEncode(r));
    } finally {
      await store.close();
    }
  });

  it('reports an undecodable value, a non-record, a bad key and a key/record mismatch with key and code, never crashing', async () => {
    await legacyFixture();
    const store = new LevelDbStore({ path: folder.path, readOnly: true });
    await store.open();
    try {
      const report = await store.checkIntegrity();
      const byKey = (key: string): string[] => report.findings.filter((f) => f.key === key).map((f) => f.code);
      expect(byKey('56-Broken')).toEqual(['UNDECODABLE_VALUE']);
      expect(byKey('56-Twice')).toEqual(['DUPLICATE_KEY']);
      // The key named once, the field and where it stands.
      expect(report.findings.find((f) => f.key === '56-Twice')?.message).toMatch(/^56-Twice: key "address" appears twice in the top-level object \(line 1, column \d+\)/);
      expect(byKey('97-Moved')).toEqual(['KEY_MISMATCH']);
      expect(byKey('97-NotARecord')).toEqual(['INVALID_RECORD']);
      expect(byKey('junk-key')).toEqual(['INVALID_KEY']);
      expect(report.findings.some((f) => f.code === 'DEV_CHAIN')).toBe(true);
      expect(report.ok).toBe(false);
      const { records, devJunk } = productionSample();
      expect(report.total).toBe(records.length + devJunk.length + 6);

      const invalid: InvalidEntry[] = [];
      const keys: string[] = [];
      for await (const entry of store.iterate({ onInvalid: (e) => invalid.push(e) })) keys.push(entry.key);
      expect(invalid.map((e) => [e.key, e.finding.code])).toEqual([
        ['56-Broken', 'UNDECODABLE_VALUE'],
        ['56-Twice', 'DUPLICATE_KEY'],
        ['97-Moved', 'KEY_MISMATCH'],
        ['97-NotARecord', 'INVALID_RECORD'],
        ['junk-key', 'INVALID_KEY'],
      ]);
      expect(invalid[0]?.raw).toBe('{"contractName":"Broken","chainId":56,');
      expect(keys).toContain('56-Big');

      // Without onInvalid nothing is skipped silently: the scan stops naming the key.
      const scan = async (): Promise<void> => {
        for await (const _ of store.iterate()) void _;
      };
      await expect(scan()).rejects.toMatchObject({ code: 'CORRUPTED', key: '56-Broken' });
      await expect(store.get(56, 'Broken')).rejects.toMatchObject({ code: 'CORRUPTED', key: '56-Broken' });
      await expect(store.get(56, 'Twice')).rejects.toMatchObject({ code: 'CORRUPTED', key: '56-Twice', message: /\[DUPLICATE_KEY\]/ });
      await expect(store.list(97)).rejects.toMatchObject({ code: 'CORRUPTED', key: '97-Moved' });
      const chain97: string[] = [];
      for await (const e of store.iterate({ chainId: 97, onInvalid: (x) => chain97.push(`!${x.key}`) })) chain97.push(e.key);
      expect(chain97.filter((k) => k.startsWith('!'))).toEqual(['!97-Moved', '!97-NotARecord']);
    } finally {
      await store.close();
    }
  });

  it('refuses writes on a read-only store with WRITES_REFUSED and changes nothing', async () => {
    await legacyFixture();
    const store = new LevelDbStore({ path: folder.path, readOnly: true });
    await store.open();
    try {
      await expect(store.put(rec(56, 'New'))).rejects.toMatchObject({ code: 'WRITES_REFUSED' });
      await expect(store.putMany([rec(56, 'New')])).rejects.toMatchObject({ code: 'WRITES_REFUSED' });
      await expect(store.delete(56, 'Big')).rejects.toMatchObject({ code: 'WRITES_REFUSED' });
      expect(await store.get(56, 'New')).toBeNull();
      expect(await store.has(56, 'Big')).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('writing for the legacy readers', () => {
  it('writes records that `new Level(path, { valueEncoding: "json" })` reads back identically', async () => {
    // Every record plain JSON can hold (bigint-free): the legacy reader cannot hold the others.
    const plain = productionSample().records.filter(
      (r) => !JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? '!big!' : v)).includes('!big!'),
    );
    expect(plain.length).toBeGreaterThan(20);
    const records = [
      ...plain,
      rec(56, 'Extra', { proxyAddress: null, custom: { nested: [1, 'two', null, true], empty: {} }, 'odd key': 0.5 }),
      rec(97, 'contracts/xchain/Router.sol:Router', { deploymentArgs: ['18446744073709551617', -5, 1e-7] }),
    ];
    const store = new LevelDbStore({ path: folder.path, create: true, sync: true });
    await store.open();
    await store.putMany(records.slice(0, 3));
    for (const r of records.slice(3)) await store.put(r);
    await store.close();

    const legacy = new Level<string, unknown>(folder.path, { valueEncoding: 'json' });
    await legacy.open();
    try {
      for (const r of records) expect(await legacy.get(`${r.chainId}-${r.contractName}`)).toStrictEqual(JSON.parse(JSON.stringify(r)));
      expect(await legacy.get('97-contracts/xchain/Router.sol:Router')).toStrictEqual(JSON.parse(JSON.stringify(records.at(-1))));
    } finally {
      await legacy.close();
    }
  });

  it('writes compact JSON text, the bytes the legacy writer would have written', async () => {
    const record = rec(56, 'Token');
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
    await store.open();
    await store.put(record);
    await store.close();
    const raw = new Level<string, string>(folder.path, { valueEncoding: 'utf8' });
    await raw.open();
    try {
      expect(await raw.get('56-Token')).toBe(JSON.stringify(record));
    } finally {
      await raw.close();
    }
  });
});

describe('never creating a store as a side effect', () => {
  it('fails a missing path with STORE_NOT_FOUND naming it, and creates nothing', async () => {
    for (const options of [{}, { readOnly: true }]) {
      const store = new LevelDbStore({ path: folder.path, ...options });
      await expect(store.open()).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', file: folder.path });
      expect(existsSync(folder.path)).toBe(false);
    }
  });

  it('fails an empty folder with STORE_NOT_FOUND and refuses to create among foreign files', async () => {
    const { mkdir, writeFile, readdir } = await import('node:fs/promises');
    await mkdir(folder.path);
    await expect(new LevelDbStore({ path: folder.path }).open()).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    expect(await readdir(folder.path)).toEqual([]);
    await writeFile(join(folder.path, 'notes.json'), '{}');
    await expect(new LevelDbStore({ path: folder.path, create: true }).open()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await readdir(folder.path)).toEqual(['notes.json']);
  });

  it('creates the store only when asked', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true });
    await store.open();
    await store.put(rec(56, 'A'));
    await store.close();
    expect(existsSync(join(folder.path, 'CURRENT'))).toBe(true);
  });
});
