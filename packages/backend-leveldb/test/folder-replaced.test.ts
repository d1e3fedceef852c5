// A committed LevelDB replaced under a running store (git stash -u, a checkout, a reset): the files
// the open handle writes to are gone from the folder, so every later put was acknowledged into an
// unlinked file and lost, silently (git hunt: all 54-57 writes after a stash, 3 of 3). The store now
// notices its MANIFEST is no longer the folder's and reopens before writing: later puts land in the
// folder as it is now.
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '../src/index.js';
import { rec, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('replaced', { seed: true });

describe('a LevelDB folder replaced under an open store', () => {
  it.each([
    ['kept open', 0],
    ['idle-closing', 1_000],
  ])('puts after the replacement land in the folder as it is now (%s)', async (_, idleCloseMs) => {
    const committed = join(folder.dir, 'committed');
    await cp(folder.path, committed, { recursive: true });
    const store = new LevelDbStore({ path: folder.path, idleCloseMs });
    await store.open();
    for (let i = 0; i < 5; i++) await store.put(rec(56, `Before${i}`));
    // What git does to the folder: the working files replaced by the committed ones.
    await rm(folder.path, { recursive: true });
    await cp(committed, folder.path, { recursive: true });
    for (let i = 0; i < 5; i++) await store.put(rec(56, `After${i}`));
    await store.close();
    const reopened = new LevelDbStore({ path: folder.path });
    await reopened.open();
    const names = (await reopened.list(56)).map((r) => r.contractName);
    await reopened.close();
    expect(names).toEqual(expect.arrayContaining(['Seed', 'After0', 'After1', 'After2', 'After3', 'After4']));
  });
});
