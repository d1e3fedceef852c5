// Damaged stores made with real files: CORRUPTED with the path, files left exactly as they were,
// and repair only ever on a copy; a folder that lacks files it names (no damage) STORE_INCOMPLETE.
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateRecords } from '@deploystate/core';
import { LevelDbStore, liveTables, repairCopy, snapshotLevelDb } from '../src/index.js';
import { stat } from 'node:fs/promises';
import { inventory, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('damage');

const RECORDS = generateRecords(60);

/** A store whose records sit in table files (a reopen converts the log into a table). */
async function storeWithTables(): Promise<void> {
  const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
  await store.open();
  await store.putMany(RECORDS.slice(0, 30));
  await store.close();
  const again = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
  await again.open();
  await again.putMany(RECORDS.slice(30));
  await again.close();
  const third = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
  await third.open();
  await third.close();
  expect((await readdir(folder.path)).some((n) => n.endsWith('.ldb'))).toBe(true);
}

/** A store whose last batch is only in the log. */
async function storeWithLog(): Promise<string> {
  await storeWithTables();
  const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
  await store.open();
  await store.putMany(generateRecords(20, [97]).map((r) => ({ ...r, contractName: `Log${r.contractName}` })));
  await store.close();
  const log = (await readdir(folder.path)).find((n) => n.endsWith('.log'));
  if (!log) throw new Error('no log file');
  return join(folder.path, log);
}

interface LogBatches {
  log: string;
  /** Where the last batch's log record starts. */
  boundary: number;
  size: number;
}

/** Tables, then a log holding a small batch (10 records) and a large one (200, several blocks). */
async function storeWithLogBatches(): Promise<LogBatches> {
  await storeWithTables();
  const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
  await store.open();
  await store.putMany(generateRecords(10, [84532]).map((r) => ({ ...r, contractName: `Kept${r.contractName}` })));
  const log = join(folder.path, (await readdir(folder.path)).find((n) => n.endsWith('.log')) as string);
  const boundary = (await stat(log)).size;
  await store.putMany(
    Array.from({ length: 200 }, (_, i) => ({ ...generateRecords(1, [97])[0]!, contractName: `Torn${i}`, notes: 'n'.repeat(300) })),
  );
  await store.close();
  const size = (await stat(log)).size;
  expect(size - boundary).toBeGreaterThan(70_000);
  return { log, boundary, size };
}

async function expectCorruptedUntouched(options: { create?: boolean } = {}): Promise<void> {
  const before = await inventory(folder.path);
  const store = new LevelDbStore({ path: folder.path, ...options });
  await expect(store.open()).rejects.toMatchObject({ code: 'CORRUPTED', file: folder.path });
  expect(await inventory(folder.path)).toEqual(before);
}

describe('damaged stores', () => {
  it('reads the live table set and sizes from the MANIFEST', async () => {
    await storeWithTables();
    const live = await liveTables(folder.path);
    const tables = (await readdir(folder.path)).filter((n) => n.endsWith('.ldb'));
    expect([...(live?.keys() ?? [])].sort()).toEqual(tables.map((n) => Number(n.slice(0, -4))).sort());
    for (const name of tables) expect(live?.get(Number(name.slice(0, -4)))).toBe((await stat(join(folder.path, name))).size);
  });

  it('missing CURRENT with table files: CORRUPTED, files untouched, even when asked to create', async () => {
    await storeWithTables();
    await rm(join(folder.path, 'CURRENT'));
    await expectCorruptedUntouched();
    await expectCorruptedUntouched({ create: true });
  });

  it('truncated table file: CORRUPTED at open, files untouched', async () => {
    await storeWithTables();
    const table = (await readdir(folder.path)).find((n) => n.endsWith('.ldb')) as string;
    const size = (await readFile(join(folder.path, table))).length;
    await truncate(join(folder.path, table), Math.floor(size / 2));
    await expectCorruptedUntouched();
  });

  it.each([
    ["inside the last record's header", (b: LogBatches) => b.boundary + 3],
    ["inside the last record's payload", (b: LogBatches) => b.boundary + 7 + 500],
    ['after the first fragment of a record spanning several blocks', (b: LogBatches) => b.boundary + 40_000],
    ['one byte short of the end', (b: LogBatches) => b.size - 1],
  ])('a torn log tail (%s) is an unacknowledged write: opens, earlier batches intact, noted as a warning', async (_, cut) => {
    const batches = await storeWithLogBatches();
    await truncate(batches.log, cut(batches));
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await store.open();
    try {
      expect(store.recoveryNotes).toEqual([expect.objectContaining({ kind: 'torn-log-tail', severity: 'warning', file: batches.log })]);
      const health = await store.health();
      expect(health.ok).toBe(true);
      expect((await store.list(84532)).filter((r) => r.contractName.startsWith('Kept'))).toHaveLength(10); // the first log batch
      expect(await store.get(97, 'Torn0')).toBeNull(); // the torn batch is gone, all of it
      expect(await store.get(97, 'Torn199')).toBeNull();
      const report = await store.checkIntegrity();
      expect(report.total).toBe(RECORDS.length + 10);
    } finally {
      await store.close();
    }
  });

  it('checkIntegrity reports a torn log tail as a TORN_LOG_TAIL warning naming the log; once LevelDB has recovered it, no longer', async () => {
    const batches = await storeWithLogBatches();
    await truncate(batches.log, batches.size - 1);
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await store.open();
    try {
      const report = await store.checkIntegrity();
      expect(report.findings.filter((f) => f.code === 'TORN_LOG_TAIL')).toEqual([
        expect.objectContaining({ code: 'TORN_LOG_TAIL', severity: 'warning', file: batches.log }),
      ]);
      expect(report.ok).toBe(true); // a dropped unacknowledged write is not damage
      expect(report.total).toBe(RECORDS.length + 10);
    } finally {
      await store.close();
    }
    // The open above rewrote the log without the torn record: a later store has nothing to report.
    const later = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await later.open();
    try {
      const report = await later.checkIntegrity();
      expect(report.findings.filter((f) => f.code === 'TORN_LOG_TAIL')).toEqual([]);
      expect(report.total).toBe(RECORDS.length + 10);
    } finally {
      await later.close();
    }
  });

  it('a complete last record that fails its checksum is CORRUPTED, files untouched', async () => {
    const batches = await storeWithLogBatches();
    const bytes = await readFile(batches.log);
    bytes[batches.size - 5] = (bytes[batches.size - 5] as number) ^ 0x01;
    await writeFile(batches.log, bytes);
    await expectCorruptedUntouched();
  });

  it('a zeroed stretch in the middle of the log (LevelDB would skip the rest of its block) is CORRUPTED', async () => {
    const batches = await storeWithLogBatches();
    const bytes = await readFile(batches.log);
    bytes.fill(0, batches.boundary, batches.boundary + 64);
    await writeFile(batches.log, bytes);
    await expectCorruptedUntouched();
  });

  it('a zero-filled tail (space allocated, data never written: power loss) is a torn tail', async () => {
    const batches = await storeWithLogBatches();
    const bytes = await readFile(batches.log);
    bytes.fill(0, batches.boundary);
    await writeFile(batches.log, bytes);
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await store.open();
    try {
      expect(store.recoveryNotes.map((n) => n.kind)).toEqual(['torn-log-tail']);
      expect((await store.list(84532)).filter((r) => r.contractName.startsWith('Kept'))).toHaveLength(10); // the first log batch
    } finally {
      await store.close();
    }
  });

  it('garbage in the log: CORRUPTED, files untouched (LevelDB alone would drop the records silently)', async () => {
    const log = await storeWithLog();
    const bytes = await readFile(log);
    bytes.fill(0x41, 100, 160);
    await writeFile(log, bytes);
    await expectCorruptedUntouched();
  });

  it('a damaged table block found during a scan surfaces as CORRUPTED naming the path', async () => {
    await storeWithTables();
    const tables = (await readdir(folder.path)).filter((n) => n.endsWith('.ldb'));
    for (const table of tables) {
      const bytes = await readFile(join(folder.path, table));
      // Keep the footer so the open succeeds; scramble the data blocks ahead of it.
      bytes.fill(0xff, 0, Math.max(0, bytes.length - 200));
      await writeFile(join(folder.path, table), bytes);
    }
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await store.open();
    try {
      await expect(store.checkIntegrity()).rejects.toMatchObject({ code: 'CORRUPTED', file: folder.path });
    } finally {
      await store.close();
    }
  });
});

describe('repairCopy', () => {
  it('recovers every record of a store without CURRENT on a copy, leaving the original untouched', async () => {
    await storeWithTables();
    await rm(join(folder.path, 'CURRENT'));
    const before = await inventory(folder.path);
    const dest = join(folder.dir, 'repaired');
    const result = await repairCopy(folder.path, dest);
    expect(result).toEqual({ dest, records: RECORDS.length });
    expect(await inventory(folder.path)).toEqual(before);
    const store = new LevelDbStore({ path: dest, readOnly: true });
    await store.open();
    try {
      const report = await store.checkIntegrity();
      expect(report.total).toBe(RECORDS.length);
      expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a non-empty destination and a missing source', async () => {
    await storeWithTables();
    await expect(repairCopy(folder.path, folder.path)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(repairCopy(join(folder.dir, 'nope'), join(folder.dir, 'out'))).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
  });
});

describe('a snapshot of a damaged folder', () => {
  it('a MANIFEST missing (CURRENT names none that exists) is STORE_INCOMPLETE naming the folder and the file, not LOCKED as if busy; nothing is left behind', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
    await store.open();
    await store.putMany(generateRecords(20));
    await store.close();
    const named = (await readFile(join(folder.path, 'CURRENT'), 'utf8')).trim();
    for (const name of await readdir(folder.path)) if (name.startsWith('MANIFEST-')) await rm(join(folder.path, name));
    const dest = join(folder.dir, 'copy');
    await expect(snapshotLevelDb(folder.path, dest, { attempts: 3 })).rejects.toMatchObject({
      code: 'STORE_INCOMPLETE',
      file: folder.path,
      data: { missing: [named] },
    });
    await expect(readdir(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a table the MANIFEST names missing: STORE_INCOMPLETE naming the source folder and the table, not the copy', async () => {
    await storeWithTables();
    const table = (await readdir(folder.path)).find((n) => n.endsWith('.ldb')) as string;
    await rm(join(folder.path, table));
    const dest = join(folder.dir, 'copy');
    await expect(snapshotLevelDb(folder.path, dest, { attempts: 2 })).rejects.toMatchObject({
      code: 'STORE_INCOMPLETE',
      file: folder.path,
      data: { missing: [table] },
    });
    await expect(readdir(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// What a clone gets from `git commit -a` of a committed LevelDB: the CURRENT that LevelDB's last
// open rewrote, without the MANIFEST, table and log that open made (new files, never added).
describe('a folder without files its CURRENT and MANIFEST name', () => {
  async function expectIncompleteUntouched(missing: string[], options: { create?: boolean } = {}): Promise<void> {
    const before = await inventory(folder.path);
    const store = new LevelDbStore({ path: folder.path, ...options });
    const error = await store.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'STORE_INCOMPLETE', file: folder.path, data: { missing } });
    expect((error as { hint: string }).hint).toContain('git add -A');
    expect((error as { hint: string }).hint).not.toMatch(/repair/i);
    expect(await inventory(folder.path)).toEqual(before);
  }

  it('the MANIFEST CURRENT names: STORE_INCOMPLETE naming it, files untouched, even when asked to create', async () => {
    await storeWithTables();
    const named = (await readFile(join(folder.path, 'CURRENT'), 'utf8')).trim();
    await rm(join(folder.path, named));
    await expectIncompleteUntouched([named]);
    await expectIncompleteUntouched([named], { create: true });
  });

  it('a table the MANIFEST names: STORE_INCOMPLETE naming it (not CORRUPTED), files untouched', async () => {
    await storeWithTables();
    const table = (await readdir(folder.path)).find((n) => n.endsWith('.ldb')) as string;
    await rm(join(folder.path, table));
    await expectIncompleteUntouched([table]);
  });

  it('the log the MANIFEST names (LevelDB alone would open without its records): STORE_INCOMPLETE naming it, files untouched', async () => {
    const log = await storeWithLog();
    await rm(log);
    await expectIncompleteUntouched([log.slice(folder.path.length + 1)]);
  });

  it('a folder with every file it names opens, however many times it was opened (no false alarm)', async () => {
    await storeWithLog();
    for (let i = 0; i < 3; i++) {
      const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
      await store.open();
      expect(await store.get(97, `Log${generateRecords(1, [97])[0]!.contractName}`)).not.toBeNull();
      await store.close();
    }
  });
});
