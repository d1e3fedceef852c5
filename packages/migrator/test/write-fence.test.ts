// The write fence as a deploy script's store holds it: kept between back-to-back writes (one take of
// the kernel lock for many puts), yet a gate still gets it, and a put that waited for the gate is
// routed by the phase the gate left.
import { describe, expect, it } from 'vitest';
import { hasWaiters, isLockHeld } from '@deploystate/backend-json/lock';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { acquireLock, createStateStore, initialState, writeState } from '../src/index.js';
import { Journal } from '../src/journal.js';
import { emptyProjectIn, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-write-fence-');

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5_000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('the write fence of a store', () => {
  it('stays held between back-to-back puts and is released on close', async () => {
    const { files } = await emptyProjectIn(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'A', 'bsctestnet', 1));
      expect(isLockHeld(files.fence)).toBe(true);
      await Promise.all([2, 3, 4].map((i) => store.putContract(97, sampleRecord(97, `P${i}`, 'bsctestnet', i))));
      expect(isLockHeld(files.fence)).toBe(true);
    } finally {
      await store.close();
    }
    expect(isLockHeld(files.fence)).toBe(false);
  });

  it('a gate gets the fence from an idle store; a put made meanwhile waits for it and follows the phase it switched to', async () => {
    const { files, paths } = await emptyProjectIn(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
      // No further put: only the lease's idle end can let the gate in.
      const fence = await acquireLock(files.fence, { timeoutMs: 5_000, purpose: 'a gate in this test' });
      let put: Promise<void> | undefined;
      try {
        put = store.putContract(97, sampleRecord(97, 'During', 'bsctestnet', 2));
        await until(() => hasWaiters(files.fence), 'the put to wait for the gate');
        const journal = await new Journal(files.journal).read();
        expect(journal.entries.some((e) => 'key' in e && e.key === '97-During')).toBe(false);
        // The gate switches the phase before it lets the fence go.
        await writeState(files, { ...initialState(), phase: 'json-primary', dualWriteSinceSeq: 0 });
      } finally {
        await fence.release();
      }
      await put;
      expect(store.phase).toBe('json-primary');
    } finally {
      await store.close();
    }
    // json-primary writes LevelDB after JSON: the put that waited wrote both.
    const leveldb = new LevelDbStore({ path: paths.leveldb });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'During')).not.toBeNull();
      expect(await leveldb.get(97, 'Before')).toBeNull();
    } finally {
      await leveldb.close();
    }
  });
});
