// Restoring the LevelDB folder from a copy backup: it works on the damaged or missing folder it
// exists for, keeps the replaced folder, checks the restored copy against the digest recorded when
// the backup was taken, and the newest backup is chosen by the time in its name.
import { createRequire } from 'node:module';
import { cp, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, openSnapshot } from '@deploystate/backend-leveldb';
import { NetworkRegistry, sampleRecord } from '@deploystate/core';
import { listLevelDbBackups, Migration, readBackupDigest, stateFiles, type LevelDbContent } from '../src/index.js';
import { digestBackupFolder, digestContent, renameIntoPlace, restoreLevelDbFolder } from '../src/leveldb-backups.js';
import { demoMigration, firstLine, putThroughStore, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-restore-');

/** A copy (which takes the LevelDB backup), then back to leveldb-only where a restore is allowed. */
async function withBackup(): Promise<{ migration: Migration; backup: string }> {
  const migration = await demoMigration(tempDir(), 'dual-write');
  const copy = await migration.migrate();
  await migration.disableDualWrite();
  return { migration, backup: copy.backups.leveldb as string };
}

async function liveContent(path: string): Promise<LevelDbContent> {
  const store = new LevelDbStore({ path, readOnly: true, idleCloseMs: 0 });
  await store.open();
  try {
    return await digestContent(store);
  } finally {
    await store.close();
  }
}

describe('LevelDB backups and restore', () => {
  it('the copy records the backup digest when it takes the backup, equal to what the backup folder holds', async () => {
    const { backup } = await withBackup();
    const recorded = await readBackupDigest(backup);
    expect(recorded).toBeDefined();
    const held = await digestBackupFolder(backup, new NetworkRegistry());
    expect(recorded).toMatchObject({ digest: held.digest, count: held.count, undecodable: held.undecodable });
    expect(recorded?.count).toBeGreaterThan(0);
  });

  const damages: Array<[string, (leveldb: string) => Promise<void>]> = [
    ['CURRENT missing', (leveldb) => rm(join(leveldb, 'CURRENT'))],
    [
      'MANIFEST missing',
      async (leveldb) => {
        for (const name of await readdir(leveldb)) if (name.startsWith('MANIFEST-')) await rm(join(leveldb, name));
      },
    ],
  ];
  for (const [damage, apply] of damages) {
    it(`restores over a folder that cannot be opened (${damage}), keeping the damaged folder aside`, async () => {
      const { migration, backup } = await withBackup();
      const leveldb = migration.paths.leveldb;
      const expected = await readBackupDigest(backup);
      await apply(leveldb);
      const before = (await readdir(leveldb)).sort();

      const result = await migration.restoreLevelDb();
      expect(result.restored).toBe(backup);
      expect(result.previous).toBe('damaged');
      expect(result.digestRecorded).toBe(true);
      expect(result.restoredContent.digest).toBe(expected?.digest);
      // The damaged folder is kept as it was, never deleted.
      expect((await readdir(result.movedAside as string)).filter((n) => n !== 'LOCK' && !n.startsWith('LOG')).sort()).toEqual(
        before.filter((n) => n !== 'LOCK' && !n.startsWith('LOG')),
      );
      // The live folder opens again and holds the backup's records.
      expect((await liveContent(leveldb)).digest).toBe(expected?.digest);
    });
  }

  it('over a healthy folder holding records the backup lacks (carried back by a rollback), refuses naming them; --discard-newer restores and lists them', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await putThroughStore(tempDir(), sampleRecord(97, 'SinceCutover', 'bsctestnet', 21));
    await migration.rollback();
    const leveldb = migration.paths.leveldb;
    const before = await liveContent(leveldb);
    await expect(migration.restoreLevelDb()).rejects.toMatchObject({ code: 'STORES_DIFFER', file: leveldb, data: { lacks: ['97-SinceCutover'], older: [] } });
    // Nothing changed: the live folder is as it was, and no staged copy is left beside it.
    expect(await liveContent(leveldb)).toEqual(before);
    expect((await readdir(tempDir())).filter((name) => name.startsWith('leveldb.'))).toEqual([]);
    const result = await migration.restoreLevelDb(undefined, { discardNewer: true });
    expect(result).toMatchObject({ previous: 'healthy', discarded: ['97-SinceCutover'] });
    expect(await liveContent(result.movedAside as string)).toEqual(before);
  });

  it('a deploy script writing through the restore: the put made between its two renames waits and lands in the restored folder, as does every write after', async () => {
    const { migration } = await withBackup();
    const leveldb = migration.paths.leveldb;
    const control = join(tempDir(), 'writer-control');
    await mkdir(control, { recursive: true });
    const child = runNode('paced-writer.mjs', [tempDir(), '97', 'bsctestnet', 'Live', '3000', '3000', '10', control]);
    let out = '';
    child.process.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await firstLine(child)).toBe('ready');
    await writeFile(join(control, 'go'), '');
    const lines = (): string[] => out.split('\n').filter((line) => line !== '');
    const acked = (from = 0, to?: number): Array<{ name: string; timestamp: number; at: number }> =>
      [...lines().slice(from, to).join('\n').matchAll(/^ack (\S+) (\d+) [\d.]+ (\d+)$/gm)].map((m) => ({ name: m[1] as string, timestamp: Number(m[2]), at: Number(m[3]) }));
    while (acked().length < 10) await new Promise((resolve) => setTimeout(resolve, 10));
    let duringSwap: string[] = [];
    let afterSwap = 0;
    const level = createRequire(createRequire(import.meta.url).resolve('@deploystate/backend-leveldb'))('level') as {
      Level: new (path: string, options: object) => { open(): Promise<void> };
    };
    // The restore paused between its renames: the live folder aside, the copy not yet in place,
    // and the folder made again by an open that raced the first rename (its LOCK and LOG).
    let swapBegan = Number.POSITIVE_INFINITY;
    const betweenRenames = async (): Promise<void> => {
      swapBegan = Date.now();
      await expect(new level.Level(leveldb, { createIfMissing: false }).open()).rejects.toThrow();
      const seen = lines().length;
      // The script, writing every 10 ms, tries meanwhile: without the wait it fails at once.
      for (let i = 0; i < 100 && lines().length === seen; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      duringSwap = lines().slice(seen);
      afterSwap = lines().length;
    };
    // The script's records are newer than the backup: taken away on purpose, and listed.
    const ctx = { files: stateFiles(migration.paths), registry: new NetworkRegistry(), now: Date.now };
    const result = await restoreLevelDbFolder(ctx, undefined, { discardNewer: true, betweenRenames });
    expect(result.previous).toBe('healthy');
    expect(duringSwap).toEqual([]);
    const before = acked().length;
    for (let i = 0; i < 300 && acked().length < before + 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await writeFile(join(control, 'stop'), '');
    expect((await child.done).code).toBe(0);
    // Each put names a new contract, which the backup lacks. A put acknowledged before the restore
    // took the live folder is among the records it read, so discarding it is what `discardNewer`
    // asked and the result lists it; its read-back, when it waited through the swap, reads the
    // backup (no record) and its line comes after the swap. Nothing else fails.
    const discarded = new Set(result.discarded);
    expect(lines().slice(0, afterSwap).filter((l) => l.startsWith('error '))).toEqual([]);
    for (const line of lines().slice(afterSwap).filter((l) => l.startsWith('error '))) {
      const readBack = /^error (\S+) READ_BACK (\d+)$/.exec(line);
      expect(readBack, line).not.toBeNull();
      expect(Number(readBack?.[2]), line).toBeLessThan(swapBegan);
      expect(discarded.has(`97-${readBack?.[1]}`), line).toBe(true);
    }
    // Every put acknowledged before the swap was read by the restore and is listed: one that
    // landed in the live folder after its read would be taken away unlisted.
    for (const a of acked(0, afterSwap)) expect(discarded.has(`97-${a.name}`), a.name).toBe(true);
    // Every put acknowledged after the swap (the one that waited through it first) is in ./leveldb,
    // not in the folder moved aside.
    const after = acked(afterSwap);
    expect(after.length).toBeGreaterThan(0);
    const store = new LevelDbStore({ path: leveldb, readOnly: true, idleCloseMs: 0 });
    await store.open();
    try {
      for (const a of after) expect(Number((await store.get(97, a.name))?.timestamp)).toBeGreaterThanOrEqual(a.timestamp);
    } finally {
      await store.close();
    }
  });

  it("puts the checked copy in place over what a deploy script's open between the two renames left", async () => {
    const { migration } = await withBackup();
    const leveldb = migration.paths.leveldb;
    const staged = `${leveldb}.restoring-2026-01-01T00-00-00-000Z`;
    await cp(leveldb, staged, { recursive: true });
    const before = await liveContent(staged);
    await rm(leveldb, { recursive: true });
    // A deploy script's check saw the folder; the first rename took it; LevelDB's open then found it
    // gone, and made the folder, its LOCK and its LOG before it failed.
    const level = createRequire(createRequire(import.meta.url).resolve('@deploystate/backend-leveldb'))('level') as {
      Level: new (path: string, options: object) => { open(): Promise<void> };
    };
    await expect(new level.Level(leveldb, { createIfMissing: false }).open()).rejects.toThrow();
    expect((await readdir(leveldb)).sort()).toEqual(['LOCK', 'LOG']);
    await renameIntoPlace(staged, leveldb);
    expect(await liveContent(leveldb)).toEqual(before);
    // Anything else in the way is never removed.
    await cp(leveldb, staged, { recursive: true });
    await expect(renameIntoPlace(staged, leveldb)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    expect(await liveContent(leveldb)).toEqual(before);
  });

  it('a read-only command between the two renames (its snapshot of the folder) waits for the checked copy, and a wait that ends names this restore as still running', async () => {
    const { migration, backup } = await withBackup();
    const leveldb = migration.paths.leveldb;
    let early: unknown;
    let reading: Promise<string | undefined> | undefined;
    const betweenRenames = async (): Promise<void> => {
      early = await openSnapshot(leveldb, { lockWait: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 } }).catch((error: unknown) => error);
      reading = openSnapshot(leveldb).then(async (snapshot) => {
        const content = await digestContent(snapshot.store);
        await snapshot.dispose();
        return content.digest;
      });
      // The snapshot's first looks see the folder missing: without the wait it fails at once.
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await Promise.race([reading.then(() => 'settled', () => 'settled'), 'still waiting'])).toBe('still waiting');
    };
    const ctx = { files: stateFiles(migration.paths), registry: new NetworkRegistry(), now: Date.now };
    await restoreLevelDbFolder(ctx, undefined, { betweenRenames });
    expect(early).toMatchObject({ code: 'STORE_NOT_FOUND', file: leveldb, data: { restore: { pid: process.pid, running: true } } });
    expect(await reading).toBe((await readBackupDigest(backup))?.digest);
  });

  it("a migration's read-only step between the two renames waits as long as its lockWaitMs, then names this restore as still running", async () => {
    const { migration } = await withBackup();
    let waited: { error: unknown; ms: number } | undefined;
    const betweenRenames = async (): Promise<void> => {
      // An operator's compare with a 400 ms wait set (the CLI passes DEPLOYSTATE_LOCK_WAIT_MS or the config's lockWaitMs so).
      const reader = await Migration.open({ cwd: tempDir(), lockWaitMs: 400 });
      const started = Date.now();
      const error = await reader.compare().then(
        () => undefined,
        (e: unknown) => e,
      );
      waited = { error, ms: Date.now() - started };
      await reader.close();
    };
    const ctx = { files: stateFiles(migration.paths), registry: new NetworkRegistry(), now: Date.now };
    await restoreLevelDbFolder(ctx, undefined, { betweenRenames });
    expect(waited?.error).toMatchObject({ code: 'STORE_NOT_FOUND', data: { restore: { pid: process.pid, running: true } } });
    // At least the wait asked for, and nowhere near the default (about 15 s).
    expect(waited?.ms).toBeGreaterThanOrEqual(400);
    expect(waited?.ms).toBeLessThan(10_000);
  });

  it('a staged copy a restore killed outright left beside the folder is removed by the next restore', async () => {
    const { migration } = await withBackup();
    const leftover = `${migration.paths.leveldb}.restoring-2026-01-01T00-00-00-000Z`;
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'CURRENT'), 'MANIFEST-000001\n');
    await rm(migration.paths.leveldb, { recursive: true });
    await migration.restoreLevelDb();
    expect((await readdir(tempDir())).filter((name) => name.startsWith('leveldb.restoring-'))).toEqual([]);
  });

  it('restores when the LevelDB folder is gone altogether', async () => {
    const { migration, backup } = await withBackup();
    await rm(migration.paths.leveldb, { recursive: true });
    const result = await migration.restoreLevelDb();
    expect(result).toMatchObject({ restored: backup, previous: 'missing', movedAside: null });
    expect((await liveContent(migration.paths.leveldb)).digest).toBe((await readBackupDigest(backup))?.digest);
  });

  it('a backup that no longer holds its recorded digest is refused with CORRUPTED and the live folder stays as it was', async () => {
    const { migration, backup } = await withBackup();
    const digestFile = `${backup}.digest.json`;
    const recorded = JSON.parse(await readFile(digestFile, 'utf8')) as { digest: string };
    await writeFile(digestFile, JSON.stringify({ ...recorded, digest: '0'.repeat(64) }));
    const live = await liveContent(migration.paths.leveldb);
    const error = await migration.restoreLevelDb().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CORRUPTED', file: backup });
    expect((await liveContent(migration.paths.leveldb)).digest).toBe(live.digest);
    // Nothing was moved aside and no staged copy is left behind.
    expect((await readdir(tempDir())).filter((n) => n.startsWith('leveldb.'))).toEqual([]);
  });

  it('the newest backup is the one whose name says it was taken last, whatever the listing order or other folders', async () => {
    const { migration, backup } = await withBackup();
    const files = stateFiles(migration.paths);
    const at = (iso: string): string => join(files.backups, `copy-${iso.replace(/[:.]/g, '-')}`, 'leveldb');
    const older = at('2000-01-01T00:00:00.000Z');
    const newest = at('2999-12-31T23:59:59.999Z');
    // Created newest first, then an older one, then a folder without a time in its name (its
    // modification time is old): sorting by name or creation would pick one of the others.
    for (const path of [newest, older, join(files.backups, 'zz-manual', 'leveldb')]) {
      await mkdir(join(path, '..'), { recursive: true });
      await cp(backup, path, { recursive: true });
    }
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(join(files.backups, 'zz-manual', 'leveldb'), old, old);
    const list = await listLevelDbBackups({ files });
    expect(list).toEqual([older, join(files.backups, 'zz-manual', 'leveldb'), backup, newest]);
    const result = await migration.restoreLevelDb();
    expect(result.restored).toBe(newest);
    // No digest was recorded with the hand-made copy: the restore says so instead of claiming a check.
    expect(result.digestRecorded).toBe(false);
  });
});
