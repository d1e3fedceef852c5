// Two deploy scripts writing one network in json-primary take turns (write-protocol.ts): the turn's
// holder hands LevelDB over as it lets the turn go when another process waits for it, so the next
// holder's LevelDB write does not wait out the holder's idle poll.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHolders, sampleRecord, sleep } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { demoMigration, firstLine, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-jp-turns-');

describe('json-primary write turns', () => {
  it.skipIf(process.platform !== 'linux').each(['put', 'putMany'] as const)(
    'a %s that ends its turn while another process waits for the turn has let LevelDB go when it returns',
    async (op) => {
      const dir = tempDir();
      const migration = await demoMigration(dir, 'json-primary');
      const store = createStateStore({ cwd: dir, env: {} });
      // LevelDB's lock as the kernel lists it: whether this process still holds the folder.
      const holdsLevelDb = (): boolean => lockHolders(join(migration.paths.leveldb, 'LOCK')).some((holder) => holder.pid === process.pid);
      const waiter = runNode('wait-for-turn.mjs', [migration.paths.deployments, '97']);
      try {
        expect(await firstLine(waiter)).toBe('ready');
        if (op === 'put') await store.putContract(97, sampleRecord(97, 'Turned', 'bsctestnet'));
        else await store.putMany([sampleRecord(97, 'Turned', 'bsctestnet'), sampleRecord(97, 'TurnedToo', 'bsctestnet')]);
        expect(holdsLevelDb()).toBe(false);
        expect((await store.getContract(97, 'Turned'))?.contractName).toBe('Turned');
      } finally {
        waiter.process.kill();
        await waiter.done;
        await store.close();
        await migration.close();
      }
    },
  );

  // The batch takes the network's turn before its JSON write, as a put does: another script's write
  // of the network (its JSON write through its LevelDB write and undo) is never interleaved with it.
  it('a putMany writes nothing of a network whose turn another process holds, until it lets the turn go', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const holder = runNode('hold-turn.mjs', [migration.paths.deployments, '97']);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      expect(await firstLine(holder)).toBe('ready');
      const writing = store.putMany([sampleRecord(97, 'Waited', 'bsctestnet'), sampleRecord(56, 'Elsewhere', 'bscmainnet')]);
      await sleep(300);
      expect(readFileSync(file, 'utf8')).not.toContain('Waited');
      holder.process.kill();
      await holder.done;
      await writing;
      expect(readFileSync(file, 'utf8')).toContain('Waited');
      expect((await store.getContract(56, 'Elsewhere'))?.contractName).toBe('Elsewhere');
    } finally {
      holder.process.kill();
      await store.close();
      await migration.close();
    }
  });
});
