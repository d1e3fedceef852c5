import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFile, readdir, rename, rm, writeFile, mkdir, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore, lockFileFor, restoreStateFile, withFileLock, writeFileAtomic } from '../src/index.js';
import { isLockHeld } from '../src/lock.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();

describe('backups and restore', () => {
  it('keeps a bounded number of backups, newest first, and restores the newest that parses', async () => {
    const { dir, store } = await setup({ backups: 3 });
    for (let i = 0; i < 6; i++) await store.put(rec(56, `C${i}`));
    const backups = await store.listBackups(56);
    expect(backups.length).toBe(3);
    // The newest backup is the version the last put wrote (C0..C5), then the one before (C0..C4).
    const names = async (b: string | undefined) => Object.keys((JSON.parse(await readFile(b as string, 'utf8')) as { records: object }).records);
    expect(await names(backups[0])).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
    expect(await names(backups[1])).toEqual(['C0', 'C1', 'C2', 'C3', 'C4']);

    const file = join(dir, 'bscmainnet.json');
    // Replaced (as an editor saving by rename does): the backup linking the version written keeps it.
    await writeFile(`${file}.edit`, '{"truncated": ');
    await rename(`${file}.edit`, file);
    await expect(store.get(56, 'C0')).rejects.toMatchObject({ code: 'CORRUPTED' });
    const { restored, version } = await store.restore(56);
    expect(restored).toBe(backups[0]);
    expect(version).toMatchObject({ kind: 'written', lastWritten: true, newerWrites: 0, intact: true });
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
    // The damaged file was kept as a backup too (and the restored text as the version last written),
    // so the restore can be undone; the damaged one is skipped as unparseable.
    expect((await store.listBackups(56)).length).toBe(5);
    await writeFile(`${file}.edit`, '{"truncated": ');
    await rename(`${file}.edit`, file);
    const again = await restoreStateFile(dir, 56);
    expect(await names(again.restored)).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
  });

  it('fails with BACKUP_NOT_FOUND when no backup parses', async () => {
    const { store } = await setup();
    await expect(store.restore(56)).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    const { dir, store: none } = await setup({ backups: 0 });
    await none.put(rec(56, 'Only'));
    await writeFile(join(dir, 'bscmainnet.json'), 'garbage');
    await expect(none.restore(56)).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
  });

  it('replaceChain reports the backup and the removed keys', async () => {
    const { store } = await setup();
    await store.putMany([rec(56, 'A'), rec(56, 'B')]);
    const result = await store.replaceChain(56, [rec(56, 'B'), rec(56, 'C')]);
    expect(result.changed).toBe(true);
    expect(result.removed).toEqual(['56-A']);
    expect(result.file).toBe(store.fileFor(56));
    expect(await store.listBackups(56)).toContain(result.backup);
    await expect(store.replaceChain(56, [rec(97, 'X')])).rejects.toMatchObject({ code: 'CHAIN_MISMATCH' });
  });

  it('a write names as its backup only a file that is kept: none with backups: 1, the previous version with 2', async () => {
    for (const backups of [1, 2]) {
      const { store, dir } = await setup({ backups });
      const file = store.fileFor(56);
      await store.replaceChain(56, [rec(56, 'A')]);
      const writes = [
        // Over the version this store wrote.
        () => store.replaceChain(56, [rec(56, 'A'), rec(56, 'B')]),
        // Over a file another program replaced (saved by rename): that version is linked as it is replaced.
        async () => {
          await writeFile(`${file}.edit`, await readFile(file));
          await rename(`${file}.edit`, file);
          return store.replaceChain(56, [rec(56, 'A'), rec(56, 'B'), rec(56, 'C')]);
        },
      ];
      for (const write of writes) {
        const result = await write();
        const kept = await store.listBackups(56);
        expect(kept.length, `backups: ${backups}`).toBe(backups);
        if (backups === 1) expect(result.backup, 'backups: 1').toBeUndefined();
        else expect(kept, 'backups: 2').toContain(result.backup);
      }
      await store.close();
      expect(dir).toBeTruthy();
    }
  });
});

describe('cache', () => {
  it.each([true, false])("sees another writer's changes (cache %s), and stays within its bound", async (cache) => {
    const { store, open } = await setup({ cache, cacheFiles: 2 });
    const other = await open();
    await store.put(rec(56, 'A'));
    expect(await store.get(56, 'A')).not.toBeNull();
    await other.put(rec(56, 'B', { timestamp: 1 }));
    await other.delete(56, 'A');
    expect(await store.get(56, 'A')).toBeNull();
    expect((await store.get(56, 'B'))?.timestamp).toBe(1);
    for (const chainId of [1, 10, 97, 8453]) await store.put(rec(chainId, 'X'));
    expect((await store.health()).detail).toBe(cache ? '2 file(s) cached' : '0 file(s) cached');
    expect((await store.list(1)).length).toBe(1);
  });

  it('coalesces queued puts into fewer file writes, each resolving after its write', async () => {
    const { store } = await setup({ backups: 50 });
    await store.put(rec(56, 'First'));
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(rec(56, `P${i}`))));
    expect((await store.list(56)).length).toBe(31);
    // One backup per file write after the first: far fewer than one per put.
    expect((await store.listBackups(56)).length).toBeLessThan(30);
  });
});

describe('locking', () => {
  it('fails with LOCKED after the bounded wait while a live process holds the lock, and leaves the file alone', async () => {
    const { dir, store } = await setup({ lockWait: { timeoutMs: 150 } });
    await store.put(rec(56, 'A'));
    const before = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    let release!: () => void;
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const held = withFileLock(store.fileFor(56), () => {
      locked();
      return new Promise<void>((r) => (release = r));
    });
    // Wait until the holder really has the lock (a fixed sleep races it on a loaded machine).
    await lockTaken;
    // LOCKED names the state file, the one its user knows, not the lock file beside it.
    await expect(store.put(rec(56, 'B'))).rejects.toMatchObject({ code: 'LOCKED', file: store.fileFor(56) });
    release();
    await held;
    expect(await readFile(join(dir, 'bscmainnet.json'), 'utf8')).toBe(before);
    await store.put(rec(56, 'B'));
  });

  it.each([0, 100])(
    "a lock file's content and times decide nothing: empty, naming a dead process, or dated an hour back, it does not hold up a write (lease %i ms)",
    async (lockLeaseMs) => {
      const { dir, store } = await setup({ lockWait: { timeoutMs: 2_000 }, lockLeaseMs });
      const lock = lockFileFor(store.fileFor(56));
      await mkdir(join(dir, '.deploystate', 'locks'), { recursive: true });
      await writeFile(lock, '');
      await store.put(rec(56, 'AfterEmpty'));
      await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2020-01-01T00:00:00.000Z' }));
      const past = new Date(Date.now() - 3_600_000);
      await utimes(lock, past, past);
      await store.put(rec(56, 'AfterDeadHolder'));
      expect((await store.list(56)).length).toBe(2);
      await store.close();
      // The lock file is never removed (a lock on a removed file would guard nothing), and no longer held.
      expect(await readdir(join(dir, '.deploystate', 'locks'))).toContain('bscmainnet.json.lock');
      expect(isLockHeld(lock)).toBe(false);
    },
  );

  it('a store whose lock file was removed while it kept its lease takes the lock again on the new file before writing', async () => {
    const { dir, store } = await setup({ lockLeaseMs: 60_000 });
    await store.put(rec(56, 'A'));
    const lock = lockFileFor(store.fileFor(56));
    await rm(join(dir, '.deploystate', 'locks'), { recursive: true });
    await store.put(rec(56, 'B'));
    expect(isLockHeld(lock)).toBe(true);
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['A', 'B']);
  });
});

describe('writeFileAtomic', () => {
  it('maps a failed write to a code, leaves the previous file intact and no temp file behind', async () => {
    const dir = await makeTempDir('deploystate-atomic-');
    onTestFinished(() => removeTempDir(dir));
    const target = join(dir, 'state.json');
    await writeFileAtomic(target, 'old\n');
    await writeFile(join(dir, 'not-a-folder'), '');
    await expect(writeFileAtomic(target, 'new\n', { tmpDir: join(dir, 'not-a-folder', 'tmp') })).rejects.toMatchObject({
      code: 'WRITE_FAILED',
      file: target,
    });
    await expect(
      writeFileAtomic(target, 'new\n', {
        beforeRename: async () => {
          throw Object.assign(new Error('full'), { code: 'ENOSPC' });
        },
      }),
    ).rejects.toMatchObject({ code: 'DISK_FULL' });
    await expect(
      writeFileAtomic(target, 'new\n', {
        beforeRename: async () => {
          throw Object.assign(new Error('denied'), { code: 'EACCES' });
        },
      }),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(await readFile(target, 'utf8')).toBe('old\n');
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
  });

  it('a store cleans temp files left by dead writers (a reused pid too) when it opens, and keeps live and recent ones', async () => {
    const { dir } = await setup();
    const tmp = join(dir, '.deploystate', 'tmp');
    const longAgo = (Date.now() - 11 * 60_000) / 1000;
    const dead = join(tmp, `bscmainnet.json.${2 ** 22 + 54321}.abcdefabcdef.tmp`);
    await writeFile(dead, 'partial');
    await utimes(dead, longAgo, longAgo);
    // A pid no process has here, written just now: a live writer in another pid namespace sharing
    // the folder (a container with a bind mount) looks like this. It is kept.
    const recent = `bscmainnet.json.${2 ** 22 + 54322}.abcdefabcdef.tmp`;
    await writeFile(join(tmp, recent), 'in flight elsewhere');
    await writeFile(join(tmp, `bscmainnet.json.${process.pid}.abcdefabcdef.tmp`), 'mine');
    // Left by an earlier run that had this same pid (a container's pid 1, say): written before this process started.
    const earlier = join(tmp, `bscmainnet.json.${process.pid}.0a0b0c000001.tmp`);
    await writeFile(earlier, 'partial');
    await utimes(earlier, longAgo, longAgo);
    const store = new JsonFileStore({ dir });
    await store.open();
    expect((await readdir(tmp)).sort()).toEqual([recent, `bscmainnet.json.${process.pid}.abcdefabcdef.tmp`].sort());
    await store.close();
  });
});

// A deploy script that makes a store per call: one store mid-write, its temp file's time moved back
// an hour (by hand, or a clock), and another store of the same process opening the folder swept the
// live temp file, failing the first store's put (clock-skew hunt, deterministic).
describe("a write's temp file, while the write runs", () => {
  it('is never removed by another store of the same process opening the folder, whatever its time says', async () => {
    const { dir } = await setup();
    const tmp = join(dir, '.deploystate', 'tmp');
    let during: string[] = [];
    const writer = new JsonFileStore({
      dir,
      beforeReplace: async () => {
        during = await readdir(tmp);
        const hourAgo = (Date.now() - 3_600_000) / 1000;
        for (const name of during) await utimes(join(tmp, name), hourAgo, hourAgo);
        const other = new JsonFileStore({ dir });
        await other.open();
        await other.close();
      },
    });
    await writer.open();
    await writer.put(rec(56, 'A'));
    expect(during).toHaveLength(1);
    expect(await writer.get(56, 'A')).toEqual(rec(56, 'A'));
    await writer.close();
  });
});

describe('restore of a chain not yet moved to its registry name', () => {
  it('restores to the registry name and retires chain-<id>.json', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A'));
    await store.put(rec(56, 'B'));
    const { rename } = await import('node:fs/promises');
    await rename(join(dir, 'bscmainnet.json'), join(dir, 'chain-56.json'));
    await store.restore(56);
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual(['bscmainnet.json']);
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['A', 'B']);
    await store.put(rec(56, 'C'));
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['A', 'B', 'C']);
  });
});

describe('a FIFO where a network file belongs', () => {
  it.runIf(process.platform !== 'win32')('is refused NOT_A_FILE by a fresh process, read and write alike: no hang, and the lock still loads', async () => {
    const dir = await makeTempDir('deploystate-fifo-');
    onTestFinished(() => removeTempDir(dir));
    execFileSync('mkfifo', [join(dir, 'bscmainnet.json')]);
    const child = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/fifo-child.mjs', import.meta.url)), dir], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.signal, child.stderr).toBeNull();
    expect(child.stdout.trim().split('\n')).toEqual(['get NOT_A_FILE', 'put NOT_A_FILE']);
  });
});
