import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

// The project's own files for the suite's two busiest networks, in tabs and CRLF (a formatter and a
// Windows checkout): the store behaves the same on them, and whatever the suite did, they end in it.
const STYLED = { 'bscmainnet.json': 56, 'bsctestnet.json': 97 };
stateStoreConformance({
  name: 'json (network files in tabs and CRLF)',
  async create() {
    const dir = await makeTempDir('deploystate-json-styled-');
    for (const [name, chainId] of Object.entries(STYLED)) {
      const legacy = { network: name.replace('.json', ''), chainId, deployer: '0xabc' };
      writeFileSync(join(dir, name), `${JSON.stringify(legacy, null, '\t')}\n`.replace(/\n/g, '\r\n'));
    }
    return {
      store: new JsonFileStore({ dir }),
      reopen: async () => new JsonFileStore({ dir }),
      cleanup: async () => {
        try {
          for (const name of Object.keys(STYLED)) {
            const file = join(dir, name);
            if (!existsSync(file)) continue;
            const lines = readFileSync(file, 'utf8').split('\r\n');
            expect(lines.at(-1), name).toBe('');
            for (const line of lines) expect(line, name).toMatch(/^\t*[^ \t\r\n]|^$/);
          }
        } finally {
          await removeTempDir(dir);
        }
      },
    };
  },
});

// The suite skips its close-and-reopen test for a store that does not declare itself persistent;
// a JSON file store must, or that test would pass without running.
it('declares itself persistent, so the conformance reopen test runs', () => {
  expect(new JsonFileStore({ dir: 'unused' }).capabilities.persistent).toBe(true);
});
