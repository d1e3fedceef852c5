// The copy's memory does not grow with the store: a chain with no state file is printed to its new
// file while LevelDB is read (its records are on disk before the chain ends, not gathered first),
// and the co-owned files baseline is rewritten entry by entry from a file in any layout it ever had.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { canonicalDigest, ErrorCodes, generateRecords, sampleRecord } from '@deploystate/core';
import { Migration } from '../src/index.js';
import { seedLevelDb, useTempDir } from './helpers.js';
import { withPutAfterFirstOutboxLook } from './outbox-helpers.js';
import { parsedFiles, writtenEntries, writtenPath } from './written-helpers.js';

const tempDir = useTempDir('migrator-copy-stream-');


/** Bytes of the copy's temp files for new network files (in the deployments folder's temp folder). */
function tempBytes(dir: string): number {
  const tmp = join(dir, 'deployments', '.deploystate', 'tmp');
  if (!existsSync(tmp)) return 0;
  return readdirSync(tmp).reduce((sum, name) => sum + statSync(join(tmp, name)).size, 0);
}

describe('a chain with no state file', () => {
  it('is on disk as it is read: most of a chain is in its temp file before the pass reaches its end', async () => {
    const dir = tempDir();
    // One chain, so the pass's progress events mid-chain see the chain half read.
    const records = generateRecords(3000, [56]);
    await seedLevelDb(dir, records);
    const migration = await Migration.open({ cwd: dir });
    const seen: Array<{ done: number; bytes: number }> = [];
    try {
      await migration.enableDualWrite();
      await migration.migrate({ batchSize: 500, onProgress: (p) => seen.push({ done: p.done, bytes: tempBytes(dir) }) });
    } finally {
      await migration.close?.();
    }
    const size = statSync(join(dir, 'deployments', 'bscmainnet.json')).size;
    // At 2,500 of 3,000 records read, at least half the file's bytes are written (the writer keeps under 64 KiB).
    const late = seen.find((s) => s.done === 2500);
    expect(late?.bytes).toBeGreaterThan(size / 2);
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });

  it('that gets a file while it is copied is copied as a chain with a file: its records in, the file\'s other keys kept', async () => {
    const dir = tempDir();
    const records = generateRecords(400, [56, 97]);
    await seedLevelDb(dir, records);
    const migration = await Migration.open({ cwd: dir });
    const legacy = join(dir, 'deployments', 'bsctestnet.json');
    try {
      await migration.enableDualWrite();
      await migration.migrate({
        batchSize: 50,
        onProgress: (p) => {
          // The project's own scripts write the chain's file while the copy reads its records.
          if (p.chainId === 97 && !existsSync(legacy)) writeFileSync(legacy, `${JSON.stringify({ network: 'bsctestnet', chainId: 97, deployer: '0xabc' }, null, 2)}\n`);
        },
      });
    } finally {
      await migration.close?.();
    }
    const file = JSON.parse(await readFile(legacy, 'utf8')) as { deployer?: string };
    expect(file.deployer).toBe('0xabc');
    const store = new JsonFileStore({ dir: join(dir, 'deployments'), create: false, cache: false });
    await store.open();
    try {
      for (const chainId of [56, 97]) {
        const expected = records.filter((r) => r.chainId === chainId).map((r) => [r.contractName, canonicalDigest(r)]);
        const actual = (await store.list(chainId)).map((r) => [r.contractName, canonicalDigest(r)]);
        expect(actual.sort()).toEqual(expected.sort());
      }
    } finally {
      await store.close();
    }
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });

  it('that holds a value that cannot be migrated after records already printed leaves no file and no temp file', async () => {
    const dir = tempDir();
    await writeLegacyStore(join(dir, 'leveldb'), [
      { key: '56-A', value: sampleRecord(56, 'A', 'bscmainnet') },
      { key: '56-B', value: sampleRecord(56, 'B', 'bscmainnet') },
      { key: '56-C', raw: '{"contractName":"C",' },
    ]);
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
      await expect(migration.migrate()).rejects.toMatchObject({ code: 'UNMIGRATABLE_RECORDS', key: '56-C' });
    } finally {
      await migration.close?.();
    }
    expect(existsSync(join(dir, 'deployments', 'bscmainnet.json'))).toBe(false);
    expect(tempBytes(dir)).toBe(0);
    expect(readdirSync(join(dir, 'deployments', '.deploystate', 'tmp'))).toEqual([]);
  });

  it('whose end fails fails the copy: the chain printed meanwhile is not put in place and leaves no temp file', async () => {
    const dir = tempDir();
    await seedLevelDb(dir, generateRecords(600, [56, 97, 84532]));
    const migration = await Migration.open({ cwd: dir });
    const blocked = join(dir, 'deployments', 'bscmainnet.json');
    let failure: unknown;
    try {
      await migration.enableDualWrite();
      await migration
        .migrate({
          batchSize: 50,
          onProgress: (p) => {
            // Something that is not a state file takes the chain's path while its records are printed.
            if (p.chainId === 56 && !existsSync(blocked)) mkdirSync(blocked);
          },
        })
        .catch((error: unknown) => {
          failure = error;
        });
    } finally {
      await migration.close?.();
    }
    expect(failure).toMatchObject({ code: ErrorCodes.NOT_A_FILE });
    // The chains after it were read and printed while its end went on: none is in place, none left a temp file.
    expect(existsSync(join(dir, 'deployments', 'bsctestnet.json'))).toBe(false);
    expect(existsSync(join(dir, 'deployments', 'basesepolia.json'))).toBe(false);
    expect(tempBytes(dir)).toBe(0);
    const tmp = join(dir, 'deployments', '.deploystate', 'tmp');
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  });
});

describe('a chain with no state file that a deploy script wrote to after the snapshot', () => {
  it('keeps the newer key out of the copy and lists it, as a chain with a file does', async () => {
    const dir = tempDir();
    const records = generateRecords(40, [56, 97]);
    await seedLevelDb(dir, records);
    const migration = await Migration.open({ cwd: dir });
    await migration.enableDualWrite();
    let report;
    try {
      const run = await withPutAfterFirstOutboxLook(() => migration.migrate());
      expect(run.wrote).toBe(true);
      report = run.result;
    } finally {
      await migration.close?.();
    }
    expect(report.skippedNewer).toEqual(['97-InOutbox']);
    const store = new JsonFileStore({ dir: join(dir, 'deployments'), create: false, cache: false });
    await store.open();
    try {
      expect(await store.get(97, 'InOutbox')).toBeNull();
      expect((await store.list(97)).length).toBe(20);
      expect((await store.list(56)).length).toBe(20);
    } finally {
      await store.close();
    }
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });
});

describe('the co-owned files baseline rewritten after a copy', () => {
  async function copiedTwice(dir: string, before: (baseline: string) => string): Promise<void> {
    await seedLevelDb(dir, generateRecords(60, [56, 97]));
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
      await migration.migrate();
      await writeFile(writtenPath(dir), before(await readFile(writtenPath(dir), 'utf8')));
      // A second copy writes nothing and still rewrites the baseline from the one it finds.
      await migration.migrate();
    } finally {
      await migration.close?.();
    }
  }

  it('reads a baseline printed whole by an older version and rewrites it one entry a line', async () => {
    const dir = tempDir();
    await copiedTwice(dir, (text) => `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    const text = await readFile(writtenPath(dir), 'utf8');
    expect(text.split('\n').filter((line) => /^ {4}"\d+-/.test(line))).toHaveLength(60);
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });

  it('rebuilds a baseline cut short mid-entry instead of failing or keeping half of it', async () => {
    const dir = tempDir();
    await copiedTwice(dir, (text) => text.slice(0, Math.floor(text.length / 2)));
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });

  it('removes the spill files a copy killed before its end left behind, and keeps none of its own', async () => {
    const dir = tempDir();
    const tmp = join(dir, '.deploystate', 'tmp');
    // A process that has exited: its pid names a spill folder nobody will finish.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const orphan = join(tmp, `records-${dead}-abc123`);
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, '0.tsv'), '"X"\tdigest\t1\n');
    await seedLevelDb(dir, generateRecords(20, [56]));
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
      await migration.migrate();
    } finally {
      await migration.close?.();
    }
    expect((await readdir(tmp)).filter((name) => name.startsWith('records-'))).toEqual([]);
  });
});
