// A snapshot's copy in LevelDB's turn (snapshot-turn.ts): while it runs no other process can open
// the store, a script that reopens it for every put waits and carries on, and a folder this
// process holds open is never touched (closing a descriptor of its LOCK would drop that lock).
import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHolders } from '@deploystate/core';
import { LevelDbStore } from '../src/index.js';
import { lockedError } from '../src/level-errors.js';
import { copyInTurn } from '../src/snapshot-turn.js';
import { holdLock, outsiderOpens, runNode, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('turn', { seed: true });

/** CURRENT and the MANIFEST it names, as the snapshot compares them. */
async function manifestMark(path: string): Promise<string> {
  const current = (await readFile(join(path, 'CURRENT'), 'utf8')).trim();
  const info = await stat(join(path, current));
  return `${current}:${info.size}:${info.mtimeMs}`;
}

describe('a copy in LevelDB\'s turn', () => {
  it('holds LevelDB\'s lock while it runs: a script reopening the store for every put waits, changes nothing meanwhile, and never fails', async () => {
    const writer = runNode(['--import', 'tsx', join('test', 'fixtures', 'reopen-writer.ts'), folder.path]);
    folder.children.push(writer);
    await writer.waitFor('writing');
    const marks: string[] = [];
    let holders: number[] = [];
    let refused = '';
    try {
      const ran = await copyInTurn(
        folder.path,
        async () => {
          holders = lockHolders(join(folder.path, 'LOCK')).map((h) => h.pid);
          marks.push(await manifestMark(folder.path));
          refused = await outsiderOpens(folder.path, folder.children);
          // Several of the script's reopens' worth of time.
          await new Promise((resolve) => setTimeout(resolve, 300));
          marks.push(await manifestMark(folder.path));
        },
        Date.now() + 10_000,
      );
      expect(ran).toEqual([undefined]);
    } finally {
      writer.process.stdin?.write('stop\n');
    }
    await writer.waitFor('done');
    expect(holders).toEqual([process.pid]);
    expect(refused).toBe('refused');
    expect(marks[1]).toBe(marks[0]);
    expect(writer.output()).not.toContain('error ');
    // Let go: the store opens again.
    expect(await outsiderOpens(folder.path, folder.children)).toBe('opened');
  }, 60_000);

  it('never touches a folder this process holds open: that store keeps its lock', async () => {
    const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
    await store.open();
    try {
      let ran = false;
      expect(await copyInTurn(folder.path, async () => void (ran = true), Date.now() + 1_000)).toBeUndefined();
      expect(ran).toBe(false);
      expect(await outsiderOpens(folder.path, folder.children)).toBe('refused');
      expect(await store.get(56, 'Seed')).not.toBeNull();
    } finally {
      await store.close();
    }
  }, 30_000);

  it('gives up the turn, running nothing, when the holder is paused, at its deadline, or where there is no LOCK file (none is made)', async () => {
    const holder = holdLock(folder.path);
    folder.children.push(holder);
    await holder.waitFor('holding');
    let ran = 0;
    const started = Date.now();
    expect(await copyInTurn(folder.path, async () => void ran++, Date.now() + 300)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    holder.process.kill('SIGSTOP');
    try {
      // A paused holder cannot hand it over, and changes nothing: given up at once, not at the deadline.
      const pausedStarted = Date.now();
      expect(await copyInTurn(folder.path, async () => void ran++, Date.now() + 60_000)).toBeUndefined();
      expect(Date.now() - pausedStarted).toBeLessThan(10_000);
      // LOCKED names it as paused and says what frees it: no wait does.
      const locked = lockedError(folder.path, 1, undefined);
      expect(locked.message).toContain(`pid ${holder.process.pid}`);
      expect(locked.message).toMatch(/\) paused/);
      expect(locked.hint).toContain(`kill -CONT ${holder.process.pid}`);
    } finally {
      holder.process.kill('SIGCONT');
      holder.process.stdin?.write('release\n');
    }
    await holder.waitFor('released');
    await rm(join(folder.path, 'LOCK'));
    expect(await copyInTurn(folder.path, async () => void ran++, Date.now() + 1_000)).toBeUndefined();
    expect(existsSync(join(folder.path, 'LOCK'))).toBe(false);
    expect(ran).toBe(0);
  }, 60_000);
});
