// A put on the fence its store holds already (a deploy script's puts, every one after its first)
// uses it as it is only when run() would: no gate waits for it, and its lock file is still the one
// held. Otherwise the put takes the fence afresh, after the gate, and journals nothing meanwhile.
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sampleRecord, sleep } from '@deploystate/core';
import { acquireLock, createStateStore, Journal } from '../src/index.js';
import { emptyProjectIn, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-put-held-fence-');

const intents = async (journal: string): Promise<number> =>
  (await new Journal(journal).read()).entries.filter((e) => e.type === 'intent').length;

describe('a put on the fence its store holds', () => {
  it('lets a gate that waits go first while puts keep coming, and journals nothing while the gate holds the fence', async () => {
    const { files } = await emptyProjectIn(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const MAX_PUTS = 300;
    let done = 0;
    let gateHeld = false;
    try {
      await store.putContract(97, sampleRecord(97, 'First', 'bsctestnet', 0));
      done++;
      // Puts closer together than the fence's idle time: the store never lets it go idle.
      const writer = (async () => {
        for (let i = 1; i < MAX_PUTS && !gateHeld; i++) {
          await store.putContract(97, sampleRecord(97, `P${i}`, 'bsctestnet', i));
          done++;
          await sleep(2);
        }
      })();
      const gate = await acquireLock(files.fence, { timeoutMs: 30_000, purpose: 'a gate in this test' });
      gateHeld = true;
      const putsWhenGateGotIt = done;
      let journalled: number;
      try {
        // A put that started meanwhile waits for the gate: no intent of it in the journal yet.
        await sleep(30);
        journalled = await intents(files.journal);
      } finally {
        await gate.release();
      }
      await writer;
      expect(putsWhenGateGotIt).toBeLessThan(MAX_PUTS);
      expect(journalled).toBe(putsWhenGateGotIt);
    } finally {
      await store.close();
    }
  });

  it('takes the fence afresh once its lock file was replaced, so a gate holding the new one is waited for', async () => {
    const { files } = await emptyProjectIn(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
      // Within the fence's idle time: the store still holds the lock on the file removed here.
      await rm(files.fence);
      const gate = await acquireLock(files.fence, { timeoutMs: 0, purpose: 'a gate in this test' });
      let put: Promise<string> | undefined;
      let journalled: number;
      try {
        put = store.putContract(97, sampleRecord(97, 'During', 'bsctestnet', 2)).then(() => 'stored');
        await sleep(50);
        journalled = await intents(files.journal);
      } finally {
        await gate.release();
      }
      expect(journalled).toBe(1);
      expect(await put).toBe('stored');
      expect(await intents(files.journal)).toBe(2);
    } finally {
      await store.close();
    }
  });
});
