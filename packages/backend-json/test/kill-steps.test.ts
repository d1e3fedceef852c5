// A writer killed between any two steps of a put (an old backup taken as the temp file, the new
// bytes written into it, the hook before the rename, the backup link, the rename, the folder sync)
// leaves the state file whole, old or new as the step says, and a backup set that restore can use.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLossless } from '@deploystate/core';
import { STATE_DIR } from '../src/index.js';
import { rec, storePerTest, withClockAhead } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/stop-at-step.mjs', import.meta.url));
const BEFORE = 4;
const setup = storePerTest();

/** Runs the child until it stops at `step`, then kills it with SIGKILL. */
async function killAt(dir: string, step: string): Promise<void> {
  const child = spawn(process.execPath, [CHILD, dir, step, String(BEFORE)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`stopped ${step}\n`)) resolve();
    });
    child.on('exit', () => reject(new Error(`the writer ended without stopping at ${step}: ${out}${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

async function tokenVersion(file: string): Promise<number> {
  const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, { timestamp: number }> };
  return Number(doc.records.Token?.timestamp) - 1_700_000_000_000;
}

describe('a writer killed between two steps of a put', () => {
  // [step, the version the file holds, the version restore brings back]. Killed after the backup
  // link but before the rename, the new version is complete, synced and kept: restore offers it as
  // the newest whole version, though it never replaced the file.
  it.each([
    ['recycle', BEFORE, BEFORE],
    ['write', BEFORE, BEFORE],
    ['before-replace', BEFORE, BEFORE],
    ['link', BEFORE, BEFORE],
    ['rename', BEFORE, BEFORE + 1],
    ['folder-sync', BEFORE + 1, BEFORE + 1],
  ])('stopped at %s: the file is version %i, whole, and restore brings back version %i', async (step, expected, restoredVersion) => {
    const { dir, open } = await setup();
    await killAt(dir, step);
    const file = join(dir, 'bscmainnet.json');
    expect(await tokenVersion(file)).toBe(expected);

    // The next store clears the dead writer's temp file (once it is old enough), reads the file and writes on.
    const next = await withClockAhead(() => open({ backups: 3 }));
    expect(await readdir(join(dir, STATE_DIR, 'tmp'))).toEqual([]);
    expect((await next.get(56, 'Token'))?.timestamp).toBe(1_700_000_000_000 + expected);

    const restored = await next.restore(56);
    expect(restored.version.kind).toBe('written');
    expect(await tokenVersion(file)).toBe(restoredVersion);

    // Writes go on, and every backup kept is a whole version: the one before this write brings
    // the file back to what the restore left.
    await next.put(rec(56, 'Token', { timestamp: 1_700_000_000_100 }));
    expect(await tokenVersion(file)).toBe(100);
    const backups = await next.listBackups(56);
    expect(backups.length).toBeGreaterThanOrEqual(2);
    for (const backup of backups) expect([BEFORE - 2, BEFORE - 1, BEFORE, BEFORE + 1, 100]).toContain(await tokenVersion(backup));
    // That version holds Token older than the file does: taken back only when asked to.
    await expect(next.restore(56, backups[1])).rejects.toMatchObject({ code: 'STORES_DIFFER', data: { older: ['56-Token'] } });
    await next.restore(56, backups[1], { discardNewer: true });
    expect(await tokenVersion(file)).toBe(restoredVersion);
  });
});
