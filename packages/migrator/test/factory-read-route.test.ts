// A read checks only the file that decides its route: phase.json, whose phase and rollback win over
// state.json's. Whatever another process does to that file (a git pull replacing it, an editor
// rewriting it in place, removing it) steers the very next read, and a change to state.json alone
// never moves reads while phase.json decides.
import { execFileSync } from 'node:child_process';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, sampleRecord, sleep } from '@deploystate/core';
import { createStateStore, PhaseWatcher, sharedStateFile, stateFiles } from '../src/index.js';
import { demoMigration, disagreeingSides, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-read-route-');

async function editElsewhere(dir: string, how: 'pull' | 'inplace' | 'remove' | 'local', patch: object = {}): Promise<void> {
  const { code, stderr } = await runNode('edit-phase.mjs', [dir, how, JSON.stringify(patch)]).done;
  if (code !== 0) throw new Error(`edit-phase exited ${code}: ${stderr}`);
}

describe('a read follows the file that decides its route', () => {
  it('phase.json replaced, rewritten in place at the same size, or removed by another process steers the next get', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const shared = sharedStateFile(stateFiles(migration.paths).stateDir);
    const { leveldb, json, fromLevelDb, fromJson } = await disagreeingSides();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.get(56, 'Token')).toEqual(fromLevelDb);

      await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
      expect(await store.get(56, 'Token')).toEqual(fromJson);

      // Same inode and, 'leveldb-only' being as long as 'json-primary', the same size: the mtime tells.
      const before = await stat(shared);
      await editElsewhere(tempDir(), 'inplace', { phase: 'leveldb-only' });
      const after = await stat(shared);
      expect([after.ino, after.size]).toEqual([before.ino, before.size]);
      expect(await store.get(56, 'Token')).toEqual(fromLevelDb);

      // state.json alone says json-primary: phase.json still decides, reads stay on LevelDB.
      await editElsewhere(tempDir(), 'local', { phase: 'json-primary' });
      expect(await store.get(56, 'Token')).toEqual(fromLevelDb);
      expect(store.phase).toBe('leveldb-only');

      // Without phase.json, state.json's phase decides.
      await editElsewhere(tempDir(), 'remove');
      expect(await store.get(56, 'Token')).toEqual(fromJson);
      expect(store.phase).toBe('json-primary');
    } finally {
      await store.close();
    }
  });

  // git writes phase.json before the data folders and holds the index's lock throughout: a read
  // routed by the new phase at once read the new side as the old commit left it (reads hunt: a
  // record of neither commit, 8 times in 150 resets between a json-only and a rolled-back commit
  // under a reader reading back to back; null here, where the pulled record is not there yet).
  it('a phase pulled while git still rewrites the work tree steers reads once git is done', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const { leveldb, json, fromLevelDb, fromJson } = await disagreeingSides();
    execFileSync('git', ['init', '-q'], { cwd: tempDir() });
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.get(56, 'Token')).toEqual(fromLevelDb);
      const indexLock = join(tempDir(), '.git', 'index.lock');
      await writeFile(indexLock, '');
      await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
      // The record the pull brings to the JSON side is not written yet.
      await json.delete(56, 'Token');
      let answered = false;
      const read = store.get(56, 'Token').finally(() => {
        answered = true;
      });
      await sleep(200);
      expect(answered).toBe(false);
      await json.put(fromJson);
      await rm(indexLock);
      expect(await read).toEqual(fromJson);
    } finally {
      await store.close();
    }
  });

  it('a read that waited while the phase changed answers from the route now, not the one it started on', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const { leveldb, json, fromLevelDb, fromJson } = await disagreeingSides();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.get(56, 'Token')).toEqual(fromLevelDb);
      // LevelDB's answer waits, as a reopen after git replaced its folder does.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const get = leveldb.get.bind(leveldb);
      leveldb.get = async (chainId, contractName) => {
        await gate;
        return get(chainId, contractName);
      };
      const read = store.get(56, 'Token');
      await sleep(20);
      await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
      release();
      expect(await read).toEqual(fromJson);
    } finally {
      await store.close();
    }
  });

  it('a list that waited while the phase changed lists the route now, not the one it started on', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const { leveldb, json, fromLevelDb, fromJson } = await disagreeingSides();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      expect(await store.list(56)).toEqual([fromLevelDb]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const list = leveldb.list.bind(leveldb);
      leveldb.list = async (chainId) => {
        await gate;
        return list(chainId);
      };
      const listed = store.list(56);
      await sleep(20);
      await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
      release();
      expect(await listed).toEqual([fromJson]);
    } finally {
      await store.close();
    }
  });

  it('a rollback from json-only serves JSON until its carry-back is recorded, then LevelDB from the next get', async () => {
    await demoMigration(tempDir(), 'dual-write');
    const leveldb = new MemoryStore();
    const json = new MemoryStore();
    await leveldb.open();
    await json.open();
    await leveldb.put(sampleRecord(56, 'Token', 'bscmainnet', 1));
    await json.put(sampleRecord(56, 'Token', 'bscmainnet', 2));
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
    try {
      await editElsewhere(tempDir(), 'pull', { phase: 'rolling-back', rollback: { from: 'json-only', carriedBack: false } });
      expect((await store.get(56, 'Token'))?.timestamp).toBe(sampleRecord(56, 'Token', 'bscmainnet', 2).timestamp);
      // The carry-back recorded in place: one field, no rename.
      await editElsewhere(tempDir(), 'inplace', { rollback: { from: 'json-only', carriedBack: true } });
      expect((await store.get(56, 'Token'))?.timestamp).toBe(sampleRecord(56, 'Token', 'bscmainnet', 1).timestamp);
    } finally {
      await store.close();
    }
  });

  it('PhaseWatcher sees phase.json rewritten in place within its mtime tick where timestamps keep whole seconds', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const shared = sharedStateFile(stateFiles(migration.paths).stateDir);
    await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
    // As a file system with whole-second timestamps stamps it: this second, no fraction.
    const tick = Math.floor(Date.now() / 1000);
    await utimes(shared, tick, tick);
    const watcher = new PhaseWatcher(stateFiles(migration.paths));
    expect((await watcher.refresh()).phase).toBe('json-primary');
    // Rewritten in place at the same size within that second: inode, size and mtime as they were.
    const before = await stat(shared);
    await editElsewhere(tempDir(), 'inplace', { phase: 'leveldb-only' });
    await utimes(shared, tick, tick);
    const after = await stat(shared);
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
    expect(watcher.routeUnchanged()).toBe(false);
    expect(watcher.unchanged()).toBe(false);
    expect((await watcher.refresh()).phase).toBe('leveldb-only');
  });

  it('PhaseWatcher.routeUnchanged stays true when state.json alone changes, and false once phase.json does', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const watcher = new PhaseWatcher(stateFiles(migration.paths));
    expect(watcher.routeUnchanged()).toBe(false);
    await watcher.refresh();
    expect(watcher.routeUnchanged()).toBe(true);
    await editElsewhere(tempDir(), 'local', { phase: 'json-only' });
    // Writes still see state.json changed (they re-read it); reads keep the route phase.json gives.
    expect(watcher.unchanged()).toBe(false);
    expect(watcher.routeUnchanged()).toBe(true);
    await editElsewhere(tempDir(), 'pull', { phase: 'json-primary' });
    expect(watcher.routeUnchanged()).toBe(false);
    expect((await watcher.refresh()).phase).toBe('json-primary');
    expect(watcher.routeUnchanged()).toBe(true);
    // A phase.json without the route's fields (a hand-resolved merge, say) does not decide alone.
    await editElsewhere(tempDir(), 'pull', { $delete: ['rollback'] });
    await watcher.refresh();
    await editElsewhere(tempDir(), 'local', { phase: 'json-only' });
    expect(watcher.routeUnchanged()).toBe(false);
  });

  it('in json-primary a get answered from memory sees the record another process put a moment before', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const file = join(migration.paths.deployments, 'bscmainnet.json');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      for (let round = 0; round < 2; round++) {
        const name = `Later${round}`;
        // Until the file's last write is past the same-tick window, so reads are served from memory.
        while (Date.now() - (await stat(file)).mtimeMs < 60) await sleep(10);
        expect(await store.get(56, name)).toBeNull();
        expect(await store.get(56, name)).toBeNull();
        const { code, stderr } = await runNode('put-one.mjs', [tempDir(), '56', name, 'bscmainnet']).done;
        expect(code, stderr).toBe(0);
        expect(await store.get(56, name)).toEqual(sampleRecord(56, name, 'bscmainnet', 7));
      }
    } finally {
      await store.close();
    }
  });
});
