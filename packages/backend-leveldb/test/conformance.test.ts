import { join } from 'node:path';
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
