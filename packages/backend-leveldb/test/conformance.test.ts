import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeTempDir, removeTempDir, stateStoreConformance } from '@deploystate/core/testing';
import { LevelDbStore } from '../src/index.js';

for (const [name, idleCloseMs] of [
  ['leveldb (default idle close)', undefined],
  ['leveldb (kept open)', 0],
  ['leveldb (idle close 1 ms)', 1],
] as const) {
  stateStoreConformance({
    name,
    async create() {
      const dir = await makeTempDir('deploystate-leveldb-');
      const path = join(dir, 'leveldb');
      const make = (): LevelDbStore => new LevelDbStore({ path, create: true, ...(idleCloseMs !== undefined && { idleCloseMs }) });
      return { store: make(), reopen: async () => make(), cleanup: () => removeTempDir(dir) };
    },
  });
}

// The suite skips its close-and-reopen test for a store that does not declare itself persistent;
// a LevelDB store must, or that test would pass without running.
it('declares itself persistent, so the conformance reopen test runs', () => {
  expect(new LevelDbStore({ path: join('unused', 'leveldb') }).capabilities.persistent).toBe(true);
});
