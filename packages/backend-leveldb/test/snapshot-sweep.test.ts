// A snapshot is a copy of the whole LevelDB folder in a temp folder: a process killed while it holds
// one cannot remove it, so the next snapshot taken under the same root does, and only those.
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEFTOVER_MIN_AGE_MS } from '@deploystate/core';
import { openSnapshot, sweepSnapshots } from '../src/index.js';
import { runNode, storeFolderPerTest, type Child } from './helpers.js';

const folder = storeFolderPerTest('sweep', { seed: true });

/** A child process holding an open snapshot of `path` under `root`; prints its folder and waits. */
function holdSnapshot(path: string, root: string): Child {
  const script = `
    import { openSnapshot } from './src/index.ts';
    const snapshot = await openSnapshot(process.argv[1], { tmpRoot: process.argv[2] });
    console.log('holding ' + snapshot.dir);
    process.stdin.once('data', async () => { await snapshot.dispose(); console.log('released'); process.exit(0); });
  `;
  return runNode(['--import', 'tsx', '--input-type=module', '-e', script, path, root]);
}

const snapshotsIn = async (root: string): Promise<string[]> =>
  (await readdir(root)).filter((name) => name.startsWith('deploystate-snapshot-')).map((name) => join(root, name));

async function heldFolder(child: Child): Promise<string> {
  await child.waitFor('holding');
  return (/holding (\S+)/.exec(child.output()) as RegExpExecArray)[1] as string;
}

describe('snapshot folders left behind', () => {
  it('one a SIGKILLed process held is removed by the next snapshot; one a paused (SIGSTOP) process holds stays, and still reads', async () => {
    const root = join(folder.dir, 'tmp');
    await mkdir(root);
    const killed = holdSnapshot(folder.path, root);
    const paused = holdSnapshot(folder.path, root);
    folder.children.push(killed, paused);
    const killedDir = await heldFolder(killed);
    const pausedDir = await heldFolder(paused);
    killed.process.kill('SIGKILL');
    await killed.exited;
    paused.process.kill('SIGSTOP');
    try {
      expect((await snapshotsIn(root)).sort()).toEqual([killedDir, pausedDir].sort());
      // Fresh, a dead process's folder stays (its pid may live in another pid namespace sharing the folder).
      expect(await sweepSnapshots(root)).toEqual([]);
      // Made before the sweep's minimum age: both folders look that old now.
      const earlier = new Date(Date.now() - LEFTOVER_MIN_AGE_MS - 60_000);
      for (const dir of [killedDir, pausedDir]) await utimes(dir, earlier, earlier);
      const mine = await openSnapshot(folder.path, { tmpRoot: root });
      try {
        expect((await snapshotsIn(root)).sort()).toEqual([pausedDir, mine.dir].sort());
        expect(await mine.store.get(56, 'Seed')).not.toBeNull();
      } finally {
        await mine.dispose();
      }
    } finally {
      paused.process.kill('SIGCONT');
    }
    // The paused process, resumed, still has its copy and removes it itself.
    paused.process.stdin?.write('release\n');
    await paused.waitFor('released');
    expect(await snapshotsIn(root)).toEqual([]);
  });

  it('keeps a folder another host owns, a young one, one being made (no owner yet), and anything not a snapshot; removes old ones a dead process or no owner left', async () => {
    const root = join(folder.dir, 'tmp');
    const make = async (name: string, owner?: object): Promise<string> => {
      const dir = join(root, name);
      await mkdir(join(dir, 'leveldb'), { recursive: true });
      if (owner) await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
      return dir;
    };
    // A pid no process has: past the kernel's largest.
    const deadPid = 2 ** 22 + 1;
    await make('deploystate-snapshot-other1', { pid: deadPid, host: `${hostname()}-elsewhere` });
    await make('deploystate-snapshot-fresh1');
    const old = await make('deploystate-snapshot-older1');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    const dead = await make('deploystate-snapshot-dead01', { pid: deadPid, host: hostname() });
    await utimes(dead, twoDaysAgo, twoDaysAgo);
    await make('deploystate-snapshot-young1', { pid: deadPid, host: hostname() });
    // An owner file a kill cut short: judged as none, by age.
    const cutShort = await make('deploystate-snapshot-cut001');
    await writeFile(join(cutShort, 'owner.json'), '{"pid": 12');
    await utimes(cutShort, twoDaysAgo, twoDaysAgo);
    const unrelated = await make('someone-else-dead01', { pid: deadPid, host: hostname() });
    await utimes(unrelated, twoDaysAgo, twoDaysAgo);

    expect((await sweepSnapshots(root)).sort()).toEqual([cutShort, dead, old].sort());
    expect((await readdir(root)).sort()).toEqual(['deploystate-snapshot-fresh1', 'deploystate-snapshot-other1', 'deploystate-snapshot-young1', 'someone-else-dead01']);
    // A root that does not exist: nothing to do.
    expect(await sweepSnapshots(join(root, 'missing'))).toEqual([]);
  });
});
