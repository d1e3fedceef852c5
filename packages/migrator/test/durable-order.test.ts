// The migrator's own durable writes (state file, evidence, reports; they go through the JSON
// backend's one durable write, whose own tests are in that package) and the journal's appends,
// checked by their calls, since a kill cannot show a missing fsync: the temp file is synced before
// the rename, the folder after it, and the write returns only after both; a journal append returns
// only after its line is synced.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Journal, readState, stateFiles, resolvePaths, writeState, initialState } from '../src/index.js';
import { durableReplacement, recorder } from '@deploystate/core/testing/fs-recorder';
import { demoMigration, emptyProjectIn, useTempDir } from './helpers.js';

vi.mock('node:fs', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFs(await importOriginal()));
vi.mock('node:fs/promises', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFsPromises(await importOriginal()));

const tempDir = useTempDir('migrator-durable-');
const inOrder = { renamed: true, fileSyncedBeforeRename: true, folderSyncedAfterRename: true, returnedAfterBoth: true };

describe('durable writes of the migrator', () => {
  it('the state file is written the same way', async () => {
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    const folder = dirname(files.state);
    await mkdir(folder, { recursive: true });
    recorder.events.length = 0;
    await writeState(files, initialState());
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, files.state, folder, 'returned')).toEqual(inOrder);
    expect((await readState(files)).phase).toBe('leveldb-only');
  });

  it('a json-only put through the factory: its intent line is synced before the JSON file is replaced, and the put returns after every sync', async () => {
    const dir = tempDir();
    const { paths, files } = await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    // The journal's sync starts beside the JSON file's own; held back longer than the file's, it
    // completes before the rename only if the rename waits for it.
    recorder.slowSyncs.set(files.journal, 150);
    try {
      for (const [step, write] of [
        ['first put', () => store.put(sampleRecord(56, 'Token', 'bscmainnet'))],
        ['put over the file', () => store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 2 })],
        ['delete', () => store.delete(56, 'Token')],
      ] as const) {
        recorder.events.length = 0;
        await write();
        recorder.mark('returned');
        const target = join(paths.deployments, 'bscmainnet.json');
        expect(durableReplacement(recorder.events, target, paths.deployments, 'returned'), step).toEqual(inOrder);
        const rename = recorder.events.findIndex((e) => e.kind === 'rename' && e.to === target);
        const intentSynced = recorder.events.findIndex((e) => e.kind === 'sync' && e.path === files.journal);
        expect(intentSynced, step).toBeGreaterThanOrEqual(0);
        expect(intentSynced, step).toBeLessThan(rename);
      }
      // A put of what the file holds already replaces nothing: its intent is synced all the same before it returns.
      await store.put(sampleRecord(56, 'Vault', 'bscmainnet'));
      recorder.events.length = 0;
      await store.put(sampleRecord(56, 'Vault', 'bscmainnet'));
      recorder.mark('returned');
      expect(recorder.events.some((e) => e.kind === 'rename')).toBe(false);
      const intentSynced = recorder.events.findIndex((e) => e.kind === 'sync' && e.path === files.journal);
      expect(intentSynced).toBeGreaterThanOrEqual(0);
      expect(intentSynced).toBeLessThan(recorder.events.findIndex((e) => e.kind === 'mark'));
      const intents = (await new Journal(files.journal).read()).entries.filter((e) => e.type === 'intent');
      expect(intents.map((e) => e.type === 'intent' && e.op)).toEqual(['put', 'put', 'delete', 'put', 'put']);
    } finally {
      recorder.slowSyncs.clear();
      await store.close();
    }
  });

  // A dual-write script's close drains the outbox into every network file its puts touched, side
  // by side. Each file's folder sync had to start after its own rename; one sync per file made a
  // close of puts to several networks wait for as many folder syncs (runbook 2.3's session row).
  it('a dual-write drain of four networks: every network file written is synced before its rename, and a folder sync started after the renames ends before close returns, shared by the files', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'copied')).close();
    const paths = resolvePaths({ cwd: dir });
    const networks = [
      [56, 'bscmainnet'],
      [97, 'bsctestnet'],
      [1, 'ethereum'],
      [10, 'optimismmainnet'],
    ] as const;
    const store = createStateStore({ cwd: dir, env: {} });
    // One batch: its entries drain in one round, the four files side by side. Four puts one after
    // another could each be drained in a round of its own (a drain starts 5 ms after the last put,
    // and a put on a loaded machine takes longer), one folder sync each: CI saw four.
    await store.putMany(networks.map(([chainId, network]) => sampleRecord(chainId, 'Drained', network, 7)));
    recorder.events.length = 0;
    // A folder sync as slow as a busy disk's: the files' renames land while it runs, however far
    // apart a loaded machine spreads them (each file's own sync is held 15 ms here).
    recorder.slowSyncs.set(paths.deployments, 150);
    try {
      await store.close();
    } finally {
      recorder.slowSyncs.clear();
    }
    recorder.mark('closed');
    const events = recorder.events;
    const closed = events.findIndex((e) => e.kind === 'mark' && e.label === 'closed');
    const folderStarts = events.flatMap((e, i) => (e.kind === 'sync-start' && e.path === paths.deployments ? [i] : []));
    const folderDone = events.filter((e, i) => i < closed && e.kind === 'sync' && e.path === paths.deployments).length;
    for (const [, network] of networks) {
      const target = join(paths.deployments, `${network}.json`);
      const rename = events.findIndex((e) => e.kind === 'rename' && e.to === target);
      expect(rename, network).toBeGreaterThanOrEqual(0);
      const temp = (events[rename] as { from: string }).from;
      expect(events.findIndex((e, i) => i < rename && e.kind === 'sync' && e.path === temp), network).toBeGreaterThanOrEqual(0);
      expect(folderStarts.some((i) => i > rename), network).toBe(true);
    }
    // Every folder sync started had ended before close returned, and the files shared them.
    expect(folderDone).toBe(folderStarts.length);
    expect(folderStarts.length).toBeLessThan(networks.length);
    const json = new JsonFileStore({ dir: paths.deployments });
    await json.open();
    try {
      for (const [chainId, network] of networks) expect(await json.get(chainId, 'Drained')).toEqual(sampleRecord(chainId, 'Drained', network, 7));
    } finally {
      await json.close();
    }
  });

  it('journal syncs: flushed() syncs only lines a sync() asked for, and callers at once share one fdatasync', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    const event = (name: string) => ({ type: 'event' as const, event: name, time: new Date().toISOString(), pid: process.pid, phase: 'json-only' as const });
    const syncs = () => recorder.events.filter((e) => e.kind === 'sync' && e.path === file).length;
    try {
      recorder.events.length = 0;
      await journal.record([event('a')], { durable: false });
      await journal.record([event('b')], { durable: false });
      await journal.flushed();
      expect(syncs()).toBe(0);
      await Promise.all([journal.sync(), journal.sync(), journal.sync()]);
      expect(syncs()).toBe(1);
      await journal.flushed();
      expect(syncs()).toBe(1);
      await journal.record([event('c')], { durable: false });
      void journal.sync();
      await journal.flushed();
      recorder.mark('flushed');
      expect(syncs()).toBe(2);
      expect(recorder.events.findIndex((e) => e.kind === 'mark')).toBeGreaterThan(recorder.events.findLastIndex((e) => e.kind === 'sync'));
    } finally {
      await journal.close();
    }
  });

  it('a journal append returns only after its line is synced', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    try {
      for (let i = 0; i < 2; i++) {
        recorder.events.length = 0;
        await journal.appendOne({
          type: 'event',
          event: 'dual-write-enabled',
          time: new Date().toISOString(),
          pid: process.pid,
          phase: 'dual-write',
        });
        recorder.mark('returned');
        const synced = recorder.events.findIndex((e) => e.kind === 'sync' && e.path === file);
        expect(synced, `append ${i}`).toBeGreaterThanOrEqual(0);
        expect(
          recorder.events.findIndex((e) => e.kind === 'mark'),
          `append ${i}`,
        ).toBeGreaterThan(synced);
      }
    } finally {
      await journal.close();
    }
  });
});
