// Gates while a deploy script writes every 10 ms with a store per put that it never closes (a
// helper called per contract, as legacy code used its StateManager). Each store's share of the write
// fence outlived the put by the lease's idle time, and the next store took its own share before that
// ran out: the shares overlapped without end, and a gate waiting to take the fence exclusively
// failed with LOCKED after its whole wait.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acknowledgeAll, demoMigration, firstLine, runNode, useTempDir } from './helpers.js';
import type { Migration } from '../src/index.js';

const tempDir = useTempDir('migrator-per-call-writers-');

/** Runs `gate` while the per-call writer puts every 10 ms; returns what the writer reported. */
async function whileWriting(gate: () => Promise<unknown>): Promise<{ acks: number; errors: Record<string, number> }> {
  const control = join(tempDir(), 'control');
  await mkdir(control, { recursive: true });
  const writer = runNode('per-call-writer.mjs', [tempDir(), '97', 'bsctestnet', 'PerCall', '10', control]);
  try {
    expect(await firstLine(writer)).toBe('writing');
    // A few stores' worth of overlapping shares before the gate asks.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await gate();
  } finally {
    // Stopped and waited for however the gate ended: a writer still running would write into the
    // project while the test's folder is removed.
    await writeFile(join(control, 'stop'), '');
    await writer.done;
  }
  const { code, stdout, stderr } = await writer.done;
  expect(code, stderr).toBe(0);
  const match = /acks (\d+) errors (\{.*\})/.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return { acks: Number(match?.[1]), errors: JSON.parse(match?.[2] ?? '{}') as Record<string, number> };
}

describe('gates while a script writes with a store per put', () => {
  it('dual-write enable takes the fence (leveldb-only)', async () => {
    const migration = await demoMigration(tempDir());
    let enabled: Awaited<ReturnType<Migration['enableDualWrite']>> | undefined;
    const writer = await whileWriting(async () => {
      enabled = await migration.enableDualWrite();
    });
    expect(enabled?.phase).toBe('dual-write');
    expect(writer.errors).toEqual({});
    expect(writer.acks).toBeGreaterThan(1);
    await migration.close();
  }, 30_000);

  // In dual-write each store's drainer retried a drain that had found another one running by
  // waiting for it, holding the fence shared meanwhile: with a store per put, such holds overlapped
  // without end and verify (and rollback) failed with LOCKED.
  it('verify and rollback take the fence (dual-write)', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    let clean: boolean | undefined;
    let from: string | undefined;
    const writer = await whileWriting(async () => {
      // Long enough for the store-per-put drainers to find each other's drain running and retry.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      clean = (await migration.verify()).clean;
      from = (await migration.rollback()).from;
    });
    expect(clean).toBe(true);
    expect(from).toBe('dual-write');
    expect((await migration.status()).phase).toBe('leveldb-only');
    expect(writer.errors).toEqual({});
    await migration.close();
  }, 30_000);

  it('cut-over takes the fence (json-primary)', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const acknowledge = await acknowledgeAll(migration);
    let phase: string | undefined;
    const writer = await whileWriting(async () => {
      phase = (await migration.cutover({ acknowledge })).phase;
    });
    expect(phase).toBe('json-only');
    expect(writer.errors).toEqual({});
    await migration.close();
  }, 30_000);
});
