// Looking through a network file's git history for a teammate's committed delete reads every
// version it needs with one `git cat-file --batch` beside the one `git log`, whatever the number
// of versions; a second look at the same tip answers from memory. Real git, counted through a
// `git` on PATH that logs each run and hands it to the real one.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { canonicalDigest, sampleRecord } from '@deploystate/core';
import { committedChanges, HISTORY_DEPTH } from '../src/coowned-history.js';
import { countGitRuns, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-history-processes-');

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'pipe' });
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
