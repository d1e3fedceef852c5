import { expect, it } from 'vitest';
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

// The suite skips its close-and-reopen test for a store that does not declare itself persistent;
// a JSON file store must, or that test would pass without running.
it('declares itself persistent, so the conformance reopen test runs', () => {
  expect(new JsonFileStore({ dir: 'unused' }).capabilities.persistent).toBe(true);
});
