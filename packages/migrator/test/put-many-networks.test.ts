// A putMany through createStateStore() writes each network's records on their own: the networks
// side by side, a network's records in the order given. One network that cannot be written does
// not stop the others, and the call settles only once every network's writes have ended.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { resolvePaths } from '../src/paths.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-put-many-');

describe('putMany through createStateStore()', () => {
  it('writes the other networks when one cannot be written, names the one that failed, and keeps each network in order', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-only')).close();
    // A folder where ethereum's file would go: its write fails, NOT_A_FILE.
    const blocked = join(resolvePaths({ cwd: dir }).deployments, 'ethereum.json');
    await mkdir(blocked);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      const first = { ...sampleRecord(97, 'Twice', 'bsctestnet', 1), address: `0x${'1'.repeat(40)}` };
      const last = { ...sampleRecord(97, 'Twice', 'bsctestnet', 1), address: `0x${'2'.repeat(40)}` };
      await expect(
        store.putMany([sampleRecord(1, 'Blocked', 'ethereum', 1), first, sampleRecord(84532, 'Fine', 'basesepolia', 1), last]),
      ).rejects.toMatchObject({ code: 'NOT_A_FILE', file: blocked });
      // Settled after every network's writes: nothing of the call is still on its way.
      expect(await store.get(84532, 'Fine')).toMatchObject({ contractName: 'Fine' });
      // A key named twice in one network ends as its last record.
      expect((await store.get(97, 'Twice'))?.address).toBe(last.address);
    } finally {
      await store.close();
    }
  });
});
