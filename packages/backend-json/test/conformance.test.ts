import { makeTempDir, removeTempDir, stateStoreConformance } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';

for (const cache of [true, false]) {
  stateStoreConformance({
    name: `json (cache ${cache ? 'on' : 'off'})`,
    async create() {
      const dir = await makeTempDir('deploystate-json-');
      return {
        store: new JsonFileStore({ dir, cache }),
        reopen: async () => new JsonFileStore({ dir, cache }),
        cleanup: () => removeTempDir(dir),
      };
    },
  });
}
