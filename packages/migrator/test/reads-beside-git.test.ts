// A deploy script's read while git rewrites its work tree in steps. A rebase checks out the
// upstream first (the file without the clone's unpushed records), then replays each commit; `git
// stash && git stash pop` leaves the committed file between its two commands: a get meanwhile
// answered null for a record this clone had deployed, and a stopped rebase (a conflict, a `break`)
// kept answering null, the record counted as "on another branch" (the branch being replayed).
// Reads now wait for a running git command and a stash's pop, and a stopped rebase is
// FOREIGN_OVERWRITE naming it, never null. Real git, real processes.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, sampleRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { commitAll, demoMigration, firstLine, putThroughStore, runNode, teamGit, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-reads-beside-git-');

/** A project in json-only, committed, and a teammate's clone of it. */
async function jsonOnlyWithTeammate(): Promise<{ ours: string; theirs: string }> {
  const ours = join(tempDir(), 'ours');
  await mkdir(ours);
  teamGit(ours, 'init', '-q');
  await (await demoMigration(ours, 'json-only')).close();
  commitAll(ours, 'json-only');
  const theirs = join(tempDir(), 'theirs');
  teamGit(tempDir(), 'clone', '-q', ours, theirs);
  // The teammate's commit touches no network file: the rebase below replays cleanly.
  await writeFile(join(theirs, 'NOTES.md'), 'deployed by the team\n');
  commitAll(theirs, 'notes');
  return { ours, theirs };
}

async function deployAndCommit(dir: string, name: string, at: number): Promise<void> {
  await putThroughStore(dir, { ...sampleRecord(97, name, 'bsctestnet'), timestamp: at });
  commitAll(dir, `deploy ${name}`);
}

/** One get in a deploy script of its own (it looks the repository up afresh): the address, or the error. */
async function getOne(dir: string, name: string): Promise<{ address?: string | null; code?: string; key?: string; message?: string; hint?: string }> {
  return JSON.parse((await runNode('get-one.mjs', [dir, '97', name]).done).stdout) as { code?: string; message?: string; hint?: string };
}

/** What a deploy script reading `names` every few ms (git-reader.mjs) got while `git` ran. */
async function readsWhile(dir: string, names: readonly string[], git: () => void): Promise<{ reads: number; nulls: string[]; errors: Record<string, number> }> {
  const stop = join(tempDir(), 'stop');
  const reader = runNode('git-reader.mjs', [dir, '97', names.join(','), stop]);
  expect(await firstLine(reader)).toBe('reading');
  git();
  await writeFile(stop, '');
  const { code, stdout, stderr } = await reader.done;
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { reads: number; nulls: string[]; errors: Record<string, number> };
}

describe('reads beside git', () => {
  it('a rebase stopped before replaying local commits: a record they add or upgrade is FOREIGN_OVERWRITE naming the rebase, never null or older, and repair-files refuses; read once it is done', async () => {
    const { ours, theirs } = await jsonOnlyWithTeammate();
    await deployAndCommit(ours, 'LocalVault', Date.now());
    // An upgrade committed locally: the upstream's file holds the record as it was before.
    await deployAndCommit(ours, 'LookCoin', Date.now() + 1);
    teamGit(ours, 'fetch', '-q', theirs, 'main');
    // `break` first: git stops with the upstream checked out, the local commit not replayed yet.
    execGit(ours, { GIT_SEQUENCE_EDITOR: "sed -i '1i break'" }, 'rebase', '-q', '-i', 'FETCH_HEAD');
    // A deploy script of its own (it looks the repository up afresh).
    const refused = await getOne(ours, 'LocalVault');
    expect(refused.code).toBe(ErrorCodes.FOREIGN_OVERWRITE);
    expect(refused.message).toMatch(/is missing from .*a git rebase stands stopped part-way/);
    expect(refused.hint).toMatch(/git rebase --continue/);
    // The upgraded record read as it was before the upgrade: it answered the older one, silently.
    const older = await getOne(ours, 'LookCoin');
    expect(older).toMatchObject({ code: ErrorCodes.FOREIGN_OVERWRITE, key: '97-LookCoin' });
    expect(older.message).toMatch(/is not the record the store wrote there last .*a git rebase stands stopped part-way/);
    // A script that puts another record into the stopped rebase's file still never reads the older one.
    const script = createStateStore({ cwd: ours, env: {} });
    try {
      await script.put({ ...sampleRecord(97, 'DuringRebase', 'bsctestnet'), timestamp: Date.now() + 2 });
      await expect(script.get(97, 'LookCoin')).rejects.toMatchObject({ code: ErrorCodes.FOREIGN_OVERWRITE, key: '97-LookCoin' });
    } finally {
      await script.close();
    }
    teamGit(ours, 'checkout', '--', 'deployments');
    // repair-files would write the record into the rebase (and `rebase --continue` then refuses).
    const migration = await Migration.open({ cwd: ours });
    try {
      await expect(migration.repairFiles()).rejects.toMatchObject({ code: ErrorCodes.GATE_FAILED, message: expect.stringMatching(/^repair-files refused: a git rebase stands stopped part-way/) });
    } finally {
      await migration.close();
    }
    expect(teamGit(ours, 'status', '--porcelain')).toBe('');
    teamGit(ours, 'rebase', '--continue');
    expect(await getOne(ours, 'LocalVault')).toMatchObject({ address: expect.stringMatching(/^0x/) });
    expect(await getOne(ours, 'LookCoin')).toMatchObject({ address: expect.stringMatching(/^0x/) });
  });

  it('a stash held: a record only it holds is FOREIGN_OVERWRITE whose hint says to pop it first, then read once it is popped', async () => {
    const { ours } = await jsonOnlyWithTeammate();
    await putThroughStore(ours, { ...sampleRecord(97, 'Stashed', 'bsctestnet'), timestamp: Date.now() });
    execGit(ours, {}, 'stash', '-q');
    // The read waits out the stash's second (a `git stash && git stash pop`), then finds the file without it.
    const refused = await getOne(ours, 'Stashed');
    expect(refused.code).toBe(ErrorCodes.FOREIGN_OVERWRITE);
    // A repair first would make the pop refuse ("would be overwritten").
    expect(refused.hint).toMatch(/^if `git stash list` holds changes to the file, `git stash pop` first/);
    execGit(ours, {}, 'stash', 'pop', '-q');
    expect(await getOne(ours, 'Stashed')).toMatchObject({ address: expect.stringMatching(/^0x/) });
  });

  it('a deploy script reading every few ms while git rebases and resets eight local commits gets every record, every time', async () => {
    const { ours, theirs } = await jsonOnlyWithTeammate();
    const names = Array.from({ length: 8 }, (_, i) => `Local${i}`);
    for (const [i, name] of names.entries()) await deployAndCommit(ours, name, Date.now() + i);
    teamGit(ours, 'fetch', '-q', theirs, 'main');
    const seen = await readsWhile(ours, names, () => {
      for (let round = 0; round < 3; round++) {
        teamGit(ours, 'rebase', '-q', 'FETCH_HEAD');
        teamGit(ours, 'reset', '-q', '--hard', 'ORIG_HEAD');
      }
    });
    expect(seen.reads).toBeGreaterThan(names.length);
    expect({ nulls: seen.nulls, errors: seen.errors }).toEqual({ nulls: [], errors: {} });
  });

  it('a deploy script reading records not committed yet while `git stash && git stash pop` runs again and again gets every one, every time', async () => {
    const { ours } = await jsonOnlyWithTeammate();
    const names = ['Unsaved0', 'Unsaved1'];
    for (const [i, name] of names.entries()) await putThroughStore(ours, { ...sampleRecord(97, name, 'bsctestnet'), timestamp: Date.now() + i });
    const seen = await readsWhile(ours, [...names, 'LookCoin'], () => {
      for (let round = 0; round < 20; round++) execFileSync('sh', ['-c', 'git -c user.email=team@example.com -c user.name=team stash -q && git stash pop -q'], { cwd: ours, stdio: 'ignore' });
    });
    expect(seen.reads).toBeGreaterThan(names.length);
    expect({ nulls: seen.nulls, errors: seen.errors }).toEqual({ nulls: [], errors: {} });
  });
});

function execGit(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', ...args], { cwd, env: { ...process.env, ...env }, stdio: 'ignore' });
}
