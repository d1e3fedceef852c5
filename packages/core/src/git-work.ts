// Whether a git command is rewriting the work tree that holds a folder. Checkout, reset, stash and
// merge hold the repository's `index.lock` while they replace files, one unlink and create at a
// time: a store that reads in between sees a file missing or empty that git is about to write.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sleep } from './sleep.js';

/** After this long a wait for git ends anyway (a git that crashed leaves its index.lock behind). */
export const GIT_WAIT_MAX_MS = 5_000;
const GIT_POLL_MS = 10;

/** A folder found outside any repository is looked up again after this long (a `git init` since). */
const NO_REPOSITORY_TTL_MS = 1_000;

/** Each folder's index.lock path, or when it was found outside a repository: the walk up the tree costs a stat per level. */
const indexLocks = new Map<string, string | { none: number }>();

/** The `index.lock` of the git repository that holds `folder` (a `.git` folder, or a worktree's `.git` file); undefined outside one. */
export function gitIndexLock(folder: string): string | undefined {
  const known = indexLocks.get(folder);
  if (typeof known === 'string') return known;
  if (known !== undefined && Date.now() - known.none < NO_REPOSITORY_TTL_MS) return undefined;
  const found = findIndexLock(folder);
  indexLocks.set(folder, found ?? { none: Date.now() });
  return found;
}

/**
 * Whether a git command holds the index of the repository around `folder` now (one stat). A lock
 * older than GIT_WAIT_MAX_MS is one a git that crashed left behind (git itself refuses to run
 * until it is removed): not waited for, or every read of a chain with no file would wait on it.
 * So is one stamped further ahead than that (the clock set back since a crash, a mount's clock
 * ahead): its age cannot be told, and it would hold every such read for GIT_WAIT_MAX_MS.
 */
export function gitAtWork(folder: string): boolean {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return false;
  const info = statSync(lock, { throwIfNoEntry: false });
  return info !== undefined && Math.abs(Date.now() - info.mtimeMs) < GIT_WAIT_MAX_MS;
}

export interface GitWaitOptions {
  /** Return anyway after this long (default GIT_WAIT_MAX_MS). */
  maxWaitMs?: number;
  /** Wait also until `folder` itself has not changed for this long (steps git takes without its index lock, such as `stash -u`'s). */
  quietMs?: number;
}

/** Waits while a git command holds the index of the repository around `folder` (and, with `quietMs`, while the folder changes), bounded. */
export async function untilGitDone(folder: string, options: GitWaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.maxWaitMs ?? GIT_WAIT_MAX_MS);
  while (Date.now() < deadline && (gitAtWork(folder) || (options.quietMs !== undefined && !quietFor(folder, options.quietMs)))) await sleep(GIT_POLL_MS);
}

/**
 * Whether `folder` has not changed for `ms` (or is gone). A time stamp as far ahead of the clock
 * counts as quiet, as for index.lock: after the clock was set back it would hold every wait to its end.
 */
function quietFor(folder: string, ms: number): boolean {
  let changedAt: number | undefined;
  try {
    changedAt = statSync(folder, { throwIfNoEntry: false })?.mtimeMs;
  } catch {
    return true;
  }
  return changedAt === undefined || Math.abs(Date.now() - changedAt) >= ms;
}

function findIndexLock(folder: string): string | undefined {
  let dir: string;
  try {
    dir = realpathSync(folder);
  } catch {
    dir = resolve(folder);
  }
  for (;;) {
    const dotGit = join(dir, '.git');
    try {
      const info = statSync(dotGit, { throwIfNoEntry: false });
      if (info?.isDirectory()) return join(dotGit, 'index.lock');
      if (info?.isFile()) {
        const named = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
        if (named !== undefined) return join(resolve(dir, named), 'index.lock');
      }
    } catch {
      return undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
