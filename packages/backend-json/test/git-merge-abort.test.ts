// A put while a teammate's pull aborts: `git pull` on diverged history runs a real merge, and a
// merge that finds the chain file dirty stashes it (`git stash create`, which reads the file), tries
// its strategy, then puts the work tree back as it was: `git read-tree --reset -u HEAD` (the
// committed version written over the file) and `git stash apply --index` (the stashed version
// written over that). "Merge with strategy ort failed": the file ends as it was when the stash read
// it. Each of those steps holds index.lock on its own, with gaps of a few to tens of ms between them
// (a process started): a put that renamed its version in after the stash read and waited for git
// took the first gap for git done, returned, and git's next two steps then wrote over it (the
// teammate's report: 396/400 and 398/400 acknowledged records in the file after five aborted pulls,
// each lost put's answer taking about 220 ms; a put renamed in such a gap without seeing the lock
// returned at once and was lost the same way; and one renamed on top of the committed version
// between read-tree and stash apply made git's apply refuse, losing the stashed records too).
// Reproduced here with real git and a real writer process: 35-66 acknowledged records missing in each
// of 3 runs (8 aborted merges each) before the fix. A put now waits for git to have settled (index.lock gone and
// git's folder unchanged for GIT_SETTLE_MS), so it returns only on top of the version git leaves.
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sleep } from '@deploystate/core';
import { JsonFileStore } from '../src/index.js';
import { storePerTest } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url));
const setup = storePerTest();

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the built store in a child process: `count` puts of <prefix><i>, back to back; resolves with the acknowledged names once it exits. */
function writer(dir: string, prefix: string, count: number): { acked: string[]; exited: Promise<number | null>; stop(): void } {
  const child = spawn(process.execPath, [WRITER, dir, prefix, '0', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ack ')) acked.push(`${prefix}${line.slice(4)}`);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { acked, exited, stop: () => child.kill('SIGTERM') };
}

describe('a put while a merge aborts on the chain file (git pull with local changes)', () => {
  it('every acknowledged put is in the file once git has put the work tree back', async () => {
    const { dir } = await setup();
    git(dir, 'init', '-q', '-b', 'main');
    await writeFile(join(dir, '.gitignore'), '.deploystate/\n');
    // main: Base0; other: Theirs0 on top (the teammate's push); main then diverges (a commit of its own),
    // so the merge is a real one, and the writer's puts keep the file dirty: every merge aborts.
    await writer(dir, 'Base', 1).exited;
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    git(dir, 'checkout', '-qb', 'other');
    await writer(dir, 'Theirs', 1).exited;
    git(dir, 'commit', '-qam', 'theirs');
    git(dir, 'checkout', '-q', 'main');
    await writeFile(join(dir, 'side.txt'), 'side\n');
    git(dir, 'add', 'side.txt');
    git(dir, 'commit', '-qm', 'side');

    const running = writer(dir, 'Y', 100_000);
    let aborted = 0;
    try {
      for (let round = 0; round < 8; round++) {
        // The writer's puts go on between the merges (as between a teammate's pulls), each merge
        // meets them mid-write: a few more acknowledged first, bounded.
        const before = running.acked.length;
        const deadline = Date.now() + 5_000;
        while (running.acked.length < before + 5 && Date.now() < deadline) await sleep(5);
        try {
          git(dir, 'merge', '--no-edit', 'other');
          throw new Error('the merge was expected to abort');
        } catch (error) {
          const stderr = String((error as { stderr?: unknown }).stderr ?? error);
          if (/Merge with strategy \S+ failed/.test(stderr)) aborted++;
        }
      }
      const last = running.acked.length;
      const deadline = Date.now() + 5_000;
      while (running.acked.length < last + 5 && Date.now() < deadline) await sleep(5);
    } finally {
      running.stop();
    }
    await running.exited;
    expect(aborted).toBe(8);
    expect(running.acked.length).toBeGreaterThanOrEqual(45);

    const reader = new JsonFileStore({ dir, cache: false });
    await reader.open();
    try {
      const names = new Set((await reader.list(56)).map((r) => r.contractName));
      const lost = running.acked.filter((name) => !names.has(name));
      expect(lost).toEqual([]);
      expect(names.has('Base0')).toBe(true);
      expect(names.has('Theirs0')).toBe(false);
    } finally {
      await reader.close();
    }
  }, 30_000);
});
