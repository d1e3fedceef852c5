// Two teammates deploy on two branches: with the driver that `init` registers, git merges the
// deployment file by record. Real git repositories, the built binary as the driver.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalEncode, parseLossless, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { JsonFileStore, lockFileFor, mergeStateFiles, resolveConflicts, withFileLock } from '@deploystate/backend-json';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { hasWaiters } from '@deploystate/backend-json/lock';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { BIN, childEnv, deploystate, onlyDocument } from './helpers.js';

let repo: string;
const FILE = join('deployments', 'bscmainnet.json');

/** git in the test repository, isolated from the machine's own git configuration. */
function git(...args: string[]): { code: number | null; out: string } {
  const run = spawnSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: childEnv({
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    }),
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

function gitOk(...args: string[]): string {
  const run = git(...args);
  expect(run.code, `git ${args.join(' ')}: ${run.out}`).toBe(0);
  return run.out;
}

/** The driver as a clone configures it, with this build's binary instead of npx. */
function configureDriver(): void {
  gitOk('config', 'merge.deploystate.name', 'deploystate: merge deployment state by record');
  gitOk('config', 'merge.deploystate.driver', `"${process.execPath}" "${BIN}" merge-file %O %A %B %P`);
}

/** Writes records through the JSON store, as a deploy script does after cut-over, and commits. */
async function deploy(message: string, records: DeploymentRecord[], deletes: string[] = []): Promise<void> {
  const store = new JsonFileStore({ dir: join(repo, 'deployments'), create: true });
  await store.open();
  for (const record of records) await store.put(record);
  for (const name of deletes) await store.delete(56, name);
  await store.close();
  gitOk('add', '-A');
  gitOk('commit', '-q', '-m', message);
}

async function fileRecords(): Promise<Record<string, unknown>> {
  return (parseLossless(await readFile(join(repo, FILE), 'utf8')) as { records: Record<string, unknown> }).records;
}

const record = (name: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  ...sampleRecord(56, name, 'bscmainnet'),
  ...overrides,
});

beforeEach(async () => {
  repo = await makeTempDir('deploystate-git-');
  gitOk('init', '-q', '-b', 'main');
  await writeFile(join(repo, '.gitignore'), '.deploystate/\ndeployments/.deploystate/\n');
  const init = await deploystate(['init', '--json'], { cwd: repo });
  expect(init.code, init.stderr).toBe(0);
  expect(onlyDocument(init).gitattributes).toMatchObject({ status: 'added', line: 'deployments/*.json merge=deploystate' });
  expect(await readFile(join(repo, '.gitattributes'), 'utf8')).toBe('deployments/*.json merge=deploystate\n');
  await deploy('base', [record('Token')]);
});
afterEach(async () => removeTempDir(repo));

describe('git merge of deployments/<network>.json with the deploystate driver', () => {
  it('two branches adding different contracts to one chain merge cleanly, both records exact', async () => {
    configureDriver();
    const vaultA = record('NewVaultA', { address: '0x' + 'aa'.repeat(20), deploymentArgs: [2n ** 80n + 7n] });
    const vaultB = record('NewVaultB', { address: '0x' + 'bb'.repeat(20), timestamp: 10n ** 20n });
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('deploy A', [vaultA]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('deploy B', [vaultB]);
    gitOk('merge', '--no-edit', 'a');

    const records = await fileRecords();
    expect(Object.keys(records)).toEqual(['NewVaultA', 'NewVaultB', 'Token']);
    expect(records.NewVaultA).toEqual(vaultA);
    expect(records.NewVaultB).toEqual(vaultB);
    // The merged file is in the store's own format: a store that rewrites it changes no byte.
    const before = await readFile(join(repo, FILE), 'utf8');
    const store = new JsonFileStore({ dir: join(repo, 'deployments') });
    await store.open();
    await store.put(record('Token', { deploymentArgs: ['rewrite'] }));
    await store.put(record('Token'));
    await store.close();
    expect(await readFile(join(repo, FILE), 'utf8')).toBe(before);
  });

  it('two branches changing different fields of one record merge', async () => {
    configureDriver();
    const token = record('Token');
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('args', [{ ...token, deploymentArgs: ['changed on a'] }]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('proxy', [{ ...token, proxyAddress: '0x' + 'cd'.repeat(20) }]);
    gitOk('merge', '--no-edit', 'a');
    expect((await fileRecords()).Token).toEqual({ ...token, deploymentArgs: ['changed on a'], proxyAddress: '0x' + 'cd'.repeat(20) });
  });

  it('two branches upgrading one contract differently stop with a conflict naming it; merge-resolve finishes it', async () => {
    configureDriver();
    const token = record('Token');
    const onA = {
      ...token,
      address: '0x' + 'aa'.repeat(20),
      implementationHash: '0x' + 'a1'.repeat(32),
      timestamp: Number(token.timestamp) + 1,
    };
    const onB = {
      ...token,
      address: '0x' + 'bb'.repeat(20),
      implementationHash: '0x' + 'b2'.repeat(32),
      timestamp: Number(token.timestamp) + 2,
    };
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('upgrade on a', [onA]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('upgrade on b', [onB]);
    const merge = git('merge', '--no-edit', 'a');
    expect(merge.code).not.toBe(0);
    expect(merge.out).toContain('records/Token');

    // Still JSON; both whole versions kept; ours in place; no record that neither side wrote.
    const text = await readFile(join(repo, FILE), 'utf8');
    const doc = parseLossless(text) as { $conflicts: { records: Record<string, unknown> }; records: Record<string, unknown> };
    expect(doc.$conflicts.records.Token).toEqual({ base: token, ours: onB, theirs: onA });
    expect(doc.records.Token).toEqual(onB);
    expect(text).not.toMatch(/^<{7}/m);

    const validate = await deploystate(['validate', '--json'], { cwd: repo });
    expect(validate.code).toBe(1);
    const findings = (onlyDocument(validate) as { findings: Array<{ code: string; key?: string }> }).findings;
    expect(findings.filter((f) => f.code === 'MERGE_CONFLICT').map((f) => f.key)).toEqual(['56-Token']);

    const listed = await deploystate(['merge-resolve', '--json'], { cwd: repo });
    expect(listed.code).toBe(1);
    expect(onlyDocument(listed)).toMatchObject({
      open: 1,
      files: [{ file: FILE, open: [{ section: 'records', name: 'Token', ours: onB, theirs: onA }] }],
    });

    const resolved = await deploystate(['merge-resolve', FILE, '--pick', 'Token=theirs'], { cwd: repo });
    expect(resolved.code, resolved.stderr).toBe(0);
    expect((await fileRecords()).Token).toEqual(onA);
    expect((await deploystate(['validate', '--json'], { cwd: repo })).code).toBe(0);
    gitOk('add', FILE);
    gitOk('commit', '-q', '--no-edit');
  });

  // A record both sides added (the base lacks it) was listed as "changed on both sides"; and during
  // `git pull --rebase` ours is upstream and theirs your own commit, which nothing said.
  it('merge-resolve says a record both sides added was added, and during a rebase which side is yours', async () => {
    configureDriver();
    const vaultA = record('NewVault', { address: '0x' + 'aa'.repeat(20) });
    const vaultB = record('NewVault', { address: '0x' + 'bb'.repeat(20) });
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('deploy A', [vaultA]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('deploy B', [vaultB]);

    expect(git('rebase', 'a').code).not.toBe(0);
    const rebasing = await deploystate(['merge-resolve'], { cwd: repo });
    expect(rebasing.code).toBe(1);
    expect(rebasing.stdout).toContain('records/NewVault: added on both sides');
    expect(rebasing.stdout).not.toContain('changed on both sides');
    expect(rebasing.stdout).toMatch(/git is rebasing .*ours is the upstream branch, theirs is your own commit/);
    gitOk('rebase', '--abort');

    expect(git('merge', '--no-edit', 'a').code).not.toBe(0);
    const merging = await deploystate(['merge-resolve'], { cwd: repo });
    expect(merging.stdout).toContain('records/NewVault: added on both sides');
    expect(merging.stdout).not.toContain('rebasing');
  });

  it('a side naming a record twice stops the merge, merged by line with every value kept, naming the file', async () => {
    configureDriver();
    const token = record('Token');
    const other = '0x' + 'aa'.repeat(20);
    // A bad hand merge on one branch left Token twice: a merge by record would keep only the last.
    gitOk('checkout', '-q', '-b', 'a');
    const clean = await readFile(join(repo, FILE), 'utf8');
    const entry = /^ {4}"Token": \{[\s\S]*?\n {4}\}/m.exec(clean)?.[0] as string;
    await writeFile(join(repo, FILE), clean.replace(entry, `${entry.replace(token.address as string, other)},\n${entry}`));
    gitOk('commit', '-q', '-am', 'bad hand merge');
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('deploy B', [record('NewVaultB', { address: '0x' + 'bb'.repeat(20) })]);

    const merge = git('merge', '--no-edit', 'a');
    expect(merge.code, merge.out).not.toBe(0);
    expect(merge.out).toContain(FILE);
    expect(gitOk('ls-files', '-u', '--', FILE)).not.toBe('');
    const text = await readFile(join(repo, FILE), 'utf8');
    for (const value of [other, token.address as string, '0x' + 'bb'.repeat(20)]) expect(text).toContain(value);

    // The driver's own answer: exit 1 and the DUPLICATE_KEY it met, even when the line merge is clean.
    const sides = join(repo, 'sides');
    await mkdir(sides);
    await writeFile(join(sides, 'base'), clean);
    const ours = gitOk('show', `a:${FILE}`);
    await writeFile(join(sides, 'ours'), ours);
    await writeFile(join(sides, 'theirs'), clean);
    const run = await deploystate(['merge-file', join(sides, 'base'), join(sides, 'ours'), join(sides, 'theirs'), FILE, '--json'], {
      cwd: repo,
    });
    expect(run.code).toBe(1);
    expect(onlyDocument(run)).toMatchObject({ file: FILE, merge: 'lines', clean: false, duplicate: { code: 'DUPLICATE_KEY', file: FILE } });
    expect(await readFile(join(sides, 'ours'), 'utf8')).toBe(ours);
  });

  it('merge-resolve resolves under the store lock: one running meanwhile waits, then starts from the file the other left', async () => {
    configureDriver();
    const upgrade = (name: string, byte: string): DeploymentRecord => ({
      ...record(name),
      address: '0x' + byte.repeat(20),
      timestamp: Number(record(name).timestamp) + byte.charCodeAt(0),
    });
    await deploy('vault', [record('Vault')]);
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('upgrade on a', [upgrade('Token', 'aa'), upgrade('Vault', 'a1')]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('upgrade on b', [upgrade('Token', 'bb'), upgrade('Vault', 'b1')]);
    expect(git('merge', '--no-edit', 'a').code).not.toBe(0);

    const file = join(repo, FILE);
    let child: Promise<Awaited<ReturnType<typeof deploystate>>> | undefined;
    await withFileLock(file, async () => {
      // Another resolve holds the file: this one must wait for it, not write past it.
      let exited = false;
      child = deploystate(['merge-resolve', FILE, '--pick', 'Token=theirs', '--json'], { cwd: repo });
      void child.then(() => (exited = true));
      for (let i = 0; i < 500 && !exited && !hasWaiters(lockFileFor(file)); i++) await new Promise((r) => setTimeout(r, 20));
      expect(exited, 'merge-resolve wrote without waiting for the lock').toBe(false);
      expect(hasWaiters(lockFileFor(file))).toBe(true);
      const text = await readFile(file, 'utf8');
      await writeFileDurable(file, resolveConflicts(text, { file, picks: new Map([['Vault', 'ours']]) }).text);
    });
    const resolved = await (child as NonNullable<typeof child>);
    expect(resolved.code, resolved.stderr).toBe(0);
    const records = await fileRecords();
    expect(records.Token).toEqual(upgrade('Token', 'aa'));
    expect(records.Vault).toEqual(upgrade('Vault', 'b1'));
    expect(await readFile(file, 'utf8')).not.toContain('$conflicts');
  });

  it('merge-resolve never reads nor writes through a link at the file’s path (NOT_A_FILE)', async () => {
    const token = record('Token');
    const base = await readFile(join(repo, FILE), 'utf8');
    const side = async (address: string): Promise<string> => {
      const dir = await makeTempDir('deploystate-side-');
      try {
        const store = new JsonFileStore({ dir, create: true });
        await store.open();
        await store.put({ ...token, address });
        await store.close();
        return await readFile(join(dir, 'bscmainnet.json'), 'utf8');
      } finally {
        await removeTempDir(dir);
      }
    };
    const merged = mergeStateFiles(
      { base, ours: await side('0x' + 'aa'.repeat(20)), theirs: await side('0x' + 'bb'.repeat(20)) },
      { file: FILE },
    );
    expect(merged.conflicts).toHaveLength(1);
    // The conflicted file kept outside the folder, a link to it in its place.
    const outside = join(repo, 'outside.json');
    await writeFile(outside, merged.text);
    await rm(join(repo, FILE));
    await symlink(outside, join(repo, FILE));

    const run = await deploystate(['merge-resolve', FILE, '--all', 'theirs', '--json'], { cwd: repo });
    expect(run.code).not.toBe(0);
    expect(onlyDocument(run)).toMatchObject({ ok: false, error: { code: 'NOT_A_FILE' } });
    expect(await readlink(join(repo, FILE))).toBe(outside);
    expect(await readFile(outside, 'utf8')).toBe(merged.text);
  });

  it('without the driver git interleaves two new records between markers; the validator names both, and checkout --merge redoes it by record', async () => {
    const vaultA = record('NewVaultA', { address: '0x' + 'aa'.repeat(20) });
    const vaultB = record('NewVaultB', { address: '0x' + 'bb'.repeat(20) });
    gitOk('checkout', '-q', '-b', 'a');
    await deploy('deploy A', [vaultA]);
    gitOk('checkout', '-q', '-b', 'b', 'main');
    await deploy('deploy B', [vaultB]);
    expect(git('merge', '--no-edit', 'a').code).not.toBe(0);
    expect(await readFile(join(repo, FILE), 'utf8')).toMatch(/^<{7}/m);

    const validate = await deploystate(['validate', '--json'], { cwd: repo });
    expect(validate.code).toBe(1);
    const conflict = (onlyDocument(validate) as { findings: Array<{ code: string; message: string }> }).findings.find(
      (f) => f.code === 'MERGE_CONFLICT',
    );
    expect(conflict?.message).toMatch(/NewVaultA/);
    expect(conflict?.message).toMatch(/NewVaultB/);

    configureDriver();
    gitOk('checkout', '--merge', '--', FILE);
    const records = await fileRecords();
    expect(Object.keys(records)).toEqual(['NewVaultA', 'NewVaultB', 'Token']);
    expect(canonicalEncode(records.NewVaultA)).toBe(canonicalEncode(vaultA));
    expect(canonicalEncode(records.NewVaultB)).toBe(canonicalEncode(vaultB));
  });
});
