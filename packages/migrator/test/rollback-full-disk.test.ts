// A rollback on a disk that is really full (a small tmpfs, where this host lets the test mount one:
// root). written.json, the record of what the store last wrote to each network file, is rewritten
// by the rollback's check of the files once deploy scripts have written since it was recorded: at
// 100k records it is about 19 MB. Before: with less room than that left, the rollback stopped with
// DISK_FULL naming written.json (at its first check; at the one under the fence it would have been
// left rolling-back, every write refused), though the carry-back itself needed a few kilobytes.
import { readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRecords, NetworkRegistry, type DeploymentRecord } from '@deploystate/core';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { resolvePaths, stateFiles } from '../src/index.js';
import { forgetBaseline } from '../src/coowned.js';
import { Journal } from '../src/journal.js';
import { sharedStateFile } from '../src/shared-state.js';
import { copyOnce, jsonOnlyWith, putThroughStore, seedLevelDb } from './helpers.js';

const disk = mountSmallTmpfs('16m', 'deploystate-rollback-full-');

afterAll(() => {
  if (disk !== undefined) unmountTmpfs(disk);
});

/** Fills the file system of `dir` until `leaveBytes` (about) are free. */
async function fillUntil(dir: string, leaveBytes: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  await writeFile(join(dir, 'fill'), Buffer.alloc(Math.max(0, free - leaveBytes)));
}

const upgraded = (record: DeploymentRecord, i: number): DeploymentRecord => ({
  ...record,
  address: `0x${(0xabc000 + i).toString(16).padStart(40, '0')}`,
  timestamp: Number(record.timestamp) + 1000 + i,
});

describe('rollback on a full disk', () => {
  it.skipIf(disk === undefined)('carries back and switches to leveldb-only with less room left than written.json needs', async () => {
    const dir = join(disk as string, 'project');
    const records = generateRecords(2000);
    const migration = await jsonOnlyWith(dir, records);
    try {
      // Deploy scripts write in json-only: the journal now holds writes written.json has not folded.
      const written = records.slice(0, 5).map(upgraded);
      for (const record of written) await putThroughStore(dir, record);
      const files = stateFiles(resolvePaths({ cwd: dir }));
      const baseline = join(files.stateDir, 'written.json');
      const baselineBytes = (await stat(baseline)).size;
      // state.json and phase.json hold LevelDB's digests as the cut-over recorded them (about 100
      // bytes a record): each rewrite of them needs that room, written.json half as much again.
      const stateBytes = Math.max((await stat(files.state)).size, (await stat(sharedStateFile(files.stateDir))).size);
      expect(baselineBytes).toBeGreaterThan(stateBytes + 64 * 1024);
      // Less room than a new written.json takes, more than the carry-back and its state need.
      await fillUntil(disk as string, stateBytes + Math.floor((baselineBytes - stateBytes) / 2));

      const report = await migration.rollback({ emergency: true });
      expect(report.from).toBe('json-only');
      expect((await migration.status()).state.phase).toBe('leveldb-only');
      const leveldb = new LevelDbStore({ path: resolvePaths({ cwd: dir }).leveldb });
      await leveldb.open();
      try {
        for (const record of written) expect(await leveldb.get(record.chainId, record.contractName)).toEqual(record);
      } finally {
        await leveldb.close();
      }
      // The record of what the store wrote to JSON is forgotten, as after any rollback, and the
      // new written.json the check could not write left no temp file behind.
      expect(Object.keys((JSON.parse(await readFile(baseline, 'utf8')) as { written: object }).written)).toEqual([]);
      expect(await readdir(join(files.stateDir, 'tmp'))).toEqual([]);
    } finally {
      await migration.close();
      await rm(join(disk as string, 'fill'), { force: true });
    }
  });

  it.skipIf(disk === undefined)(
    'forgets written.json with no room at all: the old file goes, the emptied one takes its place',
    async () => {
      const dir = join(disk as string, 'forget');
      await seedLevelDb(dir, generateRecords(200));
      await copyOnce(dir);
      const files = stateFiles(resolvePaths({ cwd: dir }));
      const baseline = join(files.stateDir, 'written.json');
      expect(Object.keys((JSON.parse(await readFile(baseline, 'utf8')) as { written: object }).written)).toHaveLength(200);
      await fillUntil(disk as string, 0);
      const journal = new Journal(files.journal, files.journalLock);
      let lastSeq: number;
      try {
        await forgetBaseline({
          stateDir: files.stateDir,
          deployments: resolvePaths({ cwd: dir }).deployments,
          registry: new NetworkRegistry(),
          journal,
        });
        lastSeq = await journal.lastSeq();
      } finally {
        await journal.close();
        await rm(join(disk as string, 'fill'), { force: true });
      }
      // Emptied, and folded as far as the journal goes: a later check starts after it, not from the files.
      const after = JSON.parse(await readFile(baseline, 'utf8')) as { written: object; scannedSeq: number };
      expect(after.written).toEqual({});
      expect(lastSeq).toBeGreaterThan(0);
      expect(after.scannedSeq).toBe(lastSeq);
    },
  );
});
