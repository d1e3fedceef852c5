// Data that cannot be read is never a mere difference: an unreadable JSON state file stops
// compare, verify and migrate with CORRUPTED naming it, and LevelDB values that do not decode are
// reported by key instead of vanishing from both sides of the comparison.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { Migration } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-unreadable-');

// Each damage, and the code the store's iterate (and so status, the rollback and the report) gives the file.
const damages: Array<[string, (text: string) => string, string]> = [
  ['truncated', (text) => text.slice(0, Math.floor(text.length / 2)), 'NOT_JSON'],
  ['not JSON', () => 'this is not json\n', 'NOT_JSON'],
  ['empty', () => '', 'EMPTY_FILE'],
  ['a newer schemaVersion', (text) => text.replace(/"schemaVersion": \d+/, '"schemaVersion": 99'), 'UNSUPPORTED_SCHEMA_VERSION'],
  ['another chain', (text) => text.replace(/"chainId": 97/, '"chainId": 56'), 'CHAIN_MISMATCH'],
];

async function copied(): Promise<{ migration: Migration; file: string }> {
  const migration = await demoMigration(tempDir(), 'copied');
  expect((await migration.verify()).clean).toBe(true);
  return { migration, file: join(migration.paths.deployments, 'bsctestnet.json') };
}

describe('an unreadable JSON state file', () => {
  it.each(damages)('%s: compare and verify fail with CORRUPTED naming the file, and the gate closes', async (_name, damage, code) => {
    const { migration, file } = await copied();
    const text = await readFile(file, 'utf8');
    const damaged = damage(text);
    expect(damaged).not.toBe(text);
    await writeFile(file, damaged);
    await expect(migration.compare()).rejects.toMatchObject({ code: 'CORRUPTED', file });
    const failed = await migration.verify().catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'CORRUPTED', file });
    // Where it stops parsing, as validate and the store's own read say it.
    if (code === 'NOT_JSON') {
      expect((failed as { position?: unknown }).position).toEqual({ line: expect.any(Number), column: expect.any(Number) });
      expect(String((failed as Error).message)).toMatch(/NOT_JSON at line \d+, column \d+/);
    }
    // The verify that failed is evidence too: an earlier clean verify no longer opens promote.
    const status = await migration.status();
    expect(status.state.lastVerify?.clean).toBe(false);
    await expect(migration.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    // status names it (before, it showed nothing while every script's read of the chain failed),
    // and dual-write verify no longer passes over it (the drain fails on it).
    expect(status.unreadableFiles).toEqual([expect.objectContaining({ file, chainId: 97, code })]);
    const probe = await migration.verifyDualWrite();
    expect(probe.ready).toBe(false);
    expect(probe.checks.find((c) => c.name === 'json readable')).toMatchObject({ ok: false, detail: expect.stringContaining(file) });
  });

  it('status and dual-write verify find nothing unreadable in files that read', async () => {
    const { migration } = await copied();
    expect((await migration.status()).unreadableFiles).toBeUndefined();
    expect((await migration.verifyDualWrite()).checks.find((c) => c.name === 'json readable')).toMatchObject({ ok: true });
  });

  it.each(damages)('%s: migrate stops with CORRUPTED naming the file and leaves its bytes alone', async (_name, damage) => {
    const { migration, file } = await copied();
    const damaged = damage(await readFile(file, 'utf8'));
    await writeFile(file, damaged);
    await expect(migration.migrate()).rejects.toMatchObject({ code: 'CORRUPTED', file });
    expect(await readFile(file, 'utf8')).toBe(damaged);
  });

  it('migrate replaces a record entry that is not a record, listing it with the backup that keeps it', async () => {
    const { migration, file } = await copied();
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    const name = Object.keys(doc.records)[0] as string;
    (doc.records[name] as Record<string, unknown>).chainId = 'ninety-seven';
    await writeFile(file, stringifyLossless(doc, 2));
    const copy = await migration.migrate();
    expect(copy.overwritten.map((o) => o.key)).toEqual([`97-${name}`]);
    expect(await readFile(copy.overwritten[0]!.backup, 'utf8')).toContain('ninety-seven');
    expect((await migration.verify()).clean).toBe(true);
  });

  it('a record entry that is not a record fails compare with CORRUPTED naming the file and the key', async () => {
    const { migration, file } = await copied();
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    const name = Object.keys(doc.records)[0] as string;
    (doc.records[name] as Record<string, unknown>).chainId = 'ninety-seven';
    await writeFile(file, stringifyLossless(doc, 2));
    await expect(migration.compare()).rejects.toMatchObject({ code: 'CORRUPTED', file, key: `97-${name}` });
    await expect(migration.verify()).rejects.toMatchObject({ code: 'CORRUPTED', file, key: `97-${name}` });
  });
});

describe('LevelDB values that do not decode', () => {
  it('are reported by key and make the comparison unequal until they are known as unmigratable', async () => {
    await writeLegacyStore(join(tempDir(), 'leveldb'), [
      { key: '56-Good', value: sampleRecord(56, 'Good', 'bscmainnet') },
      { key: '56-Broken', raw: '{"contractName":"Broken",' },
    ]);
    const migration = await Migration.open({ cwd: tempDir() });
    const before = await migration.compare();
    expect(before.unreadable.map((u) => [u.side, u.key, u.known])).toEqual([['leveldb', '56-Broken', false]]);
    expect(before.equal).toBe(false);
    await migration.enableDualWrite();
    await migration.migrate({ exclude: ['56-Broken'] });
    const verify = await migration.verify();
    expect(verify.comparison.unreadable.map((u) => [u.side, u.key, u.known])).toEqual([['leveldb', '56-Broken', true]]);
    expect(verify.clean).toBe(true);
  });
});
