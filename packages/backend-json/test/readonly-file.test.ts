// A state file the user made read-only keeps its mode on every write, and so do its backups (hard
// links). The oldest backup, reused as the next temp file, then cannot be opened for writing: the
// write must make a fresh temp file instead of failing and leaving the reused one behind.
import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';

const WRITER = fileURLToPath(new URL('./fixtures/readonly-writer.mjs', import.meta.url));

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
});
