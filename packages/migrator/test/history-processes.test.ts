// Looking through a network file's git history for a teammate's committed delete reads every
// version it needs with one `git cat-file --batch` beside the one `git log`, whatever the number
// of versions; a second look at the same tip answers from memory. Real git, counted through a
// `git` on PATH that logs each run and hands it to the real one.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { canonicalDigest, sampleRecord } from '@deploystate/core';
import { committedChanges, HISTORY_DEPTH } from '../src/coowned-history.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-history-processes-');

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'pipe' });
}

const saved = { PATH: process.env.PATH, GIT_CALLS: process.env.GIT_CALLS };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.GIT_CALLS === undefined) delete process.env.GIT_CALLS;
  else process.env.GIT_CALLS = saved.GIT_CALLS;
});

/** A `git` first on PATH that appends its subcommand to `log` and runs the real git; returns a reader of that log. */
async function countGitRuns(dir: string): Promise<() => Promise<string[]>> {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const log = join(dir, 'git-runs.log');
  await writeFile(log, '');
  await writeFile(join(bin, 'git'), `#!/bin/sh\necho "$1" >> "$GIT_CALLS"\nexec '${realGit}' "$@"\n`);
  await chmod(join(bin, 'git'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  process.env.GIT_CALLS = log;
  return async () => {
    const runs = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    await writeFile(log, '');
    return runs;
  };
}

describe('the history looked through for a committed delete', () => {
  it('runs git twice (log, one cat-file --batch) for many versions, and once (log) for a second look at the same tip', async () => {
    const repo = join(tempDir(), 'repo');
    const deployments = join(repo, 'deployments');
    await mkdir(deployments, { recursive: true });
    git(repo, 'init', '-q');
    const store = new JsonFileStore({ dir: deployments, cache: false });
    await store.open();
    const vault = sampleRecord(56, 'Vault', 'bscmainnet', 1);
    await store.put(vault);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'vault');
    // Versions after the one that held Vault: each is read before the one that holds it is reached.
    const later = Math.min(6, HISTORY_DEPTH - 2);
    for (let i = 0; i < later; i++) {
      await store.put(sampleRecord(56, `Other${i}`, 'bscmainnet', 10 + i));
      git(repo, 'commit', '-qam', `other ${i}`);
    }
    await store.delete(56, 'Vault');
    await store.close();
    git(repo, 'commit', '-qam', 'a teammate drops vault');

    const runs = await countGitRuns(tempDir());
    const file = join(deployments, 'bscmainnet.json');
    const wanted = new Map([['Vault', { written: canonicalDigest(vault), now: undefined }]]);
    expect(await committedChanges(file, 56, wanted)).toEqual(new Set(['Vault']));
    expect(await runs()).toEqual(['log', 'cat-file']);
    expect(await committedChanges(file, 56, wanted)).toEqual(new Set(['Vault']));
    expect(await runs()).toEqual(['log']);

    // A record no version held: every version read, still by the one cat-file, and none found.
    const never = new Map([['Never', { written: canonicalDigest(sampleRecord(56, 'Never', 'bscmainnet', 2)), now: undefined }]]);
    expect(await committedChanges(file, 56, never)).toEqual(new Set());
    expect(await runs()).toEqual(['log', 'cat-file']);
  });
});
