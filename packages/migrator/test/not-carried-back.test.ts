import { describe, expect, it } from 'vitest';
import { MemoryStore, sampleRecord } from '@deploystate/core';
import { notCarriedBackEntry, recordNotCarriedBack, stillNotCarriedBack } from '../src/not-carried-back.js';
import type { RecordedNotCarriedBack } from '../src/types.js';

// What status says is still not carried back after an emergency rollback, as far as a record's
// entry goes (a network file's is covered end to end in rollback.test.ts).
describe('what a rollback could not read', () => {
  const leveldb = async (...names: string[]): Promise<MemoryStore> => {
    const store = new MemoryStore();
    await store.open();
    for (const [i, name] of names.entries()) await store.put(sampleRecord(56, name, 'bscmainnet', i + 1));
    return store;
  };
  const still = async (entries: RecordedNotCarriedBack[], store: MemoryStore) =>
    (await stillNotCarriedBack(entries, '/nonexistent-deployments', store, new Set()))?.map((e) => e.key);

  it("records the keys LevelDB holds once the carry-back is done: the file chain's, or the record's own", () => {
    const after = new Map<string, string>([
      ['56-Token', 'd1'],
      ['560-Other', 'd2'],
      ['5-Small', 'd3'],
      ['56-Router', 'd4'],
    ]);
    expect(recordNotCarriedBack({ key: 'bscmainnet.json', chainId: 56, code: 'MERGE_CONFLICT' }, after)).toEqual({
      key: 'bscmainnet.json',
      chainId: 56,
      code: 'MERGE_CONFLICT',
      inLevelDb: ['56-Token', '56-Router'],
    });
    expect(recordNotCarriedBack({ key: '56-Token', code: 'SCHEMA_VIOLATION' }, after)).toEqual({
      key: '56-Token',
      code: 'SCHEMA_VIOLATION',
      inLevelDb: ['56-Token'],
    });
    expect(recordNotCarriedBack({ key: '56-Gone', code: 'SCHEMA_VIOLATION' }, after).inLevelDb).toEqual([]);
    // No plan from JSON (the journal replayed alone): nothing to record.
    expect(recordNotCarriedBack({ key: '56-Gone', code: 'SCHEMA_VIOLATION' }, undefined)).toEqual({
      key: '56-Gone',
      code: 'SCHEMA_VIOLATION',
    });
  });

  it('a record LevelDB held when the rollback was done and lacks now was deleted there since: not listed', async () => {
    const store = await leveldb('Token');
    expect(await still([{ key: '56-Router', code: 'SCHEMA_VIOLATION', inLevelDb: ['56-Router'] }], store)).toBeUndefined();
    // Never held there: listed, as in a state recorded before `inLevelDb` was, or one edited by hand.
    expect(await still([{ key: '56-Router', code: 'SCHEMA_VIOLATION', inLevelDb: [] }], store)).toEqual(['56-Router']);
    expect(await still([{ key: '56-Router', code: 'SCHEMA_VIOLATION' }], store)).toEqual(['56-Router']);
    expect(await still([{ key: '56-Router', code: 'SCHEMA_VIOLATION', inLevelDb: '56-Router' as unknown as string[] }], store)).toEqual([
      '56-Router',
    ]);
    // Held now: nothing to say either way.
    expect(await still([{ key: '56-Token', code: 'SCHEMA_VIOLATION' }], store)).toBeUndefined();
  });

  it('shows an entry without what the state keeps of LevelDB', () => {
    expect(
      notCarriedBackEntry({ key: 'bscmainnet.json', chainId: 56, code: 'NOT_JSON', inLevelDb: ['56-Token'] } as RecordedNotCarriedBack),
    ).toEqual({
      key: 'bscmainnet.json',
      chainId: 56,
      code: 'NOT_JSON',
    });
  });
});
