// A long-running deploy script's put follows a phase switch another process made while the script
// held LevelDB: `dual-write disable`, `rollback` and a phase.json replaced on disk (a git pull). The
// script put once before each switch, so its next put starts on the route it knew; only the check it
// makes once it holds LevelDB (one stat of phase.json) can send it where the new phase says.
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { acquireLock, createStateStore, type MigrationPhase } from '../src/index.js';
import { Journal } from '../src/journal.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, emptyProjectIn, pullPhaseAfterNextIntent, runNode, useTempDir } from './helpers.js';
import { outboxKeys } from './outbox-helpers.js';

const tempDir = useTempDir('migrator-put-switch-');

/** Where a put landed once the store that made it is closed (so every drain it owed is done). */
async function landed(dir: string, name: string): Promise<{ leveldb: boolean; json: boolean; journalled: boolean; outbox: number }> {
  const paths = resolvePaths({ cwd: dir });
  const leveldb = new LevelDbStore({ path: paths.leveldb });
  await leveldb.open();
  const inLevelDb = (await leveldb.get(97, name)) !== null;
  await leveldb.close();
  const json = new JsonFileStore({ dir: paths.deployments, readOnly: true });
  await json.open();
  const inJson = (await json.get(97, name)) !== null;
  await json.close();
  const entries = (await new Journal(stateFiles(paths).journal).read()).entries;
  const journalled = entries.some((e) => 'key' in e && e.key === `97-${name}`);
  return { leveldb: inLevelDb, json: inJson, journalled, outbox: (await outboxKeys(paths.leveldb)).length };
}

async function run(script: string, args: string[]): Promise<void> {
  const { code, stderr } = await runNode(script, args).done;
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited ${code}: ${stderr}`);
}

const SWITCHES: Array<{ what: string; to: MigrationPhase; make: (dir: string) => Promise<void> }> = [
  { what: 'dual-write disable', to: 'leveldb-only', make: (dir) => run('switch-phase.mjs', [dir, 'disable']) },
  { what: 'rollback from dual-write', to: 'leveldb-only', make: (dir) => run('switch-phase.mjs', [dir, 'rollback']) },
  {
    what: 'phase.json replaced by another process (a git pull)',
    to: 'leveldb-only',
    make: (dir) => run('edit-phase.mjs', [dir, 'pull', JSON.stringify({ phase: 'leveldb-only' })]),
  },
];

describe('a put after a phase switch made by another process goes where the new phase says', () => {
  for (const s of SWITCHES) {
    it(`${s.what}: the next put writes LevelDB alone, with no outbox entry and no journal line`, async () => {
      const migration = await demoMigration(tempDir(), 'copied');
      await migration.close();
      const store = createStateStore({ cwd: tempDir(), env: {} });
      try {
        await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
        expect(store.phase).toBe('dual-write');
        await s.make(tempDir());
        await store.putContract(97, sampleRecord(97, 'After', 'bsctestnet', 2));
        expect(store.phase).toBe(s.to);
      } finally {
        await store.close();
      }
      expect(await landed(tempDir(), 'Before')).toEqual({ leveldb: true, json: true, journalled: true, outbox: 0 });
      expect(await landed(tempDir(), 'After')).toEqual({ leveldb: true, json: false, journalled: false, outbox: 0 });
    });
  }

  it('phase.json replaced the other way (a teammate enabled dual-write): the next put goes through the outbox to JSON', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    await migration.disableDualWrite();
    await migration.close();
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
      expect(store.phase).toBe('leveldb-only');
      await run('edit-phase.mjs', [tempDir(), 'pull', JSON.stringify({ phase: 'dual-write' })]);
      await store.putContract(97, sampleRecord(97, 'After', 'bsctestnet', 2));
      expect(store.phase).toBe('dual-write');
    } finally {
      await store.close();
    }
    expect(await landed(tempDir(), 'Before')).toMatchObject({ leveldb: true, json: false, journalled: false });
    expect(await landed(tempDir(), 'After')).toEqual({ leveldb: true, json: true, journalled: true, outbox: 0 });
  });
});

describe('a put whose intent is journalled when phase.json is pulled (json-only to leveldb-only)', () => {
  // The route is read under the fence, but a git pull replaces phase.json without it: the put checks
  // the phase again after its intent, and a phase that moved sends it where the new phase reads,
  // never into a JSON file that phase no longer reads.
  it('writes LevelDB, not the JSON file, and closes its intent as not written', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
      // As a teammate's rollback leaves it: the cut-over it ended recorded (json-only-writes.ts).
      const pulled = pullPhaseAfterNextIntent(store, dir, { phase: 'leveldb-only', cutoversRolledBack: 1 });
      await store.putContract(97, sampleRecord(97, 'Pulled', 'bsctestnet', 2));
      expect(pulled()).toBe(true);
    } finally {
      await store.close();
    }
    expect(await landed(dir, 'Pulled')).toEqual({ leveldb: true, json: false, journalled: true, outbox: 0 });
    const outcomes = (await new Journal(stateFiles(resolvePaths({ cwd: dir })).journal).read()).entries.filter(
      (e) => e.type === 'outcome' && e.key === '97-Pulled',
    );
    expect(outcomes.map((e) => (e.type === 'outcome' ? [e.outcome, e.error?.code] : []))).toEqual([['primary-failed', 'WRITES_REFUSED']]);
  });
});

describe('the drain stays off the put path', () => {
  it('puts return while a gate holds the fence the drain needs; the drain lands once it is released', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    await migration.close();
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const names = [0, 1, 2, 3, 4].map((i) => `Held${i}`);
    // A drain waits up to 15 s for this, then fails and retries: five puts that each awaited one
    // would outlast the test's 60 s.
    const fence = await acquireLock(stateFiles(resolvePaths({ cwd: tempDir() })).fence, { purpose: 'a gate in this test' });
    try {
      for (const [i, name] of names.entries()) await store.putContract(97, sampleRecord(97, name, 'bsctestnet', i));
      for (const name of names) expect(await store.getContract(97, name)).not.toBeNull();
      expect(await inJson(tempDir(), names)).toEqual(names.map(() => false));
    } finally {
      await fence.release();
    }
    await store.close();
    expect(await inJson(tempDir(), names)).toEqual(names.map(() => true));
  });
});

async function inJson(dir: string, names: string[]): Promise<boolean[]> {
  const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, readOnly: true });
  await json.open();
  try {
    return await Promise.all(names.map(async (name) => (await json.get(97, name)) !== null));
  } finally {
    await json.close();
  }
}
