// git as the migrator asks it things: read-only commands only, bounded in time and output, without
// git's optional locks, so a look at the repository leaves the work tree's `git status` as it was.
// Never on a deploy script's path but for a checkout without phase.json (whereGitHas).
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { gitIndexLock } from '@deploystate/core';

/** The environment of every git the migrator runs: no optional locks, messages in one language. */
export const READ_ONLY_GIT_ENV = (): NodeJS.ProcessEnv => ({ ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' });

export interface ReadOnlyGitOptions {
  /** A git that does not answer by then is not waited for (its answer is undefined). */
  timeoutMs: number;
  /** Output beyond this is not read (the answer is undefined). */
  maxBytes: number;
  /** An exit of 1 with nothing printed (rev-parse --verify --quiet of a path the revision lacks) is ''. */
  quietMiss?: boolean;
}

/** git's output, or undefined when it failed (no git, no repository, a timeout, too much output). */
export function readOnlyGit(cwd: string, args: string[], options: ReadOnlyGitOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: options.timeoutMs, maxBuffer: options.maxBytes, env: READ_ONLY_GIT_ENV() }, (error, stdout) => {
      if (!error) resolve(stdout);
      else if (options.quietMiss === true && error.code === 1 && stdout === '') resolve('');
      else resolve(undefined);
    });
  });
}

const WHERE_OPTIONS: ReadOnlyGitOptions = { timeoutMs: 2_000, maxBytes: 1024 * 1024 };

/**
 * Files git's history holds and its index did not, with the index as it was then: while the index
 * is unchanged the answer stands (only a change of the index can put the file in it), so a
 * checkout without phase.json does not run git at every read of the state.
 */
const inHistory = new Map<string, string>();

/**
 * Where git has `file`: `index` when its index holds it (so the next commit does), `history` when
 * the index does not but a commit of any branch or tag did (a checkout of a commit from before it,
 * or another branch), `never` when no commit ever held it; undefined outside a repository or when
 * git does not answer. `git ls-files`, then `git log` only when the index lacks it.
 */
export async function whereGitHas(file: string): Promise<'index' | 'history' | 'never' | undefined> {
  const folder = dirname(file);
  const lock = gitIndexLock(folder);
  if (lock === undefined) return undefined;
  const index = indexSignature(lock);
  if (inHistory.get(file) === index) return 'history';
  const name = basename(file);
  const listing = await readOnlyGit(folder, ['ls-files', '-z', '--cached', '--', name], WHERE_OPTIONS);
  if (listing === undefined) return undefined;
  if (listing.split('\0').includes(name)) return 'index';
  const commits = await readOnlyGit(folder, ['log', '--all', '-1', '--format=%H', '--', name], WHERE_OPTIONS);
  if (commits === undefined) return undefined;
  if (commits.trim() === '') return 'never';
  inHistory.set(file, index);
  return 'history';
}

/** The index file's identity and last change ('none' before the repository has one). */
function indexSignature(lock: string): string {
  const info = statSync(lock.slice(0, -'.lock'.length), { throwIfNoEntry: false, bigint: true });
  return info === undefined ? 'none' : `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}
