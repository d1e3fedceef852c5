// Whether git holds every file of a committed LevelDB folder, for `status` to say before a commit
// spreads without them: every LevelDB open writes a new MANIFEST (and a table and a log) and rewrites
// CURRENT, and `git commit -a` commits the new CURRENT without the new files, which leaves every
// clone that pulls it a folder that does not open (STORE_INCOMPLETE). One `git ls-files`, read-only
// (no optional locks: `git status` stays as it was), bounded; never on a deploy script's path.
import { readdir } from 'node:fs/promises';
import { relative } from 'node:path';
import { isStoreFile } from '@deploystate/backend-leveldb';
import { gitIndexLock } from '@deploystate/core';
import { readOnlyGit } from './read-only-git.js';
import type { LevelDbNotInGit } from './types.js';

/** A git that does not answer in 2 s is not waited for (status says nothing about git). */
const LISTING_OPTIONS = { timeoutMs: 2_000, maxBytes: 16 * 1024 * 1024 };

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
  const listing = await readOnlyGit(
    folder,
    ['ls-files', '-z', '-t', '--cached', '--others', '--exclude-standard', '--', '.'],
    LISTING_OPTIONS,
  );
  if (listing === undefined) return undefined;
  const tracked = new Set<string>();
  const others = new Set<string>();
  // A file in conflict is listed once per side the index holds (tag M).
  const unmergedNames = new Set<string>();
  for (const line of listing.split('\0')) {
    const name = line.slice(2);
    if (name === '' || name.includes('/')) continue;
    (line.startsWith('? ') ? others : tracked).add(name);
    if (line.startsWith('M ')) unmergedNames.add(name);
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
  const unmerged = [...unmergedNames].sort();
  if (untracked.length + ignored.length + deleted.length + unmerged.length === 0) return undefined;
  const path = relative(cwd, folder) || '.';
  const add = `git add -A -- ${path}`;
  const force = ignored.length > 0 ? ` && git add -f -- ${ignored.map((name) => `${path}/${name}`).join(' ')}` : '';
  return {
    folder,
    untracked,
    ignored,
    deleted,
    command: `${add}${force}`,
    unmerged,
    ...(unmerged.length > 0 && { keepOneSide: `git restore --source=HEAD --staged --worktree -- ${path}` }),
  };
}
