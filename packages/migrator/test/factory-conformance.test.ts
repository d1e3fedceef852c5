// The store deploy scripts get from createStateStore() keeps the StateStore contract in every phase
// that accepts writes, over real backends in temp folders and over memory stores; and in
// rolling-back, writers are refused while readers get the side that holds every write.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import { MemoryStore, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir, stateStoreConformance } from '@deploystate/core/testing';
import { createStateStore, resolvePaths, stateFiles, type MigrationPhase, type MigrationStateFile } from '../src/index.js';
import { initialState } from '../src/state.js';
import { putThroughStore, shortRollingBackWait, useTempDir } from './helpers.js';

const WRITING_PHASES: MigrationPhase[] = ['leveldb-only', 'dual-write', 'json-primary', 'json-only'];

/** A folder with state.json in `phase`, and (unless the sides are memory stores) an empty LevelDB and deployments folder. */
async function migrationFolder(dir: string, state: Partial<MigrationStateFile>, backends = true): Promise<void> {
  const paths = resolvePaths({ cwd: dir });
  if (backends) {
    const leveldb = new LevelDbStore({ path: paths.leveldb, create: true });
    await leveldb.open();
    await leveldb.close();
    await mkdir(paths.deployments, { recursive: true });
  }
  const files = stateFiles(paths);
  await mkdir(files.stateDir, { recursive: true });
  await writeFile(files.state, `${JSON.stringify({ ...initialState(), dualWriteSinceSeq: 0, ...state }, null, 2)}\n`);
}

for (const phase of WRITING_PHASES) {
  stateStoreConformance({
    name: `createStateStore() in ${phase} (LevelDB and JSON files)`,
    async create() {
      const dir = await makeTempDir('migrator-factory-conformance-');
      await migrationFolder(dir, { phase });
      // env {}: DUAL_WRITE_MODE from the machine running the tests must not change the route.
      const make = () => createStateStore({ cwd: dir, env: {} });
      return { store: make(), reopen: async () => make(), cleanup: () => removeTempDir(dir) };
    },
  });

  stateStoreConformance({
    name: `createStateStore() in ${phase} (memory stores)`,
    async create() {
      const dir = await makeTempDir('migrator-factory-conformance-memory-');
      await migrationFolder(dir, { phase }, false);
      const leveldb = new Map<string, DeploymentRecord>();
      const json = new Map<string, DeploymentRecord>();
      const make = () =>
        createStateStore({ cwd: dir, env: {}, stores: { leveldb: new MemoryStore({ data: leveldb }), json: new MemoryStore({ data: json }) } });
      return { store: make(), reopen: async () => make(), cleanup: () => removeTempDir(dir) };
    },
  });
}

describe('createStateStore() writes where the phase routes them', () => {
  const tempDir = useTempDir('migrator-factory-route-');

  for (const [phase, leveldb, json] of [
    ['leveldb-only', true, false],
    ['dual-write', true, true],
    ['json-primary', true, true],
    ['json-only', false, true],
  ] as const) {
    it(`${phase}: a put lands on ${[leveldb && 'LevelDB', json && 'JSON'].filter(Boolean).join(' and ')}`, async () => {
      await migrationFolder(tempDir(), { phase });
      await putThroughStore(tempDir(), sampleRecord(97, 'Router', 'bsctestnet'));
      const paths = resolvePaths({ cwd: tempDir() });
      const level = new LevelDbStore({ path: paths.leveldb });
      const files = new JsonFileStore({ dir: paths.deployments });
      await level.open();
      await files.open();
      try {
        expect(await level.has(97, 'Router')).toBe(leveldb);
        expect(await files.has(97, 'Router')).toBe(json);
      } finally {
        await level.close();
        await files.close();
      }
    });
  }
});

describe('what writers and readers see in rolling-back', () => {
  const tempDir = useTempDir('migrator-factory-rolling-back-');

  /** A store over memory sides holding different values for one key, so a read shows its side. */
  async function rollingBack(from: MigrationPhase, carriedBack: boolean) {
    await migrationFolder(
      tempDir(),
      { phase: 'rolling-back', rollback: { from, startedAt: new Date().toISOString(), emergency: false, carriedBack } },
      false,
    );
    const leveldb = new MemoryStore();
    const json = new MemoryStore();
    await leveldb.open();
    await json.open();
    await leveldb.put({ ...sampleRecord(97, 'Router', 'bsctestnet'), address: `0x${'11'.repeat(20)}` });
    await json.put({ ...sampleRecord(97, 'Router', 'bsctestnet'), address: `0x${'22'.repeat(20)}` });
    const store = createStateStore({ cwd: tempDir(), env: { DUAL_WRITE_MODE: 'true' }, stores: { leveldb, json } });
    return { store, leveldb, json };
  }

  it('refuses every write with WRITES_REFUSED, and neither side changes', async () => {
    const { store, leveldb, json } = await rollingBack('json-only', false);
    const record = sampleRecord(97, 'Other', 'bsctestnet');
    // Each write waits out the rollback before it is refused (here 200 ms, not ROLLING_BACK_WAIT_MS:
    // put-known-route proves that wait): the four wait side by side, so the test waits once.
    shortRollingBackWait(store, 200);
    await Promise.all([
      expect(store.put(record)).rejects.toMatchObject({ code: 'WRITES_REFUSED', key: '97-Other' }),
      expect(store.putContract(97, record)).rejects.toMatchObject({ code: 'WRITES_REFUSED' }),
      expect(store.putMany([record])).rejects.toMatchObject({ code: 'WRITES_REFUSED' }),
      expect(store.delete(97, 'Router')).rejects.toMatchObject({ code: 'WRITES_REFUSED', key: '97-Router' }),
    ]);
    expect(await leveldb.has(97, 'Other')).toBe(false);
    expect(await json.has(97, 'Other')).toBe(false);
    expect(await leveldb.has(97, 'Router')).toBe(true);
    expect(await json.has(97, 'Router')).toBe(true);
    // putContract is put under its legacy name: two refused puts.
    expect(store.metrics().operations.put?.errors).toBe(2);
    await store.close();
  });

  for (const [from, carriedBack, side] of [
    ['json-only', false, 'json'],
    ['json-primary', false, 'json'],
    ['json-only', true, 'leveldb'],
    ['dual-write', false, 'leveldb'],
    ['leveldb-only', false, 'leveldb'],
  ] as const) {
    it(`from ${from}${carriedBack ? ' after the carry-back' : ''}, reads come from ${side}`, async () => {
      const { store } = await rollingBack(from, carriedBack);
      const address = side === 'json' ? `0x${'22'.repeat(20)}` : `0x${'11'.repeat(20)}`;
      expect((await store.getContract(97, 'Router'))?.address).toBe(address);
      expect((await store.getAllContracts(97)).map((r) => r.address)).toEqual([address]);
      expect(store.route).toMatchObject({ reads: side, writes: [], refuseWrites: true });
      await store.close();
    });
  }

  it('a writer that started before rolling-back and writes after it is refused too', async () => {
    await migrationFolder(tempDir(), { phase: 'dual-write' }, false);
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb: new MemoryStore(), json: new MemoryStore() } });
    shortRollingBackWait(store, 200);
    await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet'));
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    await writeFile(
      join(files.stateDir, 'state.json'),
      `${JSON.stringify({ ...initialState(), phase: 'rolling-back', rollback: { from: 'dual-write', startedAt: new Date().toISOString(), emergency: false, carriedBack: false } })}\n`,
    );
    await expect(store.putContract(97, sampleRecord(97, 'After', 'bsctestnet'))).rejects.toMatchObject({ code: 'WRITES_REFUSED' });
    expect(store.phase).toBe('rolling-back');
    expect(await store.has(97, 'Before')).toBe(true);
    expect(await store.has(97, 'After')).toBe(false);
    await store.close();
  });
});
