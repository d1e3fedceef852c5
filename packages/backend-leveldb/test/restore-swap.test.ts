// A restore swaps a checked copy in by two renames: the live folder aside, then the staged copy
// (`<folder>.restoring-<stamp>`) into its place, with a marker beside the folder meanwhile
// (`<folder>.swapping`). A store opened in between finds no folder for a moment: it waits for the
// copy as it waits for a lock, never reports the store missing meanwhile, and never creates an empty
// store in its place. A staged copy alone (a restore killed while copying) is no swap: not waited for.
import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@deploystate/core';
import { writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { LevelDbStore, RESTORING_SUFFIX, snapshotLevelDb, swapMarkerOf, swapMarkerText } from '../src/index.js';
import { storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('swap', { seed: true });

describe('a store opened while a restore swaps its folder', () => {
  it('waits for the staged copy to be renamed into place, then opens it', async () => {
    const staged = `${folder.path}${RESTORING_SUFFIX}2026-01-01T00-00-00-000Z`;
    // The live folder moved aside; the checked copy (here, the same store) not in place yet.
    await rename(folder.path, staged);
    await writeFile(swapMarkerOf(folder.path), `${staged}\n`);
    const store = new LevelDbStore({ path: folder.path, lockWait: { attempts: 40, minDelayMs: 5, maxDelayMs: 20 } });
    const opening = store.open();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await rename(staged, folder.path);
    await opening;
    expect((await store.get(56, 'Seed'))?.contractName).toBe('Seed');
    await store.close();
  });

  it('a folder holding only what an open that raced the first rename left (LOCK, LOG): waited for too, never created over, even by a store that may create', async () => {
    const staged = `${folder.path}${RESTORING_SUFFIX}2026-01-01T00-00-00-000Z`;
    await rename(folder.path, staged);
    await writeFile(swapMarkerOf(folder.path), `${staged}\n`);
    // A deploy script's check saw the folder, the rename took it, then LevelDB's open made the
    // folder with its LOCK and LOG before it failed for want of CURRENT.
    await expect(new Level(folder.path, { createIfMissing: false }).open()).rejects.toThrow();
    expect((await readdir(folder.path)).sort()).toEqual(['LOCK', 'LOG']);
    for (const create of [false, true]) {
      const store = new LevelDbStore({ path: folder.path, create, lockWait: { attempts: 40, minDelayMs: 5, maxDelayMs: 20 } });
      const opening = store.open().then(
        () => 'opened',
        (error: unknown) => (error as { code?: string }).code,
      );
      // Each look of the open sees the leftovers until the restore clears them and renames its copy in.
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await Promise.race([opening, 'still waiting'])).toBe('still waiting');
      expect((await readdir(folder.path)).sort()).toEqual(['LOCK', 'LOG']);
      await rm(folder.path, { recursive: true });
      await rename(staged, folder.path);
      expect(await opening).toBe('opened');
      expect((await store.get(56, 'Seed'))?.contractName).toBe('Seed');
      await store.close();
      if (!create) {
        await rename(folder.path, staged);
        await expect(new Level(folder.path, { createIfMissing: false }).open()).rejects.toThrow();
      }
    }
  });

  it('a copy a killed restore left: STORE_NOT_FOUND after the wait, naming the copy; nothing is created, even by a store that may create', async () => {
    const staged = `${folder.path}${RESTORING_SUFFIX}2026-01-01T00-00-00-000Z`;
    await rename(folder.path, staged);
    await writeFile(swapMarkerOf(folder.path), `${staged}\n`);
    const quick = { attempts: 4, minDelayMs: 1, maxDelayMs: 5 };
    for (const create of [false, true]) {
      const store = new LevelDbStore({ path: folder.path, create, lockWait: quick });
      const failure = await store.open().then(
        () => undefined,
        (error: unknown) => error as { code?: string; file?: string; hint?: string },
      );
      expect(failure).toMatchObject({ code: ErrorCodes.STORE_NOT_FOUND, file: folder.path });
      expect(failure?.hint).toContain(staged);
      await store.close();
    }
    expect(existsSync(folder.path)).toBe(false);
  });

  it('a staged copy with no swap under way (a restore killed while copying) is not waited for: missing at once, and a store that may create creates', async () => {
    await rename(folder.path, `${folder.path}${RESTORING_SUFFIX}2026-01-01T00-00-00-000Z`);
    // A wait would outlast the test's timeout (minutes of backoff): the open must not wait at all.
    const patient = { attempts: 1_000, minDelayMs: 200, maxDelayMs: 200 };
    await expect(new LevelDbStore({ path: folder.path, lockWait: patient }).open()).rejects.toMatchObject({ code: ErrorCodes.STORE_NOT_FOUND });
    const created = new LevelDbStore({ path: folder.path, create: true, lockWait: patient });
    await created.open();
    expect(await created.get(56, 'Seed')).toBeNull();
    await created.close();
  });
});

describe('a snapshot (what verify, status and compare read) taken while a restore swaps its folder', () => {
  const staged = (): string => `${folder.path}${RESTORING_SUFFIX}2026-01-01T00-00-00-000Z`;

  it('waits for the checked copy to be renamed into place, then copies it', async () => {
    await rename(folder.path, staged());
    await writeFile(swapMarkerOf(folder.path), swapMarkerText(staged()));
    const dest = `${folder.path}-snapshot`;
    const copying = snapshotLevelDb(folder.path, dest, { lockWait: { attempts: 40, minDelayMs: 5, maxDelayMs: 20 } }).then(
      () => 'copied',
      (error: unknown) => (error as { code?: string }).code,
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await Promise.race([copying, 'still waiting'])).toBe('still waiting');
    await rename(staged(), folder.path);
    await rm(swapMarkerOf(folder.path));
    expect(await copying).toBe('copied');
    const store = new LevelDbStore({ path: dest, readOnly: true, idleCloseMs: 0 });
    await store.open();
    expect((await store.get(56, 'Seed'))?.contractName).toBe('Seed');
    await store.close();
    await rm(dest, { recursive: true, force: true });
  });

  it('after the wait, STORE_NOT_FOUND naming the copy tells a restore still running from one that stopped, for a snapshot and a store alike', async () => {
    await rename(folder.path, staged());
    const quick = { attempts: 3, minDelayMs: 1, maxDelayMs: 2 };
    // A process that has exited: its pid names a restore that stopped between its renames.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    for (const [pid, running] of [
      [process.pid, true],
      [Number(gone.stdout), false],
    ] as const) {
      await writeFile(swapMarkerOf(folder.path), swapMarkerText(staged()).replace(`"pid":${process.pid}`, `"pid":${pid}`));
      const failures = [
        await snapshotLevelDb(folder.path, `${folder.path}-snapshot`, { lockWait: quick }).catch((error: unknown) => error),
        await new LevelDbStore({ path: folder.path, lockWait: quick }).open().catch((error: unknown) => error),
      ];
      for (const failure of failures) {
        expect(failure).toMatchObject({ code: ErrorCodes.STORE_NOT_FOUND, file: folder.path, data: { copy: staged(), restore: { pid, running } } });
        expect((failure as { hint?: string }).hint).toContain(staged());
      }
    }
    expect(existsSync(folder.path)).toBe(false);
  });
});
