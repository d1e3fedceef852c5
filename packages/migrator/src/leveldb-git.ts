// Whether git holds every file of a committed LevelDB folder, for `status` to say before a commit
// spreads without them: every LevelDB open writes a new MANIFEST (and a table and a log) and rewrites
// CURRENT, and `git commit -a` commits the new CURRENT without the new files, which leaves every
// clone that pulls it a folder that does not open (STORE_INCOMPLETE). One `git ls-files`, read-only
// (no optional locks: `git status` stays as it was), bounded; never on a deploy script's path.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { isStoreFile } from '@deploystate/backend-leveldb';
import { gitIndexLock } from '@deploystate/core';
import type { LevelDbNotInGit } from './types.js';

/** A git that does not answer by then is not waited for (status says nothing about git). */
const GIT_TIMEOUT_MS = 2_000;
const MAX_LISTING_BYTES = 16 * 1024 * 1024;

/**
 * The LevelDB files git's index lacks (new since the last `git add`) or holds and the folder no
 * longer has (deleted by LevelDB, the deletion not staged), when the folder is in a git work tree
 * and git tracks files in it; undefined otherwise (outside a repository, a folder the team does not
 * commit, git missing or not answering) or when the index holds exactly the folder's files.
 */
export async function levelDbNotInGit(folder: string, cwd: string = process.cwd()): Promise<LevelDbNotInGit | undefined> {
  // Outside a repository: not even a process started.
  if (gitIndexLock(folder) === undefined) return undefined;
  // Tracked (H, or S, M...) and untracked but not ignored (?) files of the folder itself, relative to it.
  const listing = await git(folder, ['ls-files', '-z', '-t', '--cached', '--others', '--exclude-standard', '--', '.']);
  if (listing === undefined) return undefined;
  const tracked = new Set<string>();
  const others = new Set<string>();
  for (const line of listing.split('\0')) {
    const name = line.slice(2);
    if (name === '' || name.includes('/')) continue;
    (line.startsWith('? ') ? others : tracked).add(name);
  }
  // A folder the team keeps out of git (ignored, or never added) is not this warning's business.
  if (tracked.size === 0) return undefined;
  let present: string[];
  try {
    present = (await readdir(folder)).filter(isStoreFile);
  } catch {
    return undefined;
  }
  const untracked = present.filter((name) => !tracked.has(name) && others.has(name)).sort();
  const ignored = present.filter((name) => !tracked.has(name) && !others.has(name)).sort();
  const here = new Set(present);
  const deleted = [...tracked].filter((name) => isStoreFile(name) && !here.has(name)).sort();
  if (untracked.length + ignored.length + deleted.length === 0) return undefined;
  const path = relative(cwd, folder) || '.';
  const add = `git add -A -- ${path}`;
  const force = ignored.length > 0 ? ` && git add -f -- ${ignored.map((name) => `${path}/${name}`).join(' ')}` : '';
  return { folder, untracked, ignored, deleted, command: `${add}${force}` };
}

/**
 * Where git has `file`: `index` when its index holds it (so the next commit does), `history` when
 * the index does not but a commit of any branch or tag did (a checkout of a commit from before it,
 * or another branch), `never` when no commit ever held it; undefined outside a repository or when
 * git does not answer. Read-only: `git ls-files`, then `git log` only when the index lacks it.
 */
export async function whereGitHas(file: string): Promise<'index' | 'history' | 'never' | undefined> {
  const folder = dirname(file);
  if (gitIndexLock(folder) === undefined) return undefined;
  const name = basename(file);
  const listing = await git(folder, ['ls-files', '-z', '--cached', '--', name]);
  if (listing === undefined) return undefined;
  if (listing.split('\0').includes(name)) return 'index';
  const commits = await git(folder, ['log', '--all', '-1', '--format=%H', '--', name]);
  if (commits === undefined) return undefined;
  return commits.trim() === '' ? 'never' : 'history';
}

/** git's output, or undefined when it failed (no git, a timeout). Without optional locks: nothing in `.git` is written. */
function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: MAX_LISTING_BYTES, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } },
      (error, stdout) => resolve(error ? undefined : stdout),
    );
  });
}
