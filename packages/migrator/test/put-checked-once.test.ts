// One put through the factory's store checks its record once, whichever sides it reaches: the
// record check runs in the factory, and each side takes the checked record as it is (issue 21).
// The count comes from the record itself: the check reads every optional field by name, so a
// record without `proxyAddress` sees that name read once per check; printing, copying and
// digesting a record only read the fields it has.
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { resolvePaths } from '../src/paths.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-checked-once-');

/** A record without proxyAddress that counts the reads of that name. */
function countingRecord(contractName: string): { record: DeploymentRecord; checks: () => number } {
  const { proxyAddress: _absent, ...plain } = sampleRecord(97, contractName, 'bsctestnet', 7);
  let reads = 0;
  const record = new Proxy(plain, {
    get(target, name, receiver) {
      if (name === 'proxyAddress') reads++;
      return Reflect.get(target, name, receiver) as unknown;
    },
  }) as DeploymentRecord;
  return { record, checks: () => reads };
}

async function stored(dir: string, name: string): Promise<{ leveldb: DeploymentRecord | null; json: DeploymentRecord | null }> {
  const paths = resolvePaths({ cwd: dir });
  const leveldb = new LevelDbStore({ path: paths.leveldb, readOnly: true, idleCloseMs: 0 });
  const json = new JsonFileStore({ dir: paths.deployments, readOnly: true });
  await Promise.all([leveldb.open(), json.open()]);
  try {
    return { leveldb: await leveldb.get(97, name), json: await json.get(97, name) };
  } finally {
    await Promise.all([leveldb.close(), json.close()]);
  }
}

describe('one put checks its record once', () => {
  it('the counting record sees each check: a LevelDB store alone checks it once', async () => {
    const path = resolvePaths({ cwd: tempDir() }).leveldb;
    const store = new LevelDbStore({ path, create: true, idleCloseMs: 0 });
    await store.open();
    try {
      const { record, checks } = countingRecord('Alone');
      await store.put(record);
      expect(checks()).toBe(1);
      await store.writeWithOutbox({ op: 'put', record }, { key: '97-Alone', op: 'put', pid: process.pid });
      expect(checks()).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('in dual-write (LevelDB and its outbox, JSON drained later)', async () => {
    await demoMigration(tempDir(), 'copied');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const { record, checks } = countingRecord('DualChecked');
    try {
      await store.put(record);
      expect(store.phase).toBe('dual-write');
      expect(checks()).toBe(1);
    } finally {
      await store.close();
    }
    // close() drained the outbox: both sides hold the record, and draining checked nothing more of the caller's object.
    expect(checks()).toBe(1);
    const { leveldb, json } = await stored(tempDir(), 'DualChecked');
    expect(leveldb?.timestamp).toBe(record.timestamp);
    expect(json?.timestamp).toBe(record.timestamp);
  });

  it('in json-primary (JSON, then LevelDB, journalled)', async () => {
    await demoMigration(tempDir(), 'json-primary');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const { record, checks } = countingRecord('PrimaryChecked');
    try {
      await store.put(record);
      expect(store.phase).toBe('json-primary');
      expect(checks()).toBe(1);
      // putMany checks each record once too, before any is written.
      const more = countingRecord('PrimaryBatch');
      await store.putMany([more.record]);
      expect(more.checks()).toBe(1);
    } finally {
      await store.close();
    }
    const { leveldb, json } = await stored(tempDir(), 'PrimaryChecked');
    expect(leveldb?.timestamp).toBe(record.timestamp);
    expect(json?.timestamp).toBe(record.timestamp);
  });

  it('a record that fails the check is refused once, before either side is touched', async () => {
    await demoMigration(tempDir(), 'json-primary');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      const bad = { ...sampleRecord(97, 'Refused', 'bsctestnet'), timestamp: 'soon' } as unknown as DeploymentRecord;
      await expect(store.put(bad)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    } finally {
      await store.close();
    }
    expect(await stored(tempDir(), 'Refused')).toEqual({ leveldb: null, json: null });
  });
});
