// A state file keeps the permission bits the user gave it on every write. A read-only one: its
// backups (hard links) are read-only too, and the oldest backup, reused as the next temp file, then
// cannot be opened for writing: the write makes a fresh temp file instead of failing and leaving the
// reused one behind. A chmod between two puts of one store is kept, though the second put prints
// from what the store last wrote without reading the file first.
import { execFile } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { rec, storePerTest } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/readonly-writer.mjs', import.meta.url));
const setup = storePerTest();
const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('a read-only state file', () => {
  it('takes every put, keeps its mode, and leaves no temp file behind', async () => {
    const dir = await makeTempDir('deploystate-readonly-');
    onTestFinished(() => removeTempDir(dir));
    // The child drops to an unprivileged user when run as root: it must be able to write here.
    await chmod(dir, 0o777);
    const { stdout } = await promisify(execFile)(process.execPath, [WRITER, dir, '7']);
    const seen = JSON.parse(stdout.trim().split('\n').pop() as string) as { failures: string[]; temps: number; names: string[]; mode: string };
    expect(seen.failures).toEqual([]);
    expect(seen.temps).toBe(0);
    expect(seen.names).toEqual(['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);
    expect(seen.mode).toBe('444');
  });

  it('a chmod between two puts is kept by the second, right after the first and after a pause', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    for (const [i, pauseMs] of [0, 300].entries()) {
      await store.put(rec(56, `A${i}`));
      const mode = i === 0 ? 0o600 : 0o640;
      await chmod(file, mode);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      await store.put(rec(56, `B${i}`));
      expect(await modeOf(file), `pause ${pauseMs}`).toBe(mode);
      expect((await store.get(56, `B${i}`))?.contractName).toBe(`B${i}`);
    }
  });
});
