// A LevelDB committed to git, and a commit that leaves out the files LevelDB's last open made.
// Every open of LevelDB writes a new MANIFEST (and table and log) and rewrites CURRENT; `git commit
// -am` commits the rewritten CURRENT and the deletions but not the new files. Proven on real git
// repositories and real processes: the clone that pulls such a commit is told which files are
// missing, why and what fixes it (never "make a repaired copy"), and nothing is written there; the
// committer's own clone is warned by `status` before the commit spreads, naming the files and the
// `git add` that fixes it; a deploy script's put never runs git.
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigests } from '@deploystate/core/testing';
import { deploystate, onlyDocument, outputOf, type Run, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-leveldb-git-', { demo: false });

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

const porcelain = (repo: string): string => git(repo, 'status', '--porcelain', '--untracked-files=all');

const FACTORY = import.meta.resolve('@deploystate/migrator');

/** A deploy script in its own process: a put or a get through createStateStore(); prints the record or the error. */
const SCRIPT = `
const [url, op, name] = process.argv.slice(1);
const { createStateStore } = await import(url);
const store = createStateStore({ cwd: process.cwd() });
try {
  if (op === 'put') {
    await store.put({ contractName: name, chainId: 56, networkName: 'bsc', address: '0x' + '1'.repeat(40), factoryByteCodeHash: '0x' + '2'.repeat(64), timestamp: 1700000000000 });
    console.log(JSON.stringify({ ok: true }));
  } else {
    console.log(JSON.stringify({ ok: true, record: await store.get(56, name) }));
  }
  await store.close();
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code, message: error.message, hint: error.hint, data: error.data }));
  process.exitCode = 4;
}
`;

function deployScript(cwd: string, op: 'put' | 'get', name: string, env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT, FACTORY, op, name], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return outputOf(child);
}

const lastLine = (run: Run): Record<string, unknown> => JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;

/**
 * Repository A: the sample, initialised and committed whole; then a deploy script's put (LevelDB's
 * open writes a new MANIFEST, table and log) and `git commit -am`, which leaves those out.
 */
async function halfCommitted(name: string): Promise<{ a: string; untracked: string[] }> {
  const a = join(fixture.root, name);
  await sampleAt(a, [['init']]);
  git(a, 'init', '-q');
  git(a, 'add', '-A');
  git(a, 'commit', '-q', '-m', 'the project, LevelDB included');
  const put = await deployScript(a, 'put', 'Router');
  expect(put.code, put.stdout + put.stderr).toBe(0);
  git(a, 'commit', '-q', '-am', 'deployed Router');
  const untracked = git(a, 'ls-files', '--others', '--', 'leveldb')
    .split('\n')
    .filter((line) => /^leveldb\/(MANIFEST-\d+|\d+\.(log|ldb|sst))$/.test(line));
  // The defect's precondition: the new MANIFEST is among the files the commit left out.
  expect(untracked.some((file) => file.startsWith('leveldb/MANIFEST-'))).toBe(true);
  return { a, untracked };
}

describe('a LevelDB committed with `git commit -am` (its new files left out)', () => {
  it('the clone that pulls it: STORE_INCOMPLETE naming the missing files, from status, verify and a deploy script read; nothing written, no repair advice', async () => {
    const { a } = await halfCommitted('a1');
    const b = join(fixture.root, 'b1');
    git(fixture.root, 'clone', '-q', a, b);
    const current = git(b, 'show', 'HEAD:leveldb/CURRENT').trim();
    const before = await fileDigests(b, ['leveldb', 'deployments']);
    const gitBefore = porcelain(b);

    const status = await deploystate(['status', '--json'], { cwd: b });
    const unreadable = (onlyDocument(status) as { leveldbUnreadable?: { code: string; message: string; hint?: string } }).leveldbUnreadable;
    expect(unreadable?.code, status.stdout + status.stderr).toBe('STORE_INCOMPLETE');
    expect(unreadable?.message).toContain(current);
    expect(unreadable?.hint).toContain('git add -A');
    expect(unreadable?.hint).not.toMatch(/repair/i);
    const statusText = await deploystate(['status'], { cwd: b });
    expect(statusText.stdout + statusText.stderr).toContain('STORE_INCOMPLETE');
    expect(statusText.stdout + statusText.stderr).not.toMatch(/repairCopy|repaired copy/);

    const verify = await deploystate(['verify', '--json'], { cwd: b });
    expect(verify.code, verify.stderr).toBe(4);
    const error = (onlyDocument(verify) as { error: { code: string; message: string; hint: string; file?: string } }).error;
    expect(error.code).toBe('STORE_INCOMPLETE');
    expect(error.message).toContain(current);
    expect(error.hint).not.toMatch(/repair/i);

    const read = await deployScript(b, 'get', 'Router');
    expect(read.code, read.stdout + read.stderr).toBe(4);
    const failure = lastLine(read);
    expect(failure.code).toBe('STORE_INCOMPLETE');
    expect((failure.data as { missing: string[] }).missing).toContain(current);
    expect(String(failure.hint)).not.toMatch(/repair/i);

    // Nothing was written to the folder, and git sees nothing new.
    expect(await fileDigests(b, ['leveldb', 'deployments'])).toEqual(before);
    expect(porcelain(b)).toBe(gitBefore);
  });

  it('the committer: status names the files git does not have and the `git add` that fixes it; git stays as it was; once added, the clone opens', async () => {
    const { a, untracked } = await halfCommitted('a2');
    const gitBefore = porcelain(a);
    const digests = await fileDigests(a, ['leveldb', 'deployments']);
    const status = await deploystate(['status', '--json'], { cwd: a });
    expect(status.code, status.stderr).toBe(0);
    const warned = (onlyDocument(status) as { leveldbNotInGit?: { untracked: string[]; deleted: string[]; command: string } })
      .leveldbNotInGit;
    expect(warned?.untracked.map((file) => `leveldb/${file}`).sort()).toEqual([...untracked].sort());
    expect(warned?.command).toBe('git add -A -- leveldb');
    const text = await deploystate(['status'], { cwd: a });
    expect(text.stdout).toContain('git add -A -- leveldb');
    for (const file of untracked) expect(text.stdout).toContain(file.slice('leveldb/'.length));
    expect(porcelain(a)).toBe(gitBefore);
    expect(await fileDigests(a, ['leveldb', 'deployments'])).toEqual(digests);

    // The fix the warning names: the clone then opens LevelDB and reads the record.
    git(a, 'add', '-A', '--', 'leveldb');
    git(a, 'commit', '-q', '-m', 'LevelDB files the last commit left out');
    const clean = await deploystate(['status', '--json'], { cwd: a });
    expect((onlyDocument(clean) as { leveldbNotInGit?: unknown }).leveldbNotInGit).toBeUndefined();
    const b = join(fixture.root, 'b2');
    git(fixture.root, 'clone', '-q', a, b);
    const read = await deployScript(b, 'get', 'Router');
    expect(read.code, read.stdout + read.stderr).toBe(0);
    expect((lastLine(read).record as { contractName?: string } | null)?.contractName).toBe('Router');
  });

  it('before the commit: the deletions git has not staged are named too', async () => {
    const a = join(fixture.root, 'a3');
    await sampleAt(a);
    git(a, 'init', '-q');
    // init, in a repository, says how a committed LevelDB is staged.
    const init = await deploystate(['init', '--yes'], { cwd: a });
    expect(init.stdout).toContain('`git add -A -- leveldb`');
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'the project');
    const committed = git(a, 'ls-files', '--', 'leveldb')
      .split('\n')
      .filter((line) => /^leveldb\/(MANIFEST-\d+|\d+\.log)$/.test(line));
    const put = await deployScript(a, 'put', 'Router');
    expect(put.code, put.stdout + put.stderr).toBe(0);
    const gone = [];
    for (const file of committed) if (!(await stat(join(a, file)).catch(() => undefined))) gone.push(file.slice('leveldb/'.length));
    expect(gone.length).toBeGreaterThan(0);
    const status = await deploystate(['status', '--json'], { cwd: a });
    const warned = (onlyDocument(status) as { leveldbNotInGit?: { deleted: string[] } }).leveldbNotInGit;
    expect(warned?.deleted.sort()).toEqual(gone.sort());
  });

  it('a LevelDB folder that git does not track (or no repository at all): no warning', async () => {
    const a = join(fixture.root, 'a4');
    await sampleAt(a);
    const outside = await deploystate(['status', '--json'], { cwd: a });
    expect((onlyDocument(outside) as { leveldbNotInGit?: unknown }).leveldbNotInGit).toBeUndefined();
    await writeFile(join(a, '.gitignore'), 'leveldb/\n');
    git(a, 'init', '-q');
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'LevelDB kept out of git');
    const ignored = await deploystate(['status', '--json'], { cwd: a });
    expect((onlyDocument(ignored) as { leveldbNotInGit?: unknown }).leveldbNotInGit).toBeUndefined();
  });

  it('LevelDB files a .gitignore keeps out: named as ignored, with the `git add -f` that stages them; a clone without the log is STORE_INCOMPLETE', async () => {
    const a = join(fixture.root, 'a6');
    await sampleAt(a);
    await writeFile(join(a, '.gitignore'), '*.log\n');
    git(a, 'init', '-q');
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'the project, logs ignored');
    const logs = (await readdir(join(a, 'leveldb'))).filter((name) => name.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    const status = await deploystate(['status', '--json'], { cwd: a });
    const warned = (onlyDocument(status) as { leveldbNotInGit?: { untracked: string[]; ignored: string[]; command: string } })
      .leveldbNotInGit;
    expect(warned?.ignored).toEqual(logs);
    expect(warned?.untracked).toEqual([]);
    expect(warned?.command).toBe(`git add -A -- leveldb && git add -f -- ${logs.map((name) => `leveldb/${name}`).join(' ')}`);
    const b = join(fixture.root, 'b6');
    git(fixture.root, 'clone', '-q', a, b);
    const read = await deployScript(b, 'get', 'Router');
    expect(lastLine(read)).toMatchObject({ ok: false, code: 'STORE_INCOMPLETE', data: { missing: logs } });
  });

  it("a deploy script's put never runs git; status does (read-only)", async () => {
    const a = join(fixture.root, 'a5');
    await sampleAt(a);
    git(a, 'init', '-q');
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'the project');
    // A `git` first on PATH that leaves a mark, then runs the real one.
    const bin = join(fixture.root, 'fake-git-bin');
    const marks = join(fixture.root, 'git-runs');
    await mkdir(bin, { recursive: true });
    await mkdir(marks, { recursive: true });
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(join(bin, 'git'), `#!/bin/sh\ntouch "${marks}/run-$$"\nexec "${real}" "$@"\n`);
    await chmod(join(bin, 'git'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    const put = await deployScript(a, 'put', 'Router', env);
    expect(put.code, put.stdout + put.stderr).toBe(0);
    expect(await readdir(marks)).toEqual([]);
    const status = await deploystate(['status', '--json'], { cwd: a, env });
    expect((onlyDocument(status) as { leveldbNotInGit?: unknown }).leveldbNotInGit).toBeDefined();
    expect((await readdir(marks)).length).toBeGreaterThan(0);
  });
});

// Two branches each deploy (LevelDB's open rewrites CURRENT and MANIFEST on both) and are merged:
// git leaves LevelDB's files in conflict, and finishing the merge as it stands mixed both sides'
// files while status said nothing and compare called the stores identical.
describe('a merge that leaves LevelDB in conflict', () => {
  it('status names the files and the command that keeps one side whole; followed, LevelDB opens with that side', async () => {
    const a = join(fixture.root, 'merged');
    await sampleAt(a, [['init']]);
    git(a, 'init', '-q');
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'the project, LevelDB included');
    git(a, 'checkout', '-q', '-b', 'theirs');
    expect((await deployScript(a, 'put', 'OnTheirs')).code).toBe(0);
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'theirs deploys');
    git(a, 'checkout', '-q', 'main');
    expect((await deployScript(a, 'put', 'OnOurs')).code).toBe(0);
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '-m', 'ours deploys');
    expect(() => git(a, 'merge', '-q', 'theirs')).toThrow();
    expect(git(a, 'ls-files', '-u', '--', 'leveldb')).not.toBe('');

    const status = await deploystate(['status', '--json'], { cwd: a });
    const warned = (onlyDocument(status) as { leveldbNotInGit?: { unmerged: string[]; keepOneSide?: string } }).leveldbNotInGit;
    expect(warned?.unmerged.length).toBeGreaterThan(0);
    expect(warned?.keepOneSide).toBe('git restore --source=HEAD --staged --worktree -- leveldb');
    const human = await deploystate(['status'], { cwd: a });
    expect(human.stdout).toMatch(/in a merge conflict: .*Git cannot merge LevelDB/s);

    execFileSync('sh', ['-c', warned?.keepOneSide as string], { cwd: a });
    expect(git(a, 'ls-files', '-u', '--', 'leveldb')).toBe('');
    expect(lastLine(await deployScript(a, 'get', 'OnOurs')).record).toMatchObject({ contractName: 'OnOurs' });
    expect(lastLine(await deployScript(a, 'get', 'OnTheirs')).record).toBeNull();
  });
});
