// A machine where LevelDB's native binding cannot load: the store deploy scripts use fails its open
// in every phase that reads or writes LevelDB (before a script acts on chain), and works in
// json-only, which never touches LevelDB. Each case runs in a child process whose `level` cannot load.
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { MigrationPhase } from '../src/index.js';
import { emptyProjectIn, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-no-level-');

async function openWithoutLevel(phase: MigrationPhase): Promise<{ opened: boolean; put: boolean; code: string | null }> {
  const dir = tempDir();
  await emptyProjectIn(dir, phase);
  const exit = await runNode('open-without-level.mjs', [dir]).done;
  expect(exit.code, exit.stderr).toBe(0);
  return JSON.parse(exit.stdout.trim().split('\n').pop() ?? '{}') as { opened: boolean; put: boolean; code: string | null };
}

describe('LevelDB that cannot load', () => {
  it.each(['leveldb-only', 'dual-write', 'json-primary'] as const)('fails the open in %s with BACKEND_UNAVAILABLE, before any write', async (phase) => {
    expect(await openWithoutLevel(phase)).toEqual({ opened: false, put: false, code: 'BACKEND_UNAVAILABLE' });
    // Nothing was written to JSON either.
    expect(await readdir(`${tempDir()}/deployments`)).toEqual([]);
  });

  it('is no obstacle in json-only: the store opens and writes', async () => {
    expect(await openWithoutLevel('json-only')).toEqual({ opened: true, put: true, code: null });
  });
});
