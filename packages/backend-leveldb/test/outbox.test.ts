// The outbox's reserved key space: a write and its entry land in one batch, and no reader of the
// store (iterate, list, query, integrity, health, a snapshot) ever sees an entry as a record.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { checkRecord, sampleRecord, stringifyLossless } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { isOutboxKey, LevelDbStore, OUTBOX_PREFIX, openSnapshot } from '../src/index.js';
import { decodeOutboxEntry, encodeOutboxEntry, newOutboxId } from '../src/outbox.js';

let dir: string;
let store: LevelDbStore;

beforeEach(async () => {
  dir = await makeTempDir('deploystate-outbox-');
  store = new LevelDbStore({ path: dir, create: true, idleCloseMs: 0 });
  await store.open();
  await store.put(sampleRecord(56, 'Plain', 'bscmainnet'));
  await store.writeWithOutbox({ op: 'put', record: sampleRecord(56, 'Router', 'bscmainnet', 1) }, { key: '56-Router', op: 'put', pid: process.pid });
  await store.writeWithOutbox({ op: 'put', record: sampleRecord(97, 'Token', 'bsctestnet', 2) }, { key: '97-Token', op: 'put', pid: process.pid });
});

afterEach(async () => {
  await store.close();
  await removeTempDir(dir);
});

describe('LevelDB outbox', () => {
  it('commits the record and an entry together, readable in order and removable by id', async () => {
    expect(await store.get(56, 'Router')).not.toBeNull();
    const entries = await store.readOutbox();
    expect(entries.map((e) => e.key)).toEqual(['56-Router', '97-Token']);
    for (const e of entries) {
      expect(isOutboxKey(e.id)).toBe(true);
      // No digest on the put's path: the drainer digests the value it applies.
      expect(e).not.toHaveProperty('digest');
      expect(e.pid).toBe(process.pid);
    }
    await store.removeOutbox(entries.map((e) => e.id));
    expect(await store.readOutbox()).toEqual([]);
  });

  it('an entry reads back exactly, whatever characters its key and phase hold', () => {
    const keys = ['56-Router', '1-a"b\\c', '97-contracts/x.sol:X\n\t\u0001', '5-\u00e9\u4e2d\ud83d\ude00', '7-\u2028\u2029', '8-lone \ud800 \udfff', '9-\u007f', '3-{"a":1}'];
    for (const key of keys) {
      for (const phase of ['dual-write', 'dual-"write"', 'tab\there', undefined]) {
        for (const pid of [process.pid, 4242]) {
          const { id, seq, ms } = newOutboxId();
          const text = encodeOutboxEntry({ key, op: 'put', pid, ...(phase !== undefined && { phase }) }, seq, ms);
          expect(decodeOutboxEntry(id, text)).toEqual({ id, seq, key, op: 'put', time: new Date(ms).toISOString(), pid, ...(phase !== undefined && { phase }) });
        }
      }
    }
    const { id, seq, ms } = newOutboxId();
    expect(decodeOutboxEntry(id, encodeOutboxEntry({ key: '56-Gone', op: 'delete', pid: 1 }, seq, ms))).toEqual({
      id,
      seq,
      key: '56-Gone',
      op: 'delete',
      time: new Date(ms).toISOString(),
      pid: 1,
    });
  });

  it("a writer's own entry stores only what its key cannot hold: the operation, the phase, its time and the record key", () => {
    const { id, seq, ms } = newOutboxId();
    const text = encodeOutboxEntry({ key: '56-Router', op: 'put', pid: process.pid, phase: 'dual-write' }, seq, ms);
    expect(text).toMatch(/^put\tdual-write\t\d+\t56-Router$/);
    expect(decodeOutboxEntry(id, text)?.time).toBe(new Date(ms).toISOString());
  });

  it('values that are not entries read back as nothing (the drainer removes them)', () => {
    const { id } = newOutboxId();
    for (const raw of ['', 'put', 'put\tdual-write', 'put\t\t56-A', 'put\t\tx\t56-A', 'patch\t\t5\t56-A', '{"key":1}', '{not json']) {
      expect(decodeOutboxEntry(id, raw)).toBeUndefined();
    }
    expect(decodeOutboxEntry(`${OUTBOX_PREFIX}zz`, 'put\t\t5\t56-A')).toBeUndefined();
  });

  it('an entry an earlier version wrote with a digest still reads back', () => {
    const id = `${OUTBOX_PREFIX}000001800000000.0000012345.000000000003`;
    const text = JSON.stringify({ seq: 3, key: '56-Router', op: 'put', digest: 'ab'.repeat(32), pid: 7, phase: 'dual-write', ms: 5 });
    expect(decodeOutboxEntry(id, text)).toEqual({ id, seq: 3, key: '56-Router', op: 'put', time: new Date(5).toISOString(), pid: 7, phase: 'dual-write' });
  });

  it("outbox ids keep their fixed-width parts, so one writer's sort in the order it wrote them", () => {
    const first = newOutboxId();
    const second = newOutboxId();
    const parts = first.id.slice(OUTBOX_PREFIX.length).split('.');
    expect(parts.map((p) => p.length)).toEqual([9, 7, 12]);
    expect(parseInt(parts[0] as string, 36)).toBeLessThanOrEqual(first.ms);
    expect(parseInt(parts[1] as string, 36)).toBe(process.pid);
    expect(Number(parts[2])).toBe(first.seq);
    expect(second.seq).toBe(first.seq + 1);
    expect(second.id > first.id).toBe(true);
  });

  it('takes a record checked already as it is, under the key the check built', async () => {
    const checked = checkRecord(sampleRecord(97, 'Checked', 'bsctestnet', 3));
    const result = await store.writeWithOutbox({ op: 'put', checked }, { key: checked.key, op: 'put', pid: process.pid });
    expect(result).toEqual({ admitted: true, existed: true });
    expect(await store.get(97, 'Checked')).toEqual(sampleRecord(97, 'Checked', 'bsctestnet', 3));
    expect((await store.readOutbox()).map((e) => e.key)).toContain('97-Checked');
  });

  it('writes nothing when the admit check says no', async () => {
    const result = await store.writeWithOutbox(
      { op: 'put', record: sampleRecord(56, 'Refused', 'bscmainnet') },
      { key: '56-Refused', op: 'put', pid: process.pid },
      () => false,
    );
    expect(result.admitted).toBe(false);
    expect(await store.get(56, 'Refused')).toBeNull();
    expect((await store.readOutbox()).map((e) => e.key)).not.toContain('56-Refused');
  });

  it('writes a batch of records with an entry each in one LevelDB batch, entries in order, a key named twice ending as its last record', async () => {
    const batch = [sampleRecord(97, 'One', 'bsctestnet', 1), sampleRecord(56, 'Two', 'bscmainnet', 1), sampleRecord(97, 'One', 'bsctestnet', 2)].map((r) =>
      checkRecord(r),
    );
    const before = (await store.readOutbox()).length;
    const result = await store.putManyWithOutbox(batch, (one) => ({ key: one.key, op: 'put', pid: process.pid, phase: 'dual-write' }));
    expect(result.admitted).toBe(true);
    expect(await store.get(97, 'One')).toEqual(sampleRecord(97, 'One', 'bsctestnet', 2));
    expect(await store.get(56, 'Two')).toEqual(sampleRecord(56, 'Two', 'bscmainnet', 1));
    const added = (await store.readOutbox()).slice(before);
    expect(added.map((e) => [e.key, e.op, e.phase])).toEqual([
      ['97-One', 'put', 'dual-write'],
      ['56-Two', 'put', 'dual-write'],
      ['97-One', 'put', 'dual-write'],
    ]);
  });

  it('writes nothing of a batch when the admit check says no, or when one of its records cannot be printed', async () => {
    const before = await store.readOutbox();
    const refused = await store.putManyWithOutbox([checkRecord(sampleRecord(56, 'Refused', 'bscmainnet'))], (one) => ({ key: one.key, op: 'put', pid: 1 }), () => false);
    expect(refused.admitted).toBe(false);
    const fine = checkRecord(sampleRecord(56, 'Fine', 'bscmainnet'));
    const broken = checkRecord(sampleRecord(97, 'Broken', 'bsctestnet'));
    // A value the codec cannot print (a record built past the checks): the whole batch is refused.
    const unprintable = { ...broken, record: { ...broken.record, deploymentArgs: [Number.NaN] } } as unknown as typeof broken;
    await expect(store.putManyWithOutbox([fine, unprintable], (one) => ({ key: one.key, op: 'put', pid: 1 }))).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(await store.get(56, 'Refused')).toBeNull();
    expect(await store.get(56, 'Fine')).toBeNull();
    expect(await store.readOutbox()).toEqual(before);
  });

  it('a delete goes with its entry and says whether the record was there', async () => {
    const gone = await store.writeWithOutbox({ op: 'delete', chainId: 56, contractName: 'Router' }, { key: '56-Router', op: 'delete', pid: 1 });
    expect(gone).toEqual({ admitted: true, existed: true });
    expect(await store.get(56, 'Router')).toBeNull();
    const entries = await store.readOutbox();
    expect(entries.at(-1)).toMatchObject({ key: '56-Router', op: 'delete' });
  });

  it('refuses to remove a key outside the outbox', async () => {
    await expect(store.removeOutbox(['56-Plain'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await store.get(56, 'Plain')).not.toBeNull();
  });

  it('every reader skips the outbox keys', async () => {
    const keys: string[] = [];
    for await (const { key } of store.iterate()) keys.push(key);
    expect(keys).toEqual(['56-Plain', '56-Router', '97-Token']);
    expect(keys.some((k) => k.startsWith(OUTBOX_PREFIX))).toBe(false);
    // The raw rows too: each value's text as stored, all chains or one.
    const raw: Array<[string, string]> = [];
    for await (const rows of store.iterateRaw()) raw.push(...rows);
    expect(raw.map(([key]) => key)).toEqual(keys);
    expect(raw[0]?.[1]).toBe(stringifyLossless(sampleRecord(56, 'Plain', 'bscmainnet')));
    const chain97: string[] = [];
    for await (const rows of store.iterateRaw({ chainId: 97 })) chain97.push(...rows.map(([key]) => key));
    expect(chain97).toEqual(['97-Token']);
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['Plain', 'Router']);
    expect(await store.query({})).toHaveLength(3);
    const integrity = await store.checkIntegrity();
    expect(integrity.ok).toBe(true);
    expect(integrity.total).toBe(3);
    // A snapshot copy holds the entries too (they are data until drained), and skips them the same way.
    const snapshot = await openSnapshot(dir);
    try {
      const seen: string[] = [];
      for await (const { key } of snapshot.store.iterate()) seen.push(key);
      expect(seen).toEqual(keys);
      expect((await snapshot.store.readOutbox()).length).toBe(2);
    } finally {
      await snapshot.dispose();
    }
  });
});

describe('getRecords: the values of many keys in one read', () => {
  it('gives each key its record, null where there is none, and the error a get would throw where the value does not decode', async () => {
    await store.close();
    const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await raw.put('97-Broken', '{"contractName": "Broken", ');
    await raw.close();
    await store.open();
    const [plain, missing, broken, router] = await store.getRecords(['56-Plain', '56-Nobody', '97-Broken', '56-Router']);
    expect(plain).toEqual(await store.get(56, 'Plain'));
    expect(missing).toBeNull();
    expect(broken).toMatchObject({ error: { code: 'CORRUPTED', key: '97-Broken' } });
    await expect(store.get(97, 'Broken')).rejects.toMatchObject({ code: 'CORRUPTED', key: '97-Broken' });
    expect(router).toEqual(await store.get(56, 'Router'));
    expect(await store.getRecords([])).toEqual([]);
  });
});

