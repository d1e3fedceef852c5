// The factory's read path: one stat of state.json before every read, a re-read only when it
// changed, so a phase change by another process steers the very next get/has.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import { createStateStore, PhaseWatcher, readState, resolvePaths, sharedStateFile, stateFiles, writeState, type MigrationPhase } from '../src/index.js';
import { demoMigration, disagreeingSides, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-factory-reads-');

async function setPhaseElsewhere(dir: string, phase: MigrationPhase): Promise<void> {
  const { code, stderr } = await runNode('set-phase.mjs', [dir, phase]).done;
  if (code !== 0) throw new Error(`set-phase exited ${code}: ${stderr}`);
}

describe('factory reads follow the persisted phase', () => {
  it('get and has read from the side the phase names right after another process changes it, back and forth', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const { leveldb, json, fromLevelDb, fromJson } = await disagreeingSides();
    await json.put(sampleRecord(56, 'OnlyInJson', 'bscmainnet'));
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      for (let flip = 0; flip < 2; flip++) {
        expect(await store.get(56, 'Token')).toEqual(fromLevelDb);
        expect(await store.has(56, 'OnlyInJson')).toBe(false);
        expect(store.phase).toBe('dual-write');
        await setPhaseElsewhere(tempDir(), 'json-primary');
        expect(await store.get(56, 'Token')).toEqual(fromJson);
        expect(await store.has(56, 'OnlyInJson')).toBe(true);
        expect(store.phase).toBe('json-primary');
        await setPhaseElsewhere(tempDir(), 'dual-write');
      }
      expect(store.metrics().operations.get?.count).toBe(4);
      expect(store.metrics().operations.has?.count).toBe(4);
    } finally {
      await store.close();
    }
    await expect(store.get(56, 'Token')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it("a get served from the JSON store's memory follows a phase change another process made just before it", async () => {
    await (await demoMigration(tempDir(), 'json-primary')).close();
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    // LevelDB's record of one key made to differ from the file's, so each read shows which side served it.
    const json = new JsonFileStore({ dir: join(tempDir(), 'deployments') });
    await json.open();
    const fromJson = (await json.get(56, 'LookCoin')) as DeploymentRecord;
    await json.close();
    const fromLevelDb = { ...fromJson, timestamp: typeof fromJson.timestamp === 'bigint' ? fromJson.timestamp + 1n : Number(fromJson.timestamp) + 1 };
    const leveldb = new LevelDbStore({ path: join(tempDir(), 'leveldb') });
    await leveldb.open();
    await leveldb.put(fromLevelDb);
    await leveldb.close();
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      for (let flip = 0; flip < 2; flip++) {
        // Twice from the file: the second is served from the JSON store's memory.
        expect(await store.get(56, 'LookCoin')).toEqual(fromJson);
        expect(await store.get(56, 'LookCoin')).toEqual(fromJson);
        await setPhaseElsewhere(tempDir(), 'dual-write');
        expect(await store.get(56, 'LookCoin')).toEqual(fromLevelDb);
        await setPhaseElsewhere(tempDir(), 'json-primary');
      }
      expect((await readState(files)).phase).toBe('json-primary');
    } finally {
      await store.close();
    }
  });

  it('a store never opened opens on its first get, and an invalid key is refused with INVALID_KEY', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const leveldb = new MemoryStore();
    const json = new MemoryStore();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.get(56, 'Missing')).toBeNull();
      expect(store.status).toBe('open');
      expect(store.phase).toBe('dual-write');
      await expect(store.get(-1, 'X')).rejects.toMatchObject({ code: 'INVALID_KEY' });
      await expect(store.has(56, '')).rejects.toMatchObject({ code: 'INVALID_KEY' });
    } finally {
      await store.close();
    }
  });

  it('a read never reopens an idle-closed LevelDB on the route of a state that has since changed', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const { leveldb: leveldbPath, deployments } = migration.paths;
    const leveldb = new LevelDbStore({ path: leveldbPath, idleCloseMs: 10 });
    const json = new JsonFileStore({ dir: deployments, cache: false, create: true });
    await json.open();
    await json.put(sampleRecord(97, 'JsonSide', 'bsctestnet'));
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.get(97, 'JsonSide')).toBeNull();
      expect(leveldb.metrics().operations.get?.count).toBe(1);
      // The idle close happens when it happens on a loaded machine: wait for it (the test's timeout bounds the wait).
      while (leveldb.holdsLock) await new Promise((resolve) => setTimeout(resolve, 10));
      await setPhaseElsewhere(tempDir(), 'json-primary');
      expect(await store.get(97, 'JsonSide')).toEqual(sampleRecord(97, 'JsonSide', 'bsctestnet'));
    } finally {
      // Closing waits for any read still in flight, so the count below includes a stray one.
      await store.close();
    }
    expect(leveldb.metrics().operations.get?.count).toBe(1);
  });

  it('PhaseWatcher.peek answers from memory only while state.json is the file it read', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const files = stateFiles(migration.paths);
    const watcher = new PhaseWatcher(files);
    expect(watcher.peek()).toBeUndefined();
    expect(watcher.known).toBeUndefined();
    expect(watcher.unchanged()).toBe(false);
    const first = await watcher.refresh();
    expect(first.phase).toBe('dual-write');
    expect(watcher.peek()).toBe(first);
    expect(watcher.unchanged()).toBe(true);
    expect(watcher.known).toBe(first);

    await setPhaseElsewhere(tempDir(), 'json-primary');
    expect(watcher.unchanged()).toBe(false);
    expect(watcher.known?.phase).toBe('dual-write');
    expect(watcher.peek()).toBeUndefined();
    expect((await watcher.refresh()).phase).toBe('json-primary');
    expect(watcher.peek()?.phase).toBe('json-primary');

    // Rewritten with the same phase: a new file all the same, read again.
    const same = await readState(files);
    await writeState(files, same);
    expect(watcher.peek()).toBeUndefined();
    expect((await watcher.refresh()).phase).toBe('json-primary');

    // A `git pull` replaces the shared phase file alone: seen at the next stat.
    const shared = sharedStateFile(files.stateDir);
    const pulled = JSON.parse(await readFile(shared, 'utf8')) as Record<string, unknown>;
    const cutoverLeveldb = { at: new Date().toISOString(), count: 0, digest: '', records: {} };
    await writeFile(`${shared}.pulled`, `${JSON.stringify({ ...pulled, phase: 'json-only', cutoverLeveldb }, null, 2)}\n`);
    await rename(`${shared}.pulled`, shared);
    expect(watcher.peek()).toBeUndefined();
    expect((await watcher.refresh()).phase).toBe('json-only');

    await rm(files.state);
    await rm(shared);
    expect(watcher.peek()).toBeUndefined();
    expect((await watcher.refresh()).phase).toBe('leveldb-only');
    expect(watcher.peek()?.phase).toBe('leveldb-only');
  });
});
