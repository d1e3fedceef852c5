// A put on the route its store last read (JSON primary) reads the phase again under the write fence
// only when one stat shows the route unchanged; a rollback begun since is waited for as every write
// waits for one (about 2 s, then WRITES_REFUSED), never behind the fence the carry-back holds.
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { acquireLock, createStateStore } from '../src/index.js';
import { ROLLING_BACK_WAIT_MS } from '../src/write-protocol.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-put-known-route-');

describe('a put on the route its store last read', () => {
  it('finds a rollback begun since and is refused after the rollback wait, not kept behind the fence', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.close();
    const store = createStateStore({ cwd: tempDir(), env: {} });
    let outcome: unknown;
    let waited = 0;
    try {
      await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
      expect(store.phase).toBe('json-primary');
      // Another process began a rollback: phase.json says so, and its carry-back holds the fence.
      const edit = await runNode('edit-phase.mjs', [
        tempDir(),
        'pull',
        JSON.stringify({
          phase: 'rolling-back',
          rollback: { from: 'json-primary', startedAt: new Date().toISOString(), emergency: false, carriedBack: false },
        }),
      ]).done;
      expect(edit.code).toBe(0);
      const fence = await acquireLock(stateFiles(resolvePaths({ cwd: tempDir() })).fence, { purpose: 'a carry-back in this test' });
      try {
        const asked = Date.now();
        outcome = await store.putContract(97, sampleRecord(97, 'During', 'bsctestnet', 2)).then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        );
        waited = Date.now() - asked;
      } finally {
        await fence.release();
      }
    } finally {
      await store.close();
    }
    expect(outcome).toBe('WRITES_REFUSED');
    // The default wait the README promises (the other tests of the refusal shorten it).
    expect(waited).toBeGreaterThanOrEqual(ROLLING_BACK_WAIT_MS);
  });
});
