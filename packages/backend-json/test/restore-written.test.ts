// The version the store last wrote is always among the backups, as a hard link (no copy), so a
// state file damaged by hand, even one the store created in a single write, can be restored
// byte for byte; the restore names the version it puts back.
import * as fs from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { backupVersionOf } from '../src/backups.js';
import { lastWrittenVersion } from '../src/written-version.js';
import { JsonFileStore } from '../src/index.js';
import { rec, refusingEntries, storePerTest } from './helpers.js';
import { parseLossless, stringifyLossless } from '@deploystate/core';

const setup = storePerTest();

/** What an editor that saves by rename (or git, or mv) does: a new file in the old one's place. */
async function damageByReplacing(file: string, text: string): Promise<void> {
  await writeFile(`${file}.edit`, text);
  await rename(`${file}.edit`, file);
}

describe('the version last written', () => {
  it('a file created in one write (as the copy does) and damaged by hand is restored byte for byte', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    const result = await store.replaceChain(56, [rec(56, 'A'), rec(56, 'B', { deploymentArgs: [2n ** 70n] })]);
    expect(result.backup).toBeUndefined(); // nothing was replaced
    const written = await readFile(file);

    // The backup is the state file's own inode: two links, no copy.
    const [kept] = await store.listBackups(56);
    const [fileStat, keptStat] = await Promise.all([stat(file), stat(kept as string)]);
    expect(keptStat.ino).toBe(fileStat.ino);
    expect(fileStat.nlink).toBe(2);

    await damageByReplacing(file, '{"schemaVersion": 1, "records": {'); // damaged by hand
    await expect(store.get(56, 'A')).rejects.toMatchObject({ code: 'CORRUPTED' });
    const restore = await store.restore(56);
    expect(restore.restored).toBe(kept);
    expect(restore.version).toMatchObject({ kind: 'written', lastWritten: true, newerWrites: 0, intact: true, backup: kept });
    expect(Date.parse(restore.version.time)).not.toBeNaN();
    expect(Buffer.compare(await readFile(file), written)).toBe(0);
    // The damaged text is kept too, so the restore can be undone.
    expect(await readFile(restore.replacedBackup as string, 'utf8')).toBe('{"schemaVersion": 1, "records": {');
    expect((await store.get(56, 'B'))?.deploymentArgs).toEqual([2n ** 70n]);
  });

  it('backups removed while the store holds the lock (a cleanup of .deploystate/) fail no write: the next one keeps its version again', async () => {
    const { dir, store } = await setup({ lockLeaseMs: 60_000 });
    await store.put(rec(56, 'A'));
    await store.put(rec(56, 'B'));
    await rm(join(dir, '.deploystate', 'backups'), { recursive: true });
    await store.put(rec(56, 'C'));
    expect((await store.get(56, 'C'))?.contractName).toBe('C');
    const [kept] = await store.listBackups(56);
    expect((await stat(kept as string)).ino).toBe((await stat(join(dir, 'bscmainnet.json'))).ino);
  });

  it('the next write replaces the file by rename: the link keeps the old bytes, the file it replaced is not kept twice', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A'));
    const first = await readFile(file, 'utf8');
    await store.put(rec(56, 'B'));
    const second = await readFile(file, 'utf8');
    const backups = await store.listBackups(56);
    // One backup per write: the two versions written, newest first; the first no longer linked to the file.
    expect(backups.length).toBe(2);
    expect(await readFile(backups[1] as string, 'utf8')).toBe(first);
    expect(await readFile(backups[0] as string, 'utf8')).toBe(second);
    expect((await stat(backups[1] as string)).nlink).toBe(1);
    expect((await stat(backups[0] as string)).ino).toBe((await stat(file)).ino);
    expect(backups.map((b) => backupVersionOf(b)?.kind)).toEqual(['written', 'written']);
  });

  it('a put that changes nothing writes nothing and rotates no backup out', async () => {
    const { store } = await setup({ backups: 2 });
    await store.put(rec(56, 'A'));
    await store.put(rec(56, 'B'));
    const before = await store.listBackups(56);
    const fileBefore = await stat(store.fileFor(56));
    for (let i = 0; i < 5; i++) await store.put(rec(56, 'B'));
    expect(await store.listBackups(56)).toEqual(before);
    expect((await stat(store.fileFor(56))).ino).toBe(fileBefore.ino);
  });

  it('a file replaced by hand is kept when the store next writes over it', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A'));
    const edited = (await readFile(file, 'utf8')).replace('"timestamp": ', '"timestamp":  ');
    await damageByReplacing(file, edited);
    await store.put(rec(56, 'B'));
    const [newest, replaced] = await store.listBackups(56);
    expect(backupVersionOf(newest as string)?.kind).toBe('written');
    expect(backupVersionOf(replaced as string)?.kind).toBe('replaced');
    expect(await readFile(replaced as string, 'utf8')).toBe(edited);
  });

  it('an edit in place, which the link shares, is told apart: the restore goes back to the version before and says so', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A'));
    const first = await readFile(file);
    await store.put(rec(56, 'B'));
    // Appending writes into the same inode, so the newest backup changes with the file.
    await appendFile(file, '\n{"also": "damaged"}');
    const [newest] = await store.listBackups(56);
    expect(await readFile(newest as string, 'utf8')).toContain('damaged');
    // Asked not to go back past the last write: refused, naming the older version, the file as it is.
    const damaged = await readFile(file);
    const refused = await store.restore(56, undefined, { olderVersion: false }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BACKUP_NOT_FOUND', file });
    expect(String((refused as Error).message)).toContain('1 write(s) before the last');
    expect(Buffer.compare(await readFile(file), damaged)).toBe(0);
    const restore = await store.restore(56);
    expect(restore.version).toMatchObject({ kind: 'written', lastWritten: false, newerWrites: 1, intact: true });
    expect(Buffer.compare(await readFile(file), first)).toBe(0);
  });
});

describe('the limit of a link', () => {
  it('a file with a single version damaged in place has no intact backup: BACKUP_NOT_FOUND, and the file is left as it is', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.replaceChain(56, [rec(56, 'A')]);
    await writeFile(file, 'garbage'); // written into the same inode the backup links
    await expect(store.restore(56)).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    expect(await readFile(file, 'utf8')).toBe('garbage');
  });
});

describe('lastWrittenVersion: whether a state file is still the version the store last wrote', () => {
  it('is the file after each store write, and not after an edit in place, a replace by rename, or with no backups kept', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    expect(lastWrittenVersion(file)).toBeUndefined(); // no file, no backups
    await store.put(rec(56, 'A'));
    await store.put(rec(56, 'B'));
    expect(lastWrittenVersion(file)?.ino).toBe((await stat(file, { bigint: true })).ino);

    // The same bytes written back in place, past the clock tick: same inode and size, new mtime.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(file, await readFile(file));
    expect(lastWrittenVersion(file)).toBeUndefined();
    await store.put(rec(56, 'C'));
    expect(lastWrittenVersion(file)).toBeDefined();

    // The same bytes in a new file renamed into place (an editor, git): another inode.
    await damageByReplacing(file, await readFile(file, 'utf8'));
    expect(lastWrittenVersion(file)).toBeUndefined();
  });

  it('is never told without a written backup (backups: 0)', async () => {
    const { dir, store } = await setup({ backups: 0 });
    await store.put(rec(56, 'A'));
    expect(lastWrittenVersion(join(dir, 'bscmainnet.json'))).toBeUndefined();
  });
});

describe('a backup named by the caller', () => {
  it('that is missing, a folder or not a state file of the chain is refused naming it, and the file is left as it is', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A'));
    const before = await readFile(file);
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, '{"schemaVersion": 1, "rec');
    const otherChain = join(dir, 'other-chain.json');
    await writeFile(otherChain, (await readFile(file, 'utf8')).replace('"chainId": 56', '"chainId": 97'));
    for (const [backup, code] of [
      [join(dir, 'missing.json'), 'BACKUP_NOT_FOUND'],
      [folder, 'NOT_A_FILE'],
      [garbage, 'CORRUPTED'],
      [otherChain, 'CHAIN_MISMATCH'],
    ] as const) {
      await expect(store.restore(56, backup), backup).rejects.toMatchObject({ code, file: backup });
    }
    expect(Buffer.compare(await readFile(file), before)).toBe(0);
  });
});

describe('a name no store can key, written into a file by hand', () => {
  it('is an entry that is not a record (INVALID_KEY, naming file and pointer): the rest of the file reads, and the check of it lists it', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A'));
    await store.put(rec(56, 'B'));
    const file = join(dir, 'bscmainnet.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"B": {', '"B\\ud800": {').replace('"contractName": "B"', '"contractName": "B\\ud800"'));
    const fresh = new JsonFileStore({ dir, cache: false });
    await fresh.open();
    onTestFinished(() => fresh.close());
    expect((await fresh.list(56).catch((e: unknown) => e)) as { code?: string }).toMatchObject({ code: 'CORRUPTED' });
    const invalid: Array<{ key: string; finding: { code: string; file?: string; pointer?: string } }> = [];
    const keys: string[] = [];
    for await (const entry of fresh.iterate({ onInvalid: (e) => invalid.push(e) })) keys.push(entry.key);
    expect(keys).toEqual(['56-A']);
    expect(invalid).toEqual([{ key: '56-B\ud800', finding: expect.objectContaining({ code: 'INVALID_KEY', file, pointer: '/records/B\ud800' }) }]);
    const report = await fresh.checkIntegrity();
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => f.code)).toEqual(['INVALID_KEY']);
  });
});

describe('a clock that was ahead', () => {
  it('a backup named while the clock was a year ahead never makes later versions sort older: restore and the bound follow the writes', async () => {
    const { dir, store } = await setup({ backups: 3 });
    const file = join(dir, 'bscmainnet.json');
    const yearAhead = Date.now() + 365 * 24 * 3600 * 1000;
    const now = vi.spyOn(Date, 'now').mockReturnValue(yearAhead);
    try {
      await store.put(rec(56, 'Skewed'));
    } finally {
      now.mockRestore();
    }
    for (const name of ['Later1', 'Later2', 'Later3', 'Later4']) await store.put(rec(56, name));
    // Newest first: the last write's version leads, and the bound (3) kept the last three writes.
    const kept = await store.listBackups(56);
    expect(kept).toHaveLength(3);
    const names = async (backup: string) => Object.keys(JSON.parse(await readFile(backup, 'utf8')).records ?? {}).length;
    expect(await Promise.all(kept.map(names))).toEqual([5, 4, 3]);
    // A restore without a backup named takes the version last written, not the one named in the future.
    await damageByReplacing(file, '{"schemaVersion": 1, "records": {');
    const restore = await store.restore(56);
    expect(restore.version).toMatchObject({ lastWritten: true, newerWrites: 0 });
    expect((await store.list(56)).map((r) => r.contractName).sort()).toEqual(['Later1', 'Later2', 'Later3', 'Later4', 'Skewed']);
  });
});

describe('a restore never takes records away unasked', () => {
  it('refuses (STORES_DIFFER, naming them) when the file holds records the backup lacks or holds older; --discard-newer restores and lists them', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A', { timestamp: 1_700_000_000_000 }));
    await store.put(rec(56, 'B', { timestamp: 1_700_000_000_000 }));
    // A teammate's version arrives through git (replaced by rename): a new record C, and A redeployed since.
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    doc.records.C = { ...rec(56, 'C') };
    doc.records.A = { ...(doc.records.A as object), timestamp: 1_800_000_000_000 };
    await damageByReplacing(file, `${stringifyLossless(doc, 2)}\n`);
    const pulled = await readFile(file);
    await expect(store.restore(56)).rejects.toMatchObject({
      code: 'STORES_DIFFER',
      file,
      data: { lacks: ['56-C'], older: ['56-A'] },
    });
    expect(Buffer.compare(await readFile(file), pulled)).toBe(0);
    const restored = await store.restore(56, undefined, { discardNewer: true });
    expect(restored.discarded).toEqual(['56-C', '56-A']);
    expect((await store.list(56)).map((r) => r.contractName).sort()).toEqual(['A', 'B']);
    // What it replaced is kept, so even that restore can be undone.
    expect(Buffer.compare(await readFile(restored.replacedBackup as string), pulled)).toBe(0);
  });
});

describe('the backups a store lists', () => {
  it('never name one a write just pushed out of the bound (its removal runs off the write path)', async () => {
    const { store: wide, open } = await setup({ backups: 6 });
    for (let i = 1; i <= 6; i++) await wide.put(rec(56, 'Token', { timestamp: 1_700_000_000_000 + i }));
    // A store keeping fewer: its next write recycles the oldest backup and removes the rest beyond its bound.
    const store = await open({ backups: 2 });
    // Removals that take a moment, as they do on a loaded machine: the list must wait for them, not race them.
    const promises = fs.promises as { unlink: typeof fs.promises.unlink };
    const unlink = promises.unlink;
    promises.unlink = async (path) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return unlink(path);
    };
    syncBuiltinESMExports();
    onTestFinished(() => {
      promises.unlink = unlink;
      syncBuiltinESMExports();
    });
    await store.put(rec(56, 'Token', { timestamp: 1_700_000_000_010 }));
    const listed = await store.listBackups(56);
    expect(listed.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const backup of listed) expect(fs.existsSync(backup), backup).toBe(true);
  });
});

describe('a write whose rename fails', () => {
  // Before, the put linked its synced temp file as the version written before the rename, and
  // kept the link when the rename failed: restore took that failed write for the last one written.
  it('leaves no backup named as written, so a restore brings back the version written before it', async () => {
    const { dir, store, open } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'Good'));
    const before = await store.listBackups(56);
    const failure = await refusingEntries(dir, () =>
      store.put(rec(56, 'Failed')).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(failure).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(await store.listBackups(56)).toEqual(before);
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['Good']);

    await damageByReplacing(file, '{ broken');
    const fresh = await open();
    const restore = await fresh.restore(56);
    expect(restore.version.lastWritten).toBe(true);
    expect((await fresh.list(56)).map((r) => r.contractName)).toEqual(['Good']);
  });

  it('leaves none after a failed restore either', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'Good'));
    await store.put(rec(56, 'Later'));
    const [newest, older] = await store.listBackups(56);
    await damageByReplacing(file, '{ broken');
    const before = await store.listBackups(56);
    const failure = await refusingEntries(dir, () =>
      store.restore(56, older as string, { olderVersion: true, discardNewer: true }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(failure).toMatchObject({ code: 'PERMISSION_DENIED' });
    // The damaged file it was to replace may stay kept (a true version); no new one says written.
    const added = (await store.listBackups(56)).filter((backup) => !before.includes(backup));
    expect(added.map((backup) => backupVersionOf(backup)?.kind)).not.toContain('written');
    expect(newest).toBeDefined();
    expect((await store.restore(56)).restored).toBe(newest);
  });
});
