// The wait a store makes before reopening a replaced folder (untilSettled): also the steps git takes
// without its index lock (`stash -u`, a copy) must be over, so the folder must have been quiet for
// 100 ms; a folder stamped ahead of the clock counts as quiet. Real folders with their time stamps set;
// whether the wait still sleeps is read at the next turn of the event loop (a wait that returns at
// once settles before it), so nothing depends on how fast the machine is.
import { utimesSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { untilSettled } from '../src/replaced-folder.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('deploystate-leveldb-settled-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function stamp(path: string, offsetMs: number): void {
  const at = (Date.now() + offsetMs) / 1000;
  utimesSync(path, at, at);
}

describe('untilSettled', () => {
  it('waits while the folder changed within 100 ms, and not for one quiet longer or stamped in the future', async () => {
    const folder = join(dir, 'leveldb');
    await mkdir(folder);
    stamp(folder, 0);
    let ended = false;
    const wait = untilSettled(folder).then(() => (ended = true));
    await nextTurn();
    expect(ended).toBe(false);
    await wait;
    for (const offset of [-1_000, 3_600_000]) {
      stamp(folder, offset);
      let settled = false;
      void untilSettled(folder).then(() => (settled = true));
      await nextTurn();
      expect(settled, `stamped ${offset} ms from now`).toBe(true);
    }
  });
});
