import { describe, expect, it } from 'vitest';
import {
  applyQuery,
  canonicalDigest,
  compareKeys,
  compareStoreBatches,
  compareStores,
  diffRecords,
  digestStore,
  ErrorCodes,
  JsonNumber,
  keyOf,
  productionSample,
  sampleRecord,
  type DeploymentRecord,
  type StoreEntry,
  restoreLoss,
} from '../src/index.js';

const entries = (records: DeploymentRecord[]): StoreEntry[] =>
  records.map((record) => ({ key: keyOf(record), record })).sort((a, b) => compareKeys(a.key, b.key));
async function* streamed(list: StoreEntry[]): AsyncGenerator<StoreEntry> {
  for (const entry of list) yield entry;
}

/** `list` cut into batches of `size` entries, yielded asynchronously. */
async function* batched(list: StoreEntry[], size: number): AsyncGenerator<StoreEntry[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

describe('compareStores', () => {
  const { records } = productionSample();

  it('compares batches as it compares entries one by one, whatever the batch sizes (differences, exclusions, digests)', async () => {
    const left = entries(records);
    const right = entries(structuredClone(records));
    // One record changed, one only on each side, exclusions on both sides and at batch edges.
    (right[3]!.record as Record<string, unknown>).address = `0x${'cd'.repeat(20)}`;
    // A key taken from one side is on the other side only.
    const onlyRight = left.splice(7, 1);
    const onlyLeft = right.splice(12, 1);
    expect(onlyLeft[0]!.key).not.toBe(onlyRight[0]!.key);
    const exclude = [left[0]!.key, left[5]!.key, right[right.length - 1]!.key];
    const one = await compareStores(left, right, { exclude, maxDetails: 2 });
    expect(one.equal).toBe(false);
    expect(one.excluded).toHaveLength(3);
    expect(one.differing.length + one.onlyLeft.length + one.onlyRight.length).toBe(2);
    for (const [a, b] of [[1, 1], [2, 5], [5, 100], [100, 3]] as const) {
      expect(await compareStoreBatches(batched(left, a), batched(right, b), { exclude, maxDetails: 2 })).toEqual(one);
    }
    expect(await compareStoreBatches([[], left, []], [right], { exclude, maxDetails: 2 })).toEqual(one);
    const all = await compareStores(left, right, { exclude });
    expect(all.differing.map((d) => d.key)).toEqual([right[3]!.key]);
    expect(all.onlyLeft.map((e) => e.key)).toEqual(onlyLeft.map((e) => e.key));
    expect(all.onlyRight.map((e) => e.key)).toEqual(onlyRight.map((e) => e.key));
  });

  it('throws INVALID_ARGUMENT for keys out of order inside a batch and across batches', async () => {
    const list = entries(records);
    const swapped = [list[1]!, list[0]!, ...list.slice(2)];
    await expect(compareStoreBatches([swapped], [list])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(compareStoreBatches([list], [list.slice(0, 3), list.slice(2)])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    // An excluded key is never hashed, yet its place in the order is checked all the same.
    const late = [list[0]!, list[2]!, list[1]!, ...list.slice(3)];
    const exclude = [list[1]!.key];
    await expect(compareStoreBatches([late], [list], { exclude })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, key: list[1]!.key });
    await expect(compareStoreBatches([list], [late.slice(0, 2), late.slice(2)], { exclude })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect((await compareStoreBatches([list], [list], { exclude })).equal).toBe(true);
  });

  it('finds two copies of the sample equal, with equal digests and counts', async () => {
    const result = await compareStores(entries(records), streamed(entries(structuredClone(records))));
    expect(result).toMatchObject({ equal: true, onlyLeft: [], onlyRight: [], differing: [], excluded: [] });
    expect(result.left).toEqual(result.right);
    expect(result.left.count).toBe(26);
    expect(await digestStore(entries(records))).toEqual(result.left);
  });

  it('uses a digest the source already computed instead of hashing the record again', async () => {
    const [first, ...rest] = entries(records);
    const plain = await compareStores([first!, ...rest], [first!, ...rest]);
    // Proven by a digest that is not the record's: the comparison takes it as given.
    const given = await compareStores([first!, ...rest], [{ ...first!, digest: 'f'.repeat(64) }, ...rest]);
    expect(plain.equal).toBe(true);
    expect(given.equal).toBe(false);
    expect(given.differing.map((d) => [d.key, d.rightDigest])).toEqual([[first!.key, 'f'.repeat(64)]]);
    const right = await compareStores([first!, ...rest], [{ ...first!, digest: canonicalDigest(first!.record) }, ...rest]);
    expect(right).toEqual(plain);
  });

  it('lists what is missing on each side with its record', async () => {
    const [first, second, ...rest] = entries(records);
    const result = await compareStores([first!, ...rest], [second!, ...rest]);
    expect(result.equal).toBe(false);
    expect(result.onlyLeft.map((e) => e.key)).toEqual([first!.key]);
    expect(result.onlyRight).toEqual([second]);
    expect(result.left.count).toBe(25);
    expect(result.left.digest).not.toBe(result.right.digest);
  });

  it('shows each differing field with both values, extra fields and big numbers included', async () => {
    const left = sampleRecord(56, 'Token', 'bscmainnet');
    const right = {
      ...structuredClone(left),
      address: '0x' + '11'.repeat(20),
      timestamp: 2n ** 64n,
      note: 'only right',
    } as DeploymentRecord;
    delete right.implementationHash;
    const result = await compareStores(entries([left]), entries([right]));
    expect(result.differing).toHaveLength(1);
    expect(result.differing[0]?.key).toBe('56-Token');
    expect(result.differing[0]?.fields).toEqual([
      { field: 'address', left: left.address, right: right.address },
      { field: 'implementationHash', left: left.implementationHash, right: undefined },
      { field: 'note', left: undefined, right: 'only right' },
      { field: 'timestamp', left: left.timestamp, right: 2n ** 64n },
    ]);
  });

  it('treats 5 and 5n and reordered fields as the same record', async () => {
    const left = { ...sampleRecord(56, 'Token', 'bscmainnet'), deploymentArgs: [5] };
    const right = Object.fromEntries(Object.entries({ ...left, deploymentArgs: [5n] }).reverse()) as DeploymentRecord;
    expect((await compareStores(entries([left]), entries([right]))).equal).toBe(true);
    expect(diffRecords(left, right)).toEqual([]);
  });

  it('leaves excluded keys out of both sides and of the digests', async () => {
    const all = entries(records);
    const dropped = all[3]!.key;
    const result = await compareStores(
      all,
      all.filter((e) => e.key !== dropped),
      { exclude: [dropped, 'absent-key'] },
    );
    expect(result.equal).toBe(true);
    expect(result.excluded).toEqual([dropped]);
    expect(result.left.count).toBe(25);
    expect(await digestStore(all, { exclude: [dropped] })).toEqual(result.right);
  });

  it('caps the details but keeps the verdict, counts and digests exact', async () => {
    const all = entries(records);
    const result = await compareStores(all, [], { maxDetails: 2 });
    expect(result.equal).toBe(false);
    expect(result.onlyLeft).toHaveLength(2);
    expect(result.left.count).toBe(26);
  });

  it('counts every difference of each kind past the cap, and says the lists were cut short', async () => {
    const left = entries(records);
    const right = entries(structuredClone(records));
    // Of 26 keys: the first 10 only on the left, the last 6 only on the right, 4 changed between.
    left.splice(20);
    right.splice(0, 10);
    for (const entry of right.slice(0, 4)) (entry.record as Record<string, unknown>).address = `0x${'cd'.repeat(20)}`;
    const capped = await compareStores(left, right, { maxDetails: 3 });
    expect(capped.counts).toEqual({ onlyLeft: 10, onlyRight: 6, differing: 4 });
    expect(capped.truncated).toBe(true);
    expect(capped.onlyLeft.length + capped.onlyRight.length + capped.differing.length).toBe(3);
    const all = await compareStores(left, right);
    expect(all.counts).toEqual(capped.counts);
    expect(all.truncated).toBe(false);
    expect([all.onlyLeft.length, all.onlyRight.length, all.differing.length]).toEqual([10, 6, 4]);
    // Exactly as many differences as the cap lists them all: nothing is cut short.
    expect((await compareStores(left, right, { maxDetails: 20 })).truncated).toBe(false);
    // onUnlisted hears each difference past the cap, by kind and key: with the lists, every one.
    const unlisted: Array<[string, string]> = [];
    const told = await compareStores(left, right, { maxDetails: 3, onUnlisted: (kind, key) => unlisted.push([kind, key]) });
    expect(unlisted).toHaveLength(17);
    const listed = [...told.onlyLeft.map((e) => ['onlyLeft', e.key]), ...told.onlyRight.map((e) => ['onlyRight', e.key]), ...told.differing.map((d) => ['differing', d.key])];
    const every = [...all.onlyLeft.map((e) => ['onlyLeft', e.key]), ...all.onlyRight.map((e) => ['onlyRight', e.key]), ...all.differing.map((d) => ['differing', d.key])];
    expect([...listed, ...unlisted].map((pair) => pair.join(' ')).sort()).toEqual(every.map((pair) => pair.join(' ')).sort());
  });

  it('refuses a stream out of key order with INVALID_ARGUMENT, on either side', async () => {
    const all = entries(records);
    const shuffled = [all[1]!, all[0]!, ...all.slice(2)];
    await expect(compareStores(shuffled, all)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(compareStores(all, streamed(shuffled))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(compareStores(all, [all[0]!, all[0]!])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(digestStore(shuffled)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('compares empty stores as equal', async () => {
    const result = await compareStores([], streamed([]));
    expect(result.equal).toBe(true);
    expect(result.left).toEqual({ count: 0, digest: result.right.digest });
  });
});

describe('applyQuery', () => {
  const rec = (chainId: number, name: string, timestamp: number | bigint, networkName = 'n'): DeploymentRecord => ({
    ...sampleRecord(chainId, name, networkName),
    timestamp,
  });
  const keyed = (rs: DeploymentRecord[]): string[] => rs.map(keyOf);
  const records = [rec(56, 'B', 2n ** 60n), rec(56, 'a', 5), rec(97, 'A', 5, 'bsc'), rec(97, 'C', 1)].sort((x, y) =>
    compareKeys(keyOf(x), keyOf(y)),
  );

  it('keeps key order by default and reverses it on desc', () => {
    expect(keyed(applyQuery([...records], {}))).toEqual(['56-B', '56-a', '97-A', '97-C']);
    expect(keyed(applyQuery([...records], { order: 'desc' }))).toEqual(['97-C', '97-A', '56-a', '56-B']);
  });

  it('sorts timestamps of mixed number and bigint, ties in key order', () => {
    expect(keyed(applyQuery([...records], { sortBy: 'timestamp' }))).toEqual(['97-C', '56-a', '97-A', '56-B']);
    expect(keyed(applyQuery([...records], { sortBy: 'timestamp', order: 'desc' }))).toEqual(['56-B', '56-a', '97-A', '97-C']);
  });

  it('sorts names bytewise (upper case first) and chains numerically', () => {
    expect(keyed(applyQuery([...records], { sortBy: 'contractName' }))).toEqual(['97-A', '56-B', '97-C', '56-a']);
    expect(keyed(applyQuery([rec(560, 'X', 1), rec(97, 'X', 1), rec(56, 'X', 1)], { sortBy: 'chainId' }))).toEqual([
      '56-X',
      '97-X',
      '560-X',
    ]);
  });

  it('filters by every criterion together and limits', () => {
    expect(keyed(applyQuery([...records], { chainId: 97, networkName: 'bsc' }))).toEqual(['97-A']);
    expect(keyed(applyQuery([...records], { contractName: 'a' }))).toEqual(['56-a']);
    expect(applyQuery([...records], { chainId: 1 })).toEqual([]);
    expect(keyed(applyQuery([...records], { limit: 1, order: 'desc' }))).toEqual(['97-C']);
    expect(applyQuery([...records], { limit: 0 })).toEqual([]);
    expect(applyQuery([], { sortBy: 'timestamp' })).toEqual([]);
  });

  it("does not reorder the caller's array", () => {
    const input = [...records];
    applyQuery(input, { sortBy: 'timestamp', order: 'desc' });
    expect(input).toEqual(records);
  });

  it('refuses an unknown sort field or order with INVALID_ARGUMENT', () => {
    expect(() => applyQuery([], { sortBy: 'address' as never })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => applyQuery([], { order: 'up' as never })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('refuses a query that would quietly match nothing or everything: a limit that is not a whole count, a filter of the wrong type, a field it does not know', () => {
    const refused = (query: unknown, code: string, message: RegExp): void => {
      expect(() => applyQuery([...records], query as never)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
    };
    refused({ limit: -1 }, ErrorCodes.INVALID_ARGUMENT, /limit must be a whole number of records, 0 or more, got -1/);
    refused({ limit: 1.5 }, ErrorCodes.INVALID_ARGUMENT, /got 1\.5/);
    refused({ limit: '2' }, ErrorCodes.INVALID_ARGUMENT, /got "2"/);
    refused({ limit: Number.POSITIVE_INFINITY }, ErrorCodes.INVALID_ARGUMENT, /got Infinity/);
    refused({ contractName: 5 }, ErrorCodes.INVALID_ARGUMENT, /contractName must be a string, got 5/);
    refused({ networkName: null }, ErrorCodes.INVALID_ARGUMENT, /networkName must be a string, got null/);
    refused({ chainId: '56' }, ErrorCodes.INVALID_KEY, /chainId/);
    refused({ contract: 'A' }, ErrorCodes.INVALID_ARGUMENT, /no field "contract" \(did you mean contractName\?\)/);
    refused({ sortby: 'timestamp' }, ErrorCodes.INVALID_ARGUMENT, /did you mean sortBy\?/);
    refused({ page: 2 }, ErrorCodes.INVALID_ARGUMENT, /no field "page"; its fields are chainId, contractName/);
    refused([], ErrorCodes.INVALID_ARGUMENT, /a query is an object .* got an array/);
    expect(keyed(applyQuery([...records], { limit: undefined, contractName: undefined }))).toHaveLength(4);
  });
});

describe('restoreLoss', () => {
  // Before: timestamps were compared as doubles, which make 2^53 and 2^53 + 1 equal: a restore put
  // the older record back over the newer one without refusing (1 of 1 through `deploystate restore`).
  it('counts a record the current version holds newer by a timestamp beyond 2^53, in any form', () => {
    const big = 2n ** 53n;
    for (const [now, then] of [
      [big + 1n, big],
      [new JsonNumber(String(big + 1n)), new JsonNumber(String(big))],
      [big + 1n, new JsonNumber(String(big))],
    ] as const) {
      const loss = restoreLoss(new Map([['56-A', { timestamp: now }]]), new Map([['56-A', { timestamp: then }]]));
      expect(loss.older, String(now)).toEqual(['56-A']);
      expect(restoreLoss(new Map([['56-A', { timestamp: then }]]), new Map([['56-A', { timestamp: now }]])).older).toEqual([]);
    }
  });
});
