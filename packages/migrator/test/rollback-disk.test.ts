// A rollback needs room where LevelDB lives for the records it carries back: readiness says so when
// the disk is that full (the free space the file system reports is shrunk here, as on a full disk),
// and the rollback it gates is refused before anything is written.
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { generateRecords } from '@deploystate/core';
import { stateFiles } from '../src/index.js';
import { updateState } from '../src/state.js';
import { demoMigration, jsonOnlyWith, useTempDir } from './helpers.js';

const disk = vi.hoisted(() => ({ freeBytes: Number.POSITIVE_INFINITY }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    statfs: async (path: string) => {
      const real = await actual.statfs(path);
      return Number.isFinite(disk.freeBytes) ? { ...real, bavail: Math.floor(disk.freeBytes / real.bsize) } : real;
    },
  };
});

const tempDir = useTempDir('migrator-rollback-disk-');

describe('rollback on a full disk', () => {
  it('readiness fails its disk space check naming the folder, and the rollback is refused before it begins', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const ready = await migration.rollbackReadiness();
    expect(ready.ready).toBe(true);
    expect(ready.checks.find((c) => c.name === 'disk space')?.ok).toBe(true);

    disk.freeBytes = 64 * 1024;
    try {
      const full = await migration.rollbackReadiness();
      expect(full.ready).toBe(false);
      expect(full.checks.find((c) => c.name === 'disk space')).toMatchObject({
        ok: false,
        detail: expect.stringContaining(migration.paths.leveldb),
      });
      await expect(migration.rollback()).rejects.toMatchObject({ code: 'GATE_FAILED' });
      // Refused before it began: no rollback recorded, the phase as it was.
      const { state } = await migration.status();
      expect(state.phase).toBe('json-only');
      expect(state.rollback ?? null).toBeNull();
    } finally {
      disk.freeBytes = Number.POSITIVE_INFINITY;
    }
    expect((await migration.rollback()).from).toBe('json-only');
  });

  // A rollback that stopped part-way (the disk filled during it) leaves the phase rolling-back: the
  // readiness then skipped the disk check (and the JSON one) and said ready, and the rollback it
  // gated failed on the full disk again.
  it('in rolling-back, readiness still checks the room the carry-back from json-only needs', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await updateState(stateFiles(migration.paths), (s) => {
      s.rollback = { from: 'json-only', startedAt: new Date().toISOString(), emergency: true, carriedBack: false };
      s.phase = 'rolling-back';
    });
    // Room for the margin alone (1 MiB), not for the network files carried back beside it.
    disk.freeBytes = 1024 * 1024 + 4096;
    try {
      const full = await migration.rollbackReadiness();
      expect(full.ready).toBe(false);
      expect(full.checks.find((c) => c.name === 'disk space')).toMatchObject({ ok: false });
      expect(full.checks.map((c) => c.name)).toContain('json readable');
    } finally {
      disk.freeBytes = Number.POSITIVE_INFINITY;
    }
    const room = await migration.rollbackReadiness();
    expect(room.checks.find((c) => c.name === 'state readable')?.detail).toBe('phase rolling-back (from json-only)');
    expect((await migration.rollback()).from).toBe('json-only');
  });

  // From the cut-over on, state.json and phase.json hold LevelDB's digest of every record, and the
  // rollback rewrites each whole beside the old one: readiness said ready with room for the network
  // files and the margin alone, and the rollback then stopped on DISK_FULL naming state.json.
  it('counts the room a rewrite of the state files takes', async () => {
    const migration = await jsonOnlyWith(tempDir(), generateRecords(400));
    try {
      const files = stateFiles(migration.paths);
      const sizeOf = async (file: string): Promise<number> => (await stat(file)).size;
      let carried = 0;
      for (const name of await readdir(migration.paths.deployments))
        if (name.endsWith('.json')) carried += await sizeOf(join(migration.paths.deployments, name));
      const rewrite = Math.max(await sizeOf(files.state), await sizeOf(join(files.stateDir, 'phase.json')));
      const { bsize } = await statfs(migration.paths.leveldb);
      // Several blocks: the check cannot pass or fail by rounding alone.
      expect(rewrite).toBeGreaterThan(4 * bsize);
      const need = carried + 1024 * 1024 + rewrite;
      disk.freeBytes = need - 2 * bsize;
      const short = await migration.rollbackReadiness();
      expect(short.checks.find((c) => c.name === 'disk space')).toMatchObject({
        ok: false,
        detail: expect.stringContaining(migration.paths.leveldb),
      });
      disk.freeBytes = need + bsize;
      expect((await migration.rollbackReadiness()).checks.find((c) => c.name === 'disk space')?.ok).toBe(true);
    } finally {
      disk.freeBytes = Number.POSITIVE_INFINITY;
      await migration.close();
    }
  });
});
