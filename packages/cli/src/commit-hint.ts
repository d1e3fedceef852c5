// The one line a phase-changing command ends with in a git work tree: what to commit, since
// teammates' clones follow the phase (and read the files) only once it is committed and pushed.
// Worded as `init` and `status` word committing: the exact `git add` to paste, then commit.
import { join, relative } from 'node:path';
import { gitIndexLock } from '@deploystate/core';
import { readOnlyGit, shellWord } from '@deploystate/migrator';
import type { Context } from './context.js';
import { configFileOf } from './decisions.js';
import { stateDirOf } from './migration.js';

/** A git that does not answer by then is not waited for: the line is left out, the command's result stands. */
const GIT_OPTIONS = { timeoutMs: 2_000, maxBytes: 1024 * 1024 };


/** The paths among `paths` git sees changed (modified, added, deleted or new, not ignored); undefined when git does not answer. */
async function changedInGit(cwd: string, paths: readonly string[]): Promise<Set<string> | undefined> {
  // Read-only (the migrator's git runner: no optional locks), so asking leaves the index as it was.
  const answers = await Promise.all(paths.map((path) => readOnlyGit(cwd, ['status', '--porcelain', '--untracked-files=all', '--', path], GIT_OPTIONS)));
  if (answers.some((answer) => answer === undefined)) return undefined;
  return new Set(paths.filter((_, i) => (answers[i] as string).trim() !== ''));
}

/**
 * After a command changed the project: `commit for your team: git add -A -- <paths> && git commit`,
 * naming each of the paths a team commits that git sees changed (the phase file, the deployments
 * folder, the config, the LevelDB folder where the team commits it; `-A` stages the files LevelDB
 * made and removed, which `git commit -a` leaves out). No line outside a git work tree, when git
 * does not answer, or when none of them changed.
 */
export async function commitLines(ctx: Context): Promise<string[]> {
  const stateDir = stateDirOf(ctx);
  if (gitIndexLock(stateDir) === undefined) return [];
  const candidates = [join(stateDir, 'phase.json'), ctx.paths.deployments, configFileOf(ctx), ctx.paths.leveldb];
  const changed = await changedInGit(ctx.cwd, candidates);
  if (changed === undefined || changed.size === 0) return [];
  const words = candidates.filter((path) => changed.has(path)).map((path) => shellWord(relative(ctx.cwd, path) || '.'));
  return [`commit for your team: \`git add -A -- ${words.join(' ')} && git commit\``];
}
