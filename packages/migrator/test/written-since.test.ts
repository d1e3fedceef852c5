// Reading the sides while a deploy script writes: verify and cut-over hold the fence only at a
// quiet point, so a write made while they read is pending (never a difference) and waits a moment,
// not for the whole read; cut-over re-checks exactly those keys under the fence before it switches.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, type Migration } from '../src/index.js';
import { resolvePaths } from '../src/paths.js';
import { ReadOnlySides } from '../src/read-only.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-written-since-');

async function acknowledgeAll(migration: Migration): Promise<string[]> {
  const analysis = await migration.analyze();
  return [...new Set(analysis.findings.filter((f) => f.severity !== 'info').map((f) => f.key ?? f.code))];
}

/** Runs `work` with `during` called once, right before the first read of the JSON side (after the LevelDB snapshot). */
async function whileJsonIsRead<T>(during: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const json = ReadOnlySides.prototype.json;
  let done = false;
  ReadOnlySides.prototype.json = async function (this: ReadOnlySides) {
    if (!done) {
      done = true;
      await during();
    }
    return json.call(this);
  };
  try {
    return await work();
  } finally {
    ReadOnlySides.prototype.json = json;
  }
}

async function jsonOnlyRecord(dir: string, name: string): Promise<void> {
  const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, cache: false });
  await json.open();
  await json.put({ ...sampleRecord(97, name, 'bsctestnet', 9), timestamp: 1_900_000_000_000 });
  await json.close();
}

describe('a write while the sides are read', () => {
  it('is pending for verify, not a difference; a difference on a key nobody wrote since is still one', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    await jsonOnlyRecord(dir, 'OnlyInJson');
    const writer = createStateStore({ cwd: dir, env: {} });
    let report;
    try {
      // The verify holds no fence while it reads: this put would wait for it otherwise, and LOCKED.
      report = await whileJsonIsRead(
        () => writer.putContract(97, sampleRecord(97, 'DuringVerify', 'bsctestnet', 7)),
        () => migration.verify(),
      );
    } finally {
      await writer.close();
    }
    expect(report.comparison.pending).toEqual(['97-DuringVerify']);
    expect(report.comparison.onlyRight.map((e) => e.key)).toEqual(['97-OnlyInJson']);
    expect(report.clean).toBe(false);
  });

  it('cut-over re-checks the keys written during its verify under the fence: equal ones are recorded with LevelDB, a differing one refuses', async () => {
    const equal = join(tempDir(), 'equal');
    let migration: Migration = await demoMigration(equal, 'json-primary');
    let writer = createStateStore({ cwd: equal, env: {} });
    const acknowledge = await acknowledgeAll(migration);
    try {
      const report = await whileJsonIsRead(
        () => writer.putContract(97, sampleRecord(97, 'DuringCutover', 'bsctestnet', 8)),
        () => migration.cutover({ acknowledge }),
      );
      expect(report.verify.comparison.pending).toEqual(['97-DuringCutover']);
    } finally {
      await writer.close();
    }
    const status = await migration.status();
    expect(status.phase).toBe('json-only');
    expect((await migration.verify()).leveldbSinceCutover?.changed).toBe(false);

    // A key written during the verify whose LevelDB side then differs (a write LevelDB lost) is
    // caught by the re-check, named, and the phase stays.
    const differs = join(tempDir(), 'differs');
    migration = await demoMigration(differs, 'json-primary');
    writer = createStateStore({ cwd: differs, env: {} });
    try {
      const acks = await acknowledgeAll(migration);
      const cutover = whileJsonIsRead(
        async () => {
          await writer.putContract(97, sampleRecord(97, 'LostInLevelDb', 'bsctestnet', 8));
          await jsonOnlyRecord(differs, 'LostInLevelDb');
        },
        () => migration.cutover({ acknowledge: acks }),
      );
      await expect(cutover).rejects.toMatchObject({ code: 'GATE_FAILED', data: { differingKeys: ['97-LostInLevelDb'] } });
    } finally {
      await writer.close();
    }
    expect((await migration.status()).phase).toBe('json-primary');
  });
});
