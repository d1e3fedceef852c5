// Commands that change nothing leave a committed store untouched, in every git repository shape a
// team has: before `init` (the runbook runs analyze first), after it, and in json-only. Proven on
// real git repositories: `git status --porcelain` stays empty after each one, and `init` run after
// them still writes the .gitignore and phase file the team commits. Nor do they leave anything in
// the temp folder (a LevelDB snapshot there is a copy of the whole store).
import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-read-only-git-');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

const porcelain = (repo: string): string => git(repo, 'status', '--porcelain', '--untracked-files=all');

function commitAll(repo: string, message: string): void {
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', message);
}

/**
 * Runs each command (whatever its exit code: a refused gate must leave no trace either) and expects
 * git to see nothing, and the temp folder the command was given to be empty again.
 */
async function leavesGitClean(repo: string, commands: string[][]): Promise<void> {
  const tmp = join(fixture.root, 'tmp');
  await mkdir(tmp, { recursive: true });
  for (const args of commands) {
    const run = await deploystate(args, { cwd: repo, env: { TMPDIR: tmp } });
    expect(run.code, `${args.join(' ')} crashed\n${run.stderr}`).not.toBe(null);
    expect(porcelain(repo), `git status after ${args.join(' ')}`).toBe('');
    expect(await readdir(tmp), `temp folder after ${args.join(' ')}`).toEqual([]);
  }
}

describe('read-only commands and dry runs on a store committed to git', () => {
  it('before init: they leave git clean, and init still writes the files the team commits', async () => {
    const repo = fixture.sample;
    commitAll(repo, 'the project before deploystate');
    await leavesGitClean(repo, [
      ['analyze'],
      ['check'],
      ['compare'],
      ['verify'],
      ['validate'],
      ['report'],
      ['status'],
      ['rollback', '--dry-run'],
      ['migrate', '--dry-run'],
    ]);
    const init = await deploystate(['init', '--yes'], { cwd: repo });
    expect(init.code, init.stderr).toBe(0);
    const added = porcelain(repo);
    expect(added).toContain('?? .deploystate/.gitignore');
    expect(added).toContain('?? .deploystate/phase.json');
    // What the read-only commands left (analysis, reports, evidence, locks) stays local.
    expect(added).not.toMatch(/\.deploystate\/(?!\.gitignore|phase\.json)/);
  }, 120_000);

  it('after init, in leveldb-only: dual-write verify and rollback --dry-run leave git clean', async () => {
    const repo = fixture.sample;
    commitAll(repo, 'init');
    await leavesGitClean(repo, [['dual-write', 'verify'], ['rollback', '--dry-run'], ['verify']]);
  }, 60_000);

  it('in dual-write: enabling it leaves no temp folder; status, compare, verify, report and rollback --dry-run leave git and the temp folder clean', async () => {
    const repo = fixture.sample;
    const tmp = join(fixture.root, 'tmp');
    await mkdir(tmp, { recursive: true });
    for (const args of [['init', '--yes'], ['dual-write', 'enable', '--yes']]) {
      const run = await deploystate(args, { cwd: repo, env: { TMPDIR: tmp } });
      expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(0);
      // The commands that change the phase read it back: no snapshot of that is left either.
      expect(await readdir(tmp), `temp folder after ${args.join(' ')}`).toEqual([]);
    }
    commitAll(repo, 'dual-write on');
    await leavesGitClean(repo, [['status'], ['compare'], ['verify'], ['report'], ['rollback', '--dry-run'], ['status', '--json']]);
  }, 60_000);

  it('in json-only: rollback --dry-run, fold-in --dry-run and verify leave LevelDB and git as committed', async () => {
    const repo = join(fixture.root, 'cut-over');
    await sampleAt(repo, [], 'migrate --demo');
    commitAll(repo, 'cut over');
    expect(git(repo, 'show', 'HEAD:.deploystate/phase.json')).toContain('"phase": "json-only"');
    await leavesGitClean(repo, [['rollback', '--dry-run'], ['fold-in', '--dry-run'], ['verify'], ['dual-write', 'verify']]);
  }, 90_000);
});
