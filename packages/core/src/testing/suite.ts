// The conformance suite: the definition of the StateStore contract. Every backend calls it with a
// factory for a fresh store in a fresh location; a behaviour not proven here is not promised.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalEncode } from '../canonical.js';
import { digestStore } from '../compare.js';
import { ErrorCodes, type ErrorCode } from '../errors.js';
import { compareKeys, recordKey } from '../keys.js';
import { JsonNumber, MAX_INTEGER_DIGITS } from '../json-number.js';
import type { DeploymentRecord } from '../record.js';
import { sampleRecord } from '../samples.js';
import type { StateStore } from '../store.js';

export interface ConformanceHarness {
  /** A fresh store in a fresh location, not yet opened. */
  store: StateStore;
  /** A new store instance over the same location (called after `store` is closed). */
  reopen(): Promise<StateStore>;
  /** Removes the location. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** Shown in the suite's title, e.g. `json (cache off)`. */
  name: string;
  create(): Promise<ConformanceHarness>;
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

function rec(chainId: number, contractName: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { ...sampleRecord(chainId, contractName, chainId === 56 ? 'bscmainnet' : `chain-${chainId}`), ...overrides };
}

const same = (a: unknown, b: unknown): void => expect(canonicalEncode(a)).toBe(canonicalEncode(b));

export function stateStoreConformance(options: ConformanceOptions): void {
  describe(`StateStore conformance: ${options.name}`, () => {
    let harness: ConformanceHarness;
    let store: StateStore;
    const extra: StateStore[] = [];

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
      await store.open();
    });

    afterEach(async () => {
      for (const s of [store, ...extra.splice(0)]) await s.close();
      await harness.cleanup();
    });

    it('opens and closes idempotently and reports its status', async () => {
      await store.open();
      expect(store.status).toBe('open');
      await store.close();
      await store.close();
      expect(store.status).toBe('closed');
      expect(typeof store.backend).toBe('string');
    });

    it('answers null and false for an absent record', async () => {
      expect(await store.get(56, 'Missing')).toBeNull();
      expect(await store.has(56, 'Missing')).toBe(false);
      expect(await store.delete(56, 'Missing')).toBe(false);
    });

    it('returns what was put, and overwrites on a second put', async () => {
      const first = rec(56, 'Token');
      await store.put(first);
      same(await store.get(56, 'Token'), first);
      expect(await store.has(56, 'Token')).toBe(true);
      const second = { ...first, address: '0x' + 'ab'.repeat(20), timestamp: 5 };
      await store.put(second);
      same(await store.get(56, 'Token'), second);
    });

    it('hands out copies: changing a returned or a given record changes nothing stored', async () => {
      const given = rec(56, 'Token');
      await store.put(given);
      given.address = 'changed after put';
      (given.deploymentArgs as unknown[]).push('changed');
      const got = await store.get(56, 'Token');
      expect(got?.address).not.toBe('changed after put');
      if (got) {
        got.address = 'changed after get';
        (got.deploymentArgs as unknown[]).push('x');
      }
      same(await store.get(56, 'Token'), rec(56, 'Token'));
    });

    it('deletes a record and says whether one was there', async () => {
      await store.put(rec(56, 'Token'));
      expect(await store.delete(56, 'Token')).toBe(true);
      expect(await store.get(56, 'Token')).toBeNull();
      expect(await store.delete(56, 'Token')).toBe(false);
    });

    it('lists one chain in key order without bleeding into chains whose id shares a prefix', async () => {
      await store.putMany([rec(5, 'A'), rec(56, 'Zeta'), rec(56, 'Alpha'), rec(560, 'B'), rec(6, 'C'), rec(56, 'Mid-dash')]);
      const names = (await store.list(56)).map((r) => r.contractName);
      expect(names).toEqual(['Alpha', 'Mid-dash', 'Zeta']);
      expect((await store.list(5)).map((r) => r.contractName)).toEqual(['A']);
      expect(await store.list(999)).toEqual([]);
    });

    it('iterates every record in UTF-8 byte order, and one chain on request', async () => {
      // U+FF5E sorts before U+1F600 in UTF-8, but after it in JavaScript's UTF-16 sort.
      const names = ['b', 'a', 'Z', '\uff5e', '\u{1f600}', 'é', 'a b', 'a-b'];
      await store.putMany(names.map((n) => rec(97, n)));
      await store.put(rec(56, 'Other'));
      const keys: string[] = [];
      for await (const entry of store.iterate()) keys.push(entry.key);
      const expected = [...names.map((n) => recordKey(97, n)), recordKey(56, 'Other')].sort(compareKeys);
      expect(keys).toEqual(expected);
      expect(expected.indexOf(recordKey(97, '\uff5e'))).toBeLessThan(expected.indexOf(recordKey(97, '\u{1f600}')));
      const chain: string[] = [];
      for await (const entry of store.iterate({ chainId: 56 })) chain.push(entry.key);
      expect(chain).toEqual([recordKey(56, 'Other')]);
    });

    it('queries by chain, name and network, sorts either way by each field, and limits', async () => {
      await store.putMany([
        rec(56, 'A', { timestamp: 30n ** 20n, networkName: 'bsc' }),
        rec(56, 'B', { timestamp: 10 }),
        rec(97, 'A', { timestamp: 20 }),
        rec(84532, 'C', { timestamp: 20 }),
      ]);
      const keys = (rs: DeploymentRecord[]): string[] => rs.map((r) => recordKey(r.chainId, r.contractName));
      expect(keys(await store.query({ chainId: 56 }))).toEqual(['56-A', '56-B']);
      expect(keys(await store.query({ contractName: 'A' }))).toEqual(['56-A', '97-A']);
      expect(keys(await store.query({ networkName: 'bsc' }))).toEqual(['56-A']);
      expect(keys(await store.query({ sortBy: 'timestamp' }))).toEqual(['56-B', '84532-C', '97-A', '56-A']);
      expect(keys(await store.query({ sortBy: 'timestamp', order: 'desc' }))).toEqual(['56-A', '84532-C', '97-A', '56-B']);
      expect(keys(await store.query({ sortBy: 'contractName' }))).toEqual(['56-A', '97-A', '56-B', '84532-C']);
      expect(keys(await store.query({ sortBy: 'chainId', order: 'desc' }))).toEqual(['84532-C', '97-A', '56-A', '56-B']);
      expect(keys(await store.query({ sortBy: 'timestamp', limit: 2 }))).toEqual(['56-B', '84532-C']);
      expect(keys(await store.query({ order: 'desc' }))).toEqual(['97-A', '84532-C', '56-B', '56-A']);
      await expectCode(store.query({ sortBy: 'address' as never }), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.query({ limit: -1 }), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.query({ chainId: 56, contract: 'A' } as never), ErrorCodes.INVALID_ARGUMENT);
    });

    it('keeps unknown fields, nested values and nulls untouched', async () => {
      const record = rec(56, 'Token', {
        proxyAddress: null,
        deployer: '0x' + '12'.repeat(20),
        constructorArgs: { nested: [1, { deep: true }], empty: {} },
        tags: ['a', 'b'],
        note: null,
      });
      await store.put(record);
      same(await store.get(56, 'Token'), record);
    });

    it('keeps every number exact: big literals stay bigint, big strings stay strings, -0 and floats survive', async () => {
      const big = 2n ** 64n + 1n;
      const record = rec(56, 'Big', {
        timestamp: 10n ** 30n,
        deploymentArgs: [big, -(2n ** 53n + 1n), '18446744073709551617', -0, 0.30000000000000004, 1e-7, 9007199254740991],
      });
      await store.put(record);
      const got = await store.get(56, 'Big');
      same(got, record);
      const args = got?.deploymentArgs as unknown[];
      expect(args[0]).toBe(big);
      expect(typeof args[2]).toBe('string');
      expect(Object.is(args[3], -0)).toBe(true);
      expect(got?.timestamp).toBe(10n ** 30n);
      expect(args[6]).toBe(9007199254740991);
    });

    it('keeps every literal a double would change exactly as written (JsonNumber), in any field and as a timestamp', async () => {
      const texts = ['0.1000000000000000055511151231257827', '1.5e-400', '1e400', '1e21', '1.0', '-0.0'];
      const record = rec(56, 'Exact', {
        timestamp: new JsonNumber('1.723e12'),
        deploymentArgs: texts.map((t) => new JsonNumber(t)),
        extra: { nested: [new JsonNumber('2.50')] },
      });
      await store.put(record);
      const got = await store.get(56, 'Exact');
      same(got, record);
      expect((got?.deploymentArgs as JsonNumber[]).map((n) => n.text)).toEqual(texts);
      expect((got?.timestamp as JsonNumber).text).toBe('1.723e12');
      expect(canonicalEncode(got?.extra)).toBe('{"nested":[2.50]}');
      // Not the double it would round to.
      expect(canonicalEncode((got?.deploymentArgs as unknown[])[0])).not.toBe(canonicalEncode(0.1));
      same((await store.list(56)).find((r) => r.contractName === 'Exact'), record);
    });

    it('holds and answers a record as every reader gets it back: toJSON applied, integers beyond 2^53 as bigints, small bigints as numbers', async () => {
      class BigNumberLike {
        constructor(readonly _hex: string) {}
        toJSON(): unknown {
          return { type: 'BigNumber', hex: this._hex };
        }
      }
      const given = rec(56, 'Shapes', {
        timestamp: 1_700_000_000_000n,
        deploymentArgs: [new Date(0), new BigNumberLike('0x0de0b6b3a7640000'), 2 ** 60, 1e21, 5n, undefined, { toJSON: () => 'own' }],
        note: undefined,
        nested: { at: new Date(86_400_000), list: [undefined] },
      });
      const expected = {
        ...rec(56, 'Shapes', { timestamp: 1_700_000_000_000 }),
        deploymentArgs: ['1970-01-01T00:00:00.000Z', { type: 'BigNumber', hex: '0x0de0b6b3a7640000' }, 2n ** 60n, 10n ** 21n, 5, null, 'own'],
        nested: { at: '1970-01-02T00:00:00.000Z', list: [null] },
      };
      await store.put(given);
      await store.putMany([{ ...given, contractName: 'ShapesToo' }]);
      // In the writing process, as in any other: a store that keeps records in memory answers what its file gives back.
      expect(await store.get(56, 'Shapes')).toStrictEqual(expected);
      expect(await store.get(56, 'ShapesToo')).toStrictEqual({ ...expected, contractName: 'ShapesToo' });
      expect((await store.list(56)).find((r) => r.contractName === 'Shapes')).toStrictEqual(expected);
      if (!store.capabilities.persistent) return;
      await store.close();
      const again = await harness.reopen();
      extra.push(again);
      await again.open();
      expect(await again.get(56, 'Shapes')).toStrictEqual(expected);
      expect(await again.get(56, 'ShapesToo')).toStrictEqual({ ...expected, contractName: 'ShapesToo' });
    });

    it('treats __proto__, constructor, toString and qualified names as ordinary names', async () => {
      const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'contracts/x/Y.sol:Y', 'with space', '名前'];
      await store.putMany(names.map((n) => rec(56, n)));
      for (const n of names) same(await store.get(56, n), rec(56, n));
      expect((await store.list(56)).length).toBe(names.length);
      expect(await store.get(56, 'valueOf')).toBeNull();
    });

    it('refuses an invalid record with INVALID_RECORD and writes nothing', async () => {
      await store.put(rec(56, 'Kept'));
      const bad: unknown[] = [
        { ...rec(56, 'Bad'), chainId: 1.5 },
        { ...rec(56, 'Bad'), chainId: '56' },
        { ...rec(56, 'Bad'), contractName: '' },
        { ...rec(56, 'Bad'), address: 42 },
        { ...rec(56, 'Bad'), timestamp: 1.5 },
        { ...rec(56, 'Bad'), deploymentArgs: 'nope' },
        // Numbers no file holds: NaN and infinities have no JSON form, and an integer of more than
        // MAX_INTEGER_DIGITS digits would make the whole file unreadable (the codec refuses it).
        { ...rec(56, 'Bad'), deploymentArgs: [Number.NaN] },
        { ...rec(56, 'Bad'), gas: { limit: Number.POSITIVE_INFINITY } },
        { ...rec(56, 'Bad'), deploymentArgs: [10n ** BigInt(MAX_INTEGER_DIGITS)] },
        // Containers JSON writes as {}: their contents would be lost without a word.
        { ...rec(56, 'Bad'), deploymentArgs: [new Map([['fee', 3]])] },
        { ...rec(56, 'Bad'), deploymentArgs: [Promise.resolve('0x1')] },
        // What JSON drops without a word (a step of the script not yet run, most often).
        { ...rec(56, 'Bad'), deploymentArgs: [{ fee: () => 3 }] },
        { ...rec(56, 'Bad'), tag: Symbol('v2') },
        null,
        [],
      ];
      for (const value of bad) await expectCode(store.put(value as DeploymentRecord), ErrorCodes.INVALID_RECORD);
      // Once its name and chain are good, the error names the record's key.
      for (const value of bad.slice(3, 13)) await expect(store.put(value as DeploymentRecord)).rejects.toMatchObject({ key: '56-Bad' });
      // ...and the field, down to the element.
      await expect(store.put(bad[11] as DeploymentRecord)).rejects.toThrow(/56-Bad: deploymentArgs\[0\]\.fee holds a function/);
      await expect(store.put(bad[12] as DeploymentRecord)).rejects.toThrow(/56-Bad: tag holds a symbol/);
      await expectCode(store.putMany([rec(56, 'Good'), bad[0] as DeploymentRecord]), ErrorCodes.INVALID_RECORD);
      // A batch that is not an array at all: named as the argument it is, never a TypeError.
      for (const notABatch of [null, 'abc', 42, { length: 1 }, rec(56, 'Good')])
        await expect(store.putMany(notABatch as unknown as DeploymentRecord[])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, message: /putMany takes an array of records/ });
      expect(await store.get(56, 'Bad')).toBeNull();
      expect(await store.get(56, 'Good')).toBeNull();
      expect((await store.list(56)).map((r) => r.contractName)).toEqual(['Kept']);
    });

    it('refuses bad keys with INVALID_KEY', async () => {
      await expectCode(store.get(-1, 'X'), ErrorCodes.INVALID_KEY);
      await expectCode(store.get(56, ''), ErrorCodes.INVALID_KEY);
      await expectCode(store.list(1.5), ErrorCodes.INVALID_KEY);
      // A lone surrogate: a UTF-8 key (LevelDB's) cannot hold it, so no store takes it.
      for (const name of ['Lone\ud800X', 'X\udc00', 'Tail\ud83d']) {
        await expectCode(store.put(rec(56, name)), ErrorCodes.INVALID_KEY);
        await expectCode(store.get(56, name), ErrorCodes.INVALID_KEY);
      }
      await expectCode(store.putMany([rec(56, 'Fine'), rec(56, 'Lone\ud800')]), ErrorCodes.INVALID_KEY);
      expect(await store.list(56)).toEqual([]);
      // A surrogate pair is a character like any other.
      await store.put(rec(56, 'Pair\ud83d\ude00'));
      expect((await store.get(56, 'Pair\ud83d\ude00'))?.contractName).toBe('Pair\u{1f600}');
    });

    it('fails every operation on a closed store with STORE_CLOSED', async () => {
      await store.put(rec(56, 'Token'));
      await store.close();
      await expectCode(store.get(56, 'Token'), ErrorCodes.STORE_CLOSED);
      await expectCode(store.put(rec(56, 'Token')), ErrorCodes.STORE_CLOSED);
      await expectCode(store.delete(56, 'Token'), ErrorCodes.STORE_CLOSED);
      await expectCode(store.list(56), ErrorCodes.STORE_CLOSED);
      await expectCode(store.query({}), ErrorCodes.STORE_CLOSED);
      await expectCode(store.putMany([rec(56, 'A')]), ErrorCodes.STORE_CLOSED);
      await expectCode(
        (async () => {
          for await (const _ of store.iterate()) void _;
        })(),
        ErrorCodes.STORE_CLOSED,
      );
      expect((await store.health()).ok).toBe(false);
    });

    it('lands all of 100 concurrent puts', async () => {
      const records = Array.from({ length: 100 }, (_, i) => rec(i % 2 ? 56 : 97, `C${i}`));
      await Promise.all(records.map((r) => store.put(r)));
      expect((await store.list(56)).length).toBe(50);
      expect((await store.list(97)).length).toBe(50);
      for (const r of records.slice(0, 10)) same(await store.get(r.chainId, r.contractName), r);
    });

    it('keeps data across close and reopen', async () => {
      if (!store.capabilities.persistent) return;
      const records = [
        rec(56, 'A', { timestamp: 2n ** 70n }),
        rec(97, 'B'),
        rec(31337, 'Junk', { address: '0xdead', factoryByteCodeHash: '' }),
      ];
      await store.putMany(records);
      await store.delete(97, 'B');
      const before = await digestStore(store.iterate());
      await store.close();
      const again = await harness.reopen();
      extra.push(again);
      await again.open();
      expect(await digestStore(again.iterate())).toEqual(before);
      same(await again.get(56, 'A'), records[0]);
      expect(await again.get(97, 'B')).toBeNull();
    });

    it('reports integrity: counts per chain and findings with their keys', async () => {
      await store.putMany([
        rec(56, 'A'),
        rec(56, 'B'),
        rec(31337, 'Junk', { networkName: 'hardhat', address: '0xdead', factoryByteCodeHash: '' }),
      ]);
      const report = await store.checkIntegrity();
      expect(report.total).toBe(3);
      expect(report.perChain).toEqual({ '56': 2, '31337': 1 });
      const codes = report.findings
        .filter((f) => f.key === '31337-Junk')
        .map((f) => f.code)
        .sort();
      expect(codes).toEqual(expect.arrayContaining(['DEV_CHAIN', 'EMPTY_HASH', 'INVALID_ADDRESS']));
      expect(report.ok).toBe(false);
    });

    it('is healthy when open and counts its operations', async () => {
      expect((await store.health()).ok).toBe(true);
      await store.put(rec(56, 'A'));
      await store.get(56, 'A');
      await store.get(56, 'B');
      const metrics = store.metrics();
      expect(metrics.backend).toBe(store.backend);
      expect(metrics.operations.get?.count).toBe(2);
      expect(metrics.operations.put?.count).toBe(1);
    });
  });
}
