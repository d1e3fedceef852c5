// Whether a git command is rewriting the work tree that holds a folder. Checkout, reset, stash and
// merge hold the repository's `index.lock` while they replace files, one unlink and create at a
// time: a store that reads in between sees a file missing or empty that git is about to write.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { sleep } from './sleep.js';

/** After this long a wait for git ends anyway (a git that crashed leaves its index.lock behind). */
export const GIT_WAIT_MAX_MS = 5_000;
const GIT_POLL_MS = 10;

/** A folder found outside any repository is looked up again after this long (a `git init` since). */
const NO_REPOSITORY_TTL_MS = 1_000;

/** Each folder's index.lock path, or when it was found outside a repository: the walk up the tree costs a stat per level. */
const indexLocks = new Map<string, string | { none: number }>();
/** Each index.lock's work tree: the folder holding its `.git` (real path). */
const workTrees = new Map<string, string>();

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
 * How long after a command that rewrites the work tree in steps a write still takes git for at
 * work (gitBusy). One git command can be several steps that each hold index.lock on their own: a
 * merge that aborts on a dirty file runs `stash create`, its strategy, `read-tree --reset -u` and
 * `stash apply`, a process each, with gaps of a few to tens of ms between them in which no lock is
 * held.
 */
export const GIT_SETTLE_MS = 250;

/** The folders git keeps in its own folder while a rebase runs or stands stopped (`git am` uses `rebase-apply` too). */
const REBASE_FOLDERS = ['rebase-merge', 'rebase-apply'];

/**
 * What a command that rewrites the work tree in steps leaves in git's folder as it starts (a merge
 * or pull: ORIG_HEAD, AUTO_MERGE, MERGE_HEAD; reset: ORIG_HEAD; cherry-pick, revert; a rebase's
 * folder; commit, checkout and reset: logs/HEAD), and `git status` never writes: where no process
 * table can be read, what tells such a command from an editor's git panel or a shell prompt
 * refreshing the index, which changes git's folder every moment and must not hold a write.
 */
/** What git keeps while it replays commits one by one: a rebase's folder, a cherry-pick's or revert's sequencer. */
const REPLAYING = [...REBASE_FOLDERS, 'sequencer'];

const STEP_MARKS = ['ORIG_HEAD', 'AUTO_MERGE', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', ...REBASE_FOLDERS, join('logs', 'HEAD')];

/**
 * The stash, in the repository's common folder (its worktrees share it): `git stash && git stash
 * pop` puts the files back in a command of its own, and `git stash; git pull; git stash pop` after
 * a pull that runs for seconds.
 */
const STASH_REF = join('refs', 'stash');

/**
 * How long after the stash changed git counts as at work with no git running: the gap between
 * `git stash` and the `git stash pop` after it is a process start, which on a loaded machine took
 * over the 250 ms a command's own steps get (a read then found the stashed files).
 */
export const GIT_STASH_SETTLE_MS = 1_000;

/**
 * The git commands that rewrite files of the work tree (and the steps they run as commands of their
 * own); a git process running another (`git log` in a pager, `git status`, the lost-write check's
 * own `git cat-file`) holds no read or write.
 */
const WORK_TREE_COMMANDS = new Set([
  'am',
  'apply',
  'bisect',
  'checkout',
  'checkout-index',
  'cherry-pick',
  'clean',
  'lfs',
  'merge',
  'merge-octopus',
  'merge-ort',
  'merge-recursive',
  'merge-resolve',
  'merge-subtree',
  'mergetool',
  'mv',
  'pull',
  'read-tree',
  'rebase',
  'reset',
  'restore',
  'revert',
  'rm',
  'sparse-checkout',
  'stash',
  'submodule',
  'switch',
  'worktree',
]);

/** git's options before its command that take the next argument as their value. */
const OPTIONS_WITH_VALUE = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix']);

/** The command a git process runs, from its arguments (`git -C dir pull`, `git-merge`); undefined when none is named. */
export function gitCommandOf(argv: readonly string[]): string | undefined {
  const program = basename(argv[0] ?? '');
  if (program.startsWith('git-')) return program.slice(4);
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

export type GitStep = 'rebase' | 'am' | 'merge' | 'cherry-pick' | 'revert';

/**
 * The git command stopped part-way in the repository that holds `folder` (a conflict, a rebase's
 * `break` or `edit`), by the file or folder git keeps until it is continued or aborted: its work
 * tree holds neither side whole (a rebase: the commits not replayed yet are missing from it).
 * Undefined when none is.
 */
export function gitStepInProgress(folder: string): GitStep | undefined {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return undefined;
  const gitDir = dirname(lock);
  const has = (name: string): boolean => statSync(join(gitDir, name), { throwIfNoEntry: false }) !== undefined;
  if (has('rebase-merge')) return 'rebase';
  if (has('rebase-apply')) return has(join('rebase-apply', 'applying')) ? 'am' : 'rebase';
  if (has('MERGE_HEAD')) return 'merge';
  if (has('CHERRY_PICK_HEAD')) return 'cherry-pick';
  if (has('REVERT_HEAD')) return 'revert';
  return undefined;
}

/** Whether the repository around `folder` holds a stash (`refs/stash`, in its common folder): what a record missing from the work tree may be in. */
export function gitStashed(folder: string): boolean {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return false;
  const common = commonDirOf(dirname(lock));
  // The stash list is the ref's log, never packed (`git gc` packs the ref itself).
  return (
    statSync(join(common, STASH_REF), { throwIfNoEntry: false }) !== undefined || (statSync(join(common, 'logs', STASH_REF), { throwIfNoEntry: false })?.size ?? 0) > 0
  );
}

/** Whether a git command that rewrites the work tree around `folder` runs now (gitRunningIn); undefined outside a repository or where the process table cannot be read. */
export function gitRewriting(folder: string): boolean | undefined {
  const lock = gitIndexLock(folder);
  const root = lock === undefined ? undefined : workTrees.get(lock);
  return root === undefined ? undefined : gitRunningIn(root);
}

/** Whether git is rebasing in the repository that holds `folder`: its sides are the other way round then. */
export function gitRebasing(folder: string): boolean {
  return gitStepInProgress(folder) === 'rebase';
}

/** Whether one of STEP_MARKS in `gitDir` changed within `settleMs` (gitBusy where /proc cannot be read). */
export function gitStepMarked(gitDir: string, settleMs: number): boolean {
  return STEP_MARKS.some((mark) => !quietFor(join(gitDir, mark), settleMs));
}

/**
 * Linux: whether a git process runs one of WORK_TREE_COMMANDS in the work tree `root` (its working
 * folder there): the command that spawns each step lives from its first step to its last. Undefined
 * where the process table cannot be read. One look at each process's name, and the working folder
 * and arguments of those named git.
 */
export function gitRunningIn(root: string): boolean | undefined {
  if (process.platform !== 'linux') return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 57 || pid === String(process.pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'latin1').startsWith('git')) continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd !== root && !cwd.startsWith(root + sep)) continue;
      const command = gitCommandOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      if (command !== undefined && WORK_TREE_COMMANDS.has(command)) return true;
    } catch {
      // Gone meanwhile, or another user's: not this repository's git.
    }
  }
  return false;
}

/** Each git folder's common folder (a linked worktree's `commondir`), where refs such as the stash live. */
const commonDirs = new Map<string, string>();

function commonDirOf(gitDir: string): string {
  let common = commonDirs.get(gitDir);
  if (common === undefined) {
    let named: string | undefined;
    try {
      named = readFileSync(join(gitDir, 'commondir'), 'utf8').trim();
    } catch {
      // The main work tree's git folder is its own common folder.
    }
    common = named ? resolve(gitDir, named) : gitDir;
    commonDirs.set(gitDir, common);
  }
  return common;
}

/**
 * Whether a git command may be in the middle of rewriting the work tree around `folder`: it holds
 * the index now (gitAtWork); or git's folder changed within `settleMs` and a git command that
 * rewrites the work tree still runs there (a step just done, the next one about to take the lock;
 * where the process table cannot be read, one of the marks such a command leaves changed within
 * it: gitStepMarked); or the stash changed within GIT_STASH_SETTLE_MS, or within GIT_WAIT_MAX_MS
 * while such a command runs (the command after it puts the files back); or, while a rebase's folder
 * or the sequencer is there, whenever such a command runs. `git status` refreshing the index, or
 * any git command that rewrites no file, holds nothing once it lets go of index.lock. An index.lock
 * a crashed git left behind (one gitAtWork does not count) is not at work, and no git command can
 * run beside it. Outside a repository, false. Six stats when git is idle.
 */
export function gitBusy(folder: string, settleMs: number = GIT_SETTLE_MS): boolean {
  const lock = gitIndexLock(folder);
  if (lock === undefined) return false;
  const info = statSync(lock, { throwIfNoEntry: false });
  if (info !== undefined) return Math.abs(Date.now() - info.mtimeMs) < GIT_WAIT_MAX_MS;
  const gitDir = dirname(lock);
  const root = workTrees.get(lock);
  const running = (): boolean | undefined => (root === undefined ? undefined : gitRunningIn(root));
  const stash = join(commonDirOf(gitDir), STASH_REF);
  if (!quietFor(stash, Math.max(settleMs, GIT_STASH_SETTLE_MS))) return true;
  // A rebase or a cherry-pick of many commits replays them one by one, each step a process of its
  // own (a merge driver's): on a loaded machine git's folder stays quiet longer than settleMs while
  // the work tree is still the upstream's, so while its folder is there its command counts whole.
  if (quietFor(gitDir, settleMs)) {
    return (!quietFor(stash, GIT_WAIT_MAX_MS) || REPLAYING.some((name) => existsSync(join(gitDir, name)))) && running() === true;
  }
  return running() ?? gitStepMarked(gitDir, settleMs);
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
 * unlink and write one file at a time; a stash, a pull that aborts, a rebase write whole versions
 * that are neither side's, step by step): a read waits while git is at work (gitBusy, the gaps
 * between a command's steps included), and a read during which git began, or that found the file
 * missing, empty or not parsing, is read again once git is done; only that read is reported. The
 * waits before and after the read are bounded by GIT_WAIT_MAX_MS in all; then the file is read as
 * it is. With git not at work, a missing file still missing is one read; anything else is read once
 * more (git may have finished between the read and the look). The stores' reads and verify's share it. Outside a repository, one read. A command
 * stopped part-way (a rebase's conflict) is not at work: its work tree is read as it stands
 * (gitStepInProgress tells it).
 */
export async function readBesideGit<T>(folder: string, read: () => Promise<T>, race: ReadBesideGit<T>): Promise<T> {
  // The waits before and after the read share one bound.
  const deadline = Date.now() + GIT_WAIT_MAX_MS;
  const settled = (): GitWaitOptions => ({ settleMs: GIT_SETTLE_MS, maxWaitMs: deadline - Date.now() });
  if (gitBusy(folder)) await untilGitDone(folder, settled());
  try {
    const result = await read();
    // A command that began during the read may have shown it one step's version of the file (a
    // stash's, the upstream one a rebase starts from): read again once it is done.
    if (!race.missing(result)) {
      if (!gitBusy(folder)) return result;
    } else if (!gitBusy(folder) && !race.exists()) return result;
  } catch (error) {
    if (!race.unfinished(error)) throw error;
  }
  if (gitBusy(folder)) await untilGitDone(folder, settled());
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
      if (info?.isDirectory()) return withWorkTree(join(dotGit, 'index.lock'), dir);
      if (info?.isFile()) {
        const named = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
        if (named !== undefined) return withWorkTree(join(resolve(dir, named), 'index.lock'), dir);
      }
    } catch {
      return undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function withWorkTree(lock: string, root: string): string {
  workTrees.set(lock, root);
  return lock;
}
