// A state.json no command can read (cut short, edited by hand) beside a readable phase.json: before,
// every run stopped on MIGRATION_STATE_INVALID, deploy scripts' writes and an emergency rollback
// included. Now phase.json routes every run, and the file is kept aside, never overwritten.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { stateFiles } from '../src/paths.js';
import { demoMigration, putThroughStore, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-state-unreadable-');

describe('a state.json cut short while phase.json holds the phase', () => {
  it('deploy scripts write on, status and rollback run, and the file is kept aside', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    await migration.close();
    const cut = (await readFile(files.state, 'utf8')).slice(0, 300);
    await writeFile(files.state, cut);

    await putThroughStore(tempDir(), sampleRecord(97, 'AfterCut', 'bsctestnet', 1));
    const again = await Migration.open({ cwd: tempDir() });
    expect((await again.status()).phase).toBe('json-primary');
    const report = await again.rollback({ emergency: true });
    expect(report.from).toBe('json-primary');
    expect((await again.status()).phase).toBe('leveldb-only');
    await again.close();

    const store = createStateStore({ cwd: tempDir(), env: {} });
    expect((await store.get(97, 'AfterCut'))?.contractName).toBe('AfterCut');
    await store.close();
    const aside = (await readdir(files.stateDir)).filter((name) => name.startsWith('state.json.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(`${files.stateDir}/${aside[0]}`, 'utf8')).toBe(cut);
  });

  it('a state.json naming a key twice is kept aside by the next write as readers refuse it, never overwritten', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    await migration.close();
    const text = await readFile(files.state, 'utf8');
    // A merge resolved by keeping both lines: JSON.parse alone would take the last and pass.
    const twice = text.replace('{\n', '{\n  "phase": "leveldb-only",\n');
    expect(twice).not.toBe(text);
    await writeFile(files.state, twice);

    const again = await Migration.open({ cwd: tempDir() });
    const report = await again.rollback({ emergency: true });
    expect(report.from).toBe('json-primary');
    await again.close();
    const aside = (await readdir(files.stateDir)).filter((name) => name.startsWith('state.json.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(`${files.stateDir}/${aside[0]}`, 'utf8')).toBe(twice);
  });
});
