// A kill cannot show a missing fsync (the page cache survives the process), so the durable write is
// checked by its calls: the temp file is synced before it is renamed over the state file, the
// folder is synced after the rename, and a durable put returns only after both.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, StateError } from '@deploystate/core';
import { NewChainFile, writeFileAtomic, type JsonFileStore } from '../src/index.js';
import { writeFileDurable } from '../src/atomic.js';
import { durableReplacement, recorder } from '@deploystate/core/testing/fs-recorder';
import { rec, storePerTest } from './helpers.js';

vi.mock('node:fs', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFs(await importOriginal()));
vi.mock('node:fs/promises', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFsPromises(await importOriginal()));

const setup = storePerTest();

const inOrder = { renamed: true, fileSyncedBeforeRename: true, folderSyncedAfterRename: true, returnedAfterBoth: true };

describe('durable write order', () => {
  it('a durable put syncs the temp file, renames it over the state file, syncs the folder, and only then returns', async () => {
    const { store, dir } = await setup();
    const target = store.fileFor(56);
    for (const [step, write] of [
      ['first put', () => store.put(rec(56, 'Token'))],
      ['put over an existing file', () => store.put(rec(56, 'Vault'))],
      ['delete', () => store.delete(56, 'Token')],
    ] as const) {
      recorder.events.length = 0;
      await write();
      recorder.mark('returned');
      expect(durableReplacement(recorder.events, target, dir, 'returned'), step).toEqual(inOrder);
    }
  });

  it('writeFileAtomic syncs before the rename and the folder after it, and returns after both', async () => {
    const { dir } = await setup();
    const target = join(dir, 'plain.json');
    recorder.events.length = 0;
    await writeFileAtomic(target, '{}\n');
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, target, dirname(target), 'returned')).toEqual(inOrder);
  });

  it('a chain file written record by record (as the copy writes one) ends with the same durable steps', async () => {
    const { dir } = await setup();
    const target = join(dir, 'bsctestnet.json');
    const file = await NewChainFile.create(target, 97, 'bsctestnet');
    await file.add(rec(97, 'Token'));
    recorder.events.length = 0;
    expect(await file.commit()).toBe(true);
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, target, dir, 'returned')).toEqual(inOrder);
    expect(JSON.parse(await readFile(target, 'utf8')).records).toHaveProperty('Token');
  });

  it('writeFileDurable (temp beside the target, folder created) syncs, renames, syncs the folder, then returns', async () => {
    const { dir } = await setup();
    const folder = join(dir, 'state');
    const target = join(folder, 'progress.json');
    recorder.events.length = 0;
    await writeFileDurable(target, '{}\n');
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, target, folder, 'returned')).toEqual(inOrder);
    const rename = recorder.events.find((e) => e.kind === 'rename' && e.to === target) as { from: string };
    expect(dirname(rename.from)).toBe(folder);
  });

  /**
   * Chain 56's second put, recorded, with hooks that mark `<hook> <file>`: a durable replacement in
   * order, and where its rename, its temp file and the hook's mark are.
   */
  async function hookedPut(store: JsonFileStore, dir: string, hook: string): Promise<{ target: string; rename: number; temp: string; hook: number }> {
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    recorder.events.length = 0;
    await store.put(rec(56, 'Token', { timestamp: 2 }));
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, target, dir, 'returned')).toEqual(inOrder);
    const rename = recorder.events.findIndex((e) => e.kind === 'rename' && e.to === target);
    const temp = (recorder.events[rename] as { from: string }).from;
    return { target, rename, temp, hook: recorder.events.findIndex((e) => e.kind === 'mark' && e.label === `${hook} ${target}`) };
  }

  it('beforeReplace runs once the temp file is synced and before the rename; a throw leaves the file as it was', async () => {
    let refuse = false;
    const { store, dir } = await setup({
      beforeReplace: (file) => {
        recorder.mark(`before ${file}`);
        if (refuse) throw new StateError(ErrorCodes.WRITE_FAILED, 'refused by the hook');
      },
    });
    const { target, rename, temp, hook } = await hookedPut(store, dir, 'before');
    expect(hook).toBeGreaterThan(recorder.events.findIndex((e) => e.kind === 'sync' && e.path === temp));
    expect(hook).toBeLessThan(rename);

    refuse = true;
    const before = await readFile(target);
    const backups = await store.listBackups(56);
    await expect(store.put(rec(56, 'Token', { timestamp: 3 }))).rejects.toMatchObject({ code: ErrorCodes.WRITE_FAILED });
    expect(await readFile(target)).toEqual(before);
    expect((await store.listBackups(56)).length).toBeLessThanOrEqual(backups.length);
    refuse = false;
    await store.put(rec(56, 'Token', { timestamp: 4 }));
    expect((await store.get(56, 'Token'))?.timestamp).toBe(4);
  });

  // A putMany across networks (the dual-write drain's) replaces their files side by side in one
  // folder: a folder sync per file made it wait for as many; one started before a file's rename
  // would not cover it.
  it('files replaced at once in one folder: each synced before its rename, and folder syncs started after the renames, fewer than the files, end before the write returns', async () => {
    const { store, dir } = await setup();
    const chains = [56, 97, 1, 10];
    recorder.events.length = 0;
    await store.putMany(chains.map((chainId) => rec(chainId, 'Token')));
    recorder.mark('returned');
    const events = recorder.events;
    const returned = events.findIndex((e) => e.kind === 'mark' && e.label === 'returned');
    const folderStarts = events.flatMap((e, i) => (e.kind === 'sync-start' && e.path === dir ? [i] : []));
    for (const chainId of chains) {
      const target = store.fileFor(chainId);
      const rename = events.findIndex((e) => e.kind === 'rename' && e.to === target);
      expect(rename, target).toBeGreaterThanOrEqual(0);
      const temp = (events[rename] as { from: string }).from;
      expect(events.findIndex((e, i) => i < rename && e.kind === 'sync' && e.path === temp), target).toBeGreaterThanOrEqual(0);
      expect(folderStarts.some((i) => i > rename), target).toBe(true);
    }
    expect(events.filter((e, i) => i < returned && e.kind === 'sync' && e.path === dir).length).toBe(folderStarts.length);
    expect(folderStarts.length).toBeLessThan(chains.length);
  });

  it('whileSyncing runs while the temp file sync is in flight, before beforeReplace and the rename; a throw leaves the file as it was', async () => {
    let refuse = false;
    const { store, dir } = await setup({
      whileSyncing: (file) => {
        recorder.mark(`syncing ${file}`);
        if (refuse) throw new StateError(ErrorCodes.WRITE_FAILED, 'refused by the hook');
      },
      beforeReplace: (file) => recorder.mark(`before ${file}`),
    });
    const { target, temp, hook } = await hookedPut(store, dir, 'syncing');
    // The recorder notes a sync when it completes: the hook came while the temp file's was running.
    expect(hook).toBeGreaterThanOrEqual(0);
    expect(hook).toBeLessThan(recorder.events.findIndex((e) => e.kind === 'sync' && e.path === temp));
    expect(hook).toBeLessThan(recorder.events.findIndex((e) => e.kind === 'mark' && e.label === `before ${target}`));

    refuse = true;
    const before = await readFile(target);
    await expect(store.put(rec(56, 'Token', { timestamp: 3 }))).rejects.toMatchObject({ code: ErrorCodes.WRITE_FAILED });
    expect(await readFile(target)).toEqual(before);
    refuse = false;
    await store.put(rec(56, 'Token', { timestamp: 4 }));
    expect((await store.get(56, 'Token'))?.timestamp).toBe(4);
  });

  it('a store opened with durable: false makes no sync calls (the recorder sees them when they happen)', async () => {
    const { store } = await setup({ durable: false });
    recorder.events.length = 0;
    await store.put(rec(56, 'Token'));
    expect(recorder.events.filter((e) => e.kind === 'sync')).toEqual([]);
    expect(recorder.events.some((e) => e.kind === 'rename' && e.to === store.fileFor(56))).toBe(true);
  });
});
