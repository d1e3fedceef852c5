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

/**
 * How long git's own folder (the one holding index.lock) must have stayed unchanged before a write
 * takes git for done (gitBusy). One git command is several steps that each hold index.lock on their
 * own: a merge that aborts on a dirty file runs `stash create`, its strategy, `read-tree --reset -u`
 * and `stash apply`, a process each, with gaps of a few to tens of ms between them in which no lock
 * is held, and every step creates, renames or removes a file of that folder.
 */
export const GIT_SETTLE_MS = 250;

/**
 * Whether a git command may be in the middle of rewriting the work tree around `folder`: it holds
 * the index now (gitAtWork), or its folder changed within `settleMs` (a step just done, the next
 * one about to take the lock). An index.lock a crashed git left behind (one gitAtWork does not
 * count) is not at work, and no git command can run beside it: the folder's change is not waited
 * for. Outside a repository, false. Two stats when git is idle.
 */
export function gitBusy(folder: string, settleMs: number = GIT_SETTLE_MS): boolean {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return false;
  const info = statSync(lock, { throwIfNoEntry: false });
  if (info !== undefined) return Math.abs(Date.now() - info.mtimeMs) < GIT_WAIT_MAX_MS;
  return !quietFor(dirname(lock), settleMs);
}

export interface GitWaitOptions {
  /** Return anyway after this long (default GIT_WAIT_MAX_MS). */
  maxWaitMs?: number;
  /** Wait also until `folder` itself has not changed for this long (steps git takes without its index lock, such as `stash -u`'s). */
  quietMs?: number;
  /** Wait also until git's own folder has not changed for this long (gitBusy): the gaps between the steps of one git command. */
  settleMs?: number;
}

/** Waits while a git command holds the index of the repository around `folder` (with `settleMs`, while gitBusy; with `quietMs`, while the folder changes), bounded. */
export async function untilGitDone(folder: string, options: GitWaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.maxWaitMs ?? GIT_WAIT_MAX_MS);
  const atWork = options.settleMs === undefined ? gitAtWork : (at: string) => gitBusy(at, options.settleMs);
  while (Date.now() < deadline && (atWork(folder) || (options.quietMs !== undefined && !quietFor(folder, options.quietMs)))) await sleep(GIT_POLL_MS);
}

/** How a read of a file git may be rewriting tells what it found. */
export interface ReadBesideGit<T> {
  /** Whether the result is the file found missing. */
  missing: (result: T) => boolean;
  /** Whether a failure is the file's text found empty, cut short or not parsing (or gone mid-read). */
  unfinished: (error: unknown) => boolean;
  /** Whether the file is there now (a missing file still missing, with git not at work, is the answer). */
  exists: () => boolean;
}

/**
 * Reads a file of `folder` that a git command may be rewriting (checkout, reset, stash and merge
 * unlink and write one file at a time): what finds it missing, empty or not parsing while git
 * holds the index is read again once git is done, and only that read is reported. With git not at
 * work, a missing file still missing is one read; anything else is read once more (git may have
 * finished between the read and the look at its lock). The stores' reads and verify's share it.
 */
export async function readBesideGit<T>(folder: string, read: () => Promise<T>, race: ReadBesideGit<T>): Promise<T> {
  try {
    const result = await read();
    if (!race.missing(result)) return result;
    if (gitAtWork(folder)) await untilGitDone(folder);
    else if (!race.exists()) return result;
  } catch (error) {
    if (!race.unfinished(error)) throw error;
    if (gitAtWork(folder)) await untilGitDone(folder);
  }
  return read();
}

/**
 * Lists `folder` (or reads several of its files at once) once no git command rewrites the work
 * tree, as `list` sees it whole: a git command that began after the wait, during the listing (a
 * reset in a loop, a pull's next step), may have unlinked a file it is about to write, so a listing
 * that ends with git at work, or with the index rewritten since it began (a command begun and done
 * within it), is made again once git is done. Bounded as the wait is (GIT_WAIT_MAX_MS in all):
 * then the last listing is returned. Outside a repository, one listing.
 */
export async function listBesideGit<T>(folder: string, list: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + GIT_WAIT_MAX_MS;
  for (;;) {
    await untilGitDone(folder, { maxWaitMs: deadline - Date.now() });
    const index = indexStamp(folder);
    const listed = await list();
    if (index === undefined || Date.now() >= deadline || (!gitAtWork(folder) && indexStamp(folder) === index)) return listed;
  }
}

/** The repository's index as a stat shows it (git replaces it by renaming its lock over it): undefined outside a repository. */
function indexStamp(folder: string): string | undefined {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return undefined;
  const info = statSync(lock.slice(0, -'.lock'.length), { bigint: true, throwIfNoEntry: false });
  return info === undefined ? 'none' : `${info.ino}:${info.mtimeNs}:${info.size}`;
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
