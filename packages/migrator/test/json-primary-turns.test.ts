// Two deploy scripts writing one network in json-primary take turns (write-protocol.ts): the turn's
// holder hands LevelDB over as it lets the turn go when another process waits for it, so the next
// holder's LevelDB write does not wait out the holder's idle poll.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHolders, sampleRecord } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { demoMigration, firstLine, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-jp-turns-');

describe('json-primary write turns', () => {
  it.skipIf(process.platform !== 'linux')('a put that ends its turn while another process waits for the turn has let LevelDB go when it returns', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    const store = createStateStore({ cwd: dir, env: {} });
    // LevelDB's lock as the kernel lists it: whether this process still holds the folder.
    const holdsLevelDb = (): boolean => lockHolders(join(migration.paths.leveldb, 'LOCK')).some((holder) => holder.pid === process.pid);
    const waiter = runNode('wait-for-turn.mjs', [migration.paths.deployments, '97']);
    try {
      expect(await firstLine(waiter)).toBe('ready');
      await store.putContract(97, sampleRecord(97, 'Turned', 'bsctestnet'));
      expect(holdsLevelDb()).toBe(false);
      expect((await store.getContract(97, 'Turned'))?.contractName).toBe('Turned');
    } finally {
      waiter.process.kill();
      await waiter.done;
      await store.close();
    }
  });
});
