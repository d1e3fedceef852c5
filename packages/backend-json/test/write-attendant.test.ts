// A write's attendant (the migrator's phase check and journal outcome): its check runs while the
// new version's temp file syncs, before the rename, and a throw there leaves the file as it was;
// its bookkeeping runs once the file is replaced; a put that changes nothing calls neither.
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, StateError, checkRecord } from '@deploystate/core';
import { STATE_DIR, type WriteAttendant } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();

describe('a write attendant', () => {
  it('checks while the temp file syncs, before the rename, and is told once the file is replaced', async () => {
    const { store } = await setup();
    await store.put(rec(56, 'Token'));
    const file = store.fileFor(56);
    const calls: string[] = [];
    const holds = (): string => (readFileSync(file, 'utf8').includes('"Attended"') ? 'new' : 'old');
    await store.putAttended(checkRecord(rec(56, 'Attended')), {
      whileSyncing: () => void calls.push(`syncing:${holds()}`),
      replaced: () => void calls.push(`replaced:${holds()}`),
    });
    expect(calls).toEqual(['syncing:old', 'replaced:new']);
    expect(await store.get(56, 'Attended')).toEqual(rec(56, 'Attended'));
  });

  it('that throws while the temp file syncs abandons the write: the file stays as it was, no temp file is left, the put fails with its error', async () => {
    const { store, dir } = await setup();
    await store.put(rec(56, 'Token'));
    const file = store.fileFor(56);
    const before = await readFile(file);
    const refusal = new StateError(ErrorCodes.WRITES_REFUSED, 'the phase moved');
    let replaced = false;
    const put = store.putAttended(checkRecord(rec(56, 'Attended')), {
      whileSyncing: () => {
        throw refusal;
      },
      replaced: () => {
        replaced = true;
      },
    });
    await expect(put).rejects.toBe(refusal);
    expect(replaced).toBe(false);
    expect(await readFile(file)).toEqual(before);
    expect(await readdir(join(dir, STATE_DIR, 'tmp')).catch(() => [])).toEqual([]);
    expect(await store.get(56, 'Attended')).toBeNull();
    // Nothing is left behind that the next write trips on.
    await store.put(rec(56, 'Attended'));
    expect(await store.get(56, 'Attended')).toEqual(rec(56, 'Attended'));
  });

  it('of a delete runs like a put; a delete of a missing key and a put that changes nothing call neither hook', async () => {
    const { store } = await setup();
    await store.put(rec(56, 'Token'));
    const calls: string[] = [];
    const attend: WriteAttendant = { whileSyncing: () => void calls.push('syncing'), replaced: () => void calls.push('replaced') };
    await store.putAttended(checkRecord(rec(56, 'Token')), attend);
    expect(await store.deleteAttended(56, 'Missing', attend)).toBe(false);
    expect(calls).toEqual([]);
    expect(await store.deleteAttended(56, 'Token', attend)).toBe(true);
    expect(calls).toEqual(['syncing', 'replaced']);
    expect(await store.get(56, 'Token')).toBeNull();
  });
});
