// A team's repository commits leveldb/, deployments/, the config and the phase file. Proven on
// real git repositories: read-only commands change no byte and leave `git status` clean; the
// runbook's commands, in the runbook's order, all exit 0 once the decisions analyze proposes are
// recorded; a teammate's json-only write pulled through git is carried back by rollback; and a
// LevelDB changed after cut-over is reported by the other clone's verify, then folded in.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { fileDigests } from '@deploystate/core/testing';
import { createStateStore } from '@deploystate/migrator';
import { JsonFileStore } from '@deploystate/backend-json';
import { deploystate, useSample, type Run, onlyDocument } from './helpers.js';

const fixture = useSample('deploystate-cli-team-');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

/** sha256 of every file under the LevelDB and deployments folders, by path. */

async function ok(run: Promise<Run>, what: string): Promise<Run> {
  const done = await run;
  expect(done.code, `${what}\n${done.stdout}\n${done.stderr}`).toBe(0);
  return done;
}

/** Runs a command that must only read: every file under leveldb/ and deployments/ and `git status` stay as they were. */
async function readOnly(repo: string, args: string[]): Promise<Run> {
  const before = await fileDigests(repo, ['leveldb', 'deployments']);
  const status = git(repo, 'status', '--porcelain', '--untracked-files=all');
  const run = await deploystate(args, { cwd: repo });
  expect(await fileDigests(repo, ['leveldb', 'deployments']), args.join(' ')).toEqual(before);
  expect(git(repo, 'status', '--porcelain', '--untracked-files=all'), args.join(' ')).toBe(status);
  return run;
}

function commitAll(repo: string, message: string): void {
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', message);
}

/**
 * A teammate's clone of `repo` writes `record` straight into the stores named (as a flow that never
 * went through this migration does), commits, and `repo` pulls it.
 */
async function pulledFromClone(
  repo: string,
  name: string,
  record: DeploymentRecord,
  sides: Array<'leveldb' | 'json'>,
  message: string,
): Promise<void> {
  const clone = join(fixture.root, name);
  git(fixture.root, 'clone', '-q', repo, clone);
  const stores = sides.map((side) =>
    side === 'leveldb'
      ? new LevelDbStore({ path: join(clone, 'leveldb'), idleCloseMs: 0 })
      : new JsonFileStore({ dir: join(clone, 'deployments') }),
  );
  for (const store of stores) {
    await store.open();
    await store.put(record);
    await store.close();
  }
  commitAll(clone, message);
  git(repo, 'pull', '-q', clone, 'main');
}

describe('a store committed to git', () => {
  it('proposes the decisions; then the runbook runs green in order, and no read-only command changes a byte in any phase', async () => {
    const repo = fixture.sample;
    await ok(deploystate(['init'], { cwd: repo }), 'init');
    git(repo, 'init', '-q');
    commitAll(repo, 'the project as it is');

    const analyze = await readOnly(repo, ['analyze', '--json']);
    const analysis = onlyDocument(analyze) as {
      proposals: { exclude: { keys: string[]; command: string } | null; acknowledge: Array<{ command: string; key: string }> };
    };
    // Only dev-chain records that cannot be valid are proposed for exclusion.
    expect(analysis.proposals.exclude?.keys).toEqual(['31337-LookCoin', '31337-TestToken']);
    expect(analysis.proposals.acknowledge.map((a) => a.key)).toEqual(['56-FeeManager', '97-FeeManager']);

    // The operator makes the proposed decisions with the exact commands analyze printed.
    for (const command of [analysis.proposals.exclude!.command, ...analysis.proposals.acknowledge.map((a) => a.command)]) {
      const [bin, ...args] = command.split(' ');
      expect(bin).toBe('deploystate');
      await ok(deploystate(args, { cwd: repo }), command);
    }
    expect(git(repo, 'status', '--porcelain').trim()).toBe('M deploystate.config.json');
    commitAll(repo, 'migration decisions');

    // The runbook's commands in its order (bench, project checks and the slow kill drill aside),
    // with the phase changes it implies; unattended steps confirm with --yes. `true` = read-only.
    const runbook: Array<[string[], boolean]> = [
      [['analyze'], true],
      [['check'], true],
      [['check', '--precision'], true],
      [['status', '--probe'], true],
      // Nothing to roll back yet: no question (no --yes, no terminal) and nothing written.
      [['rollback'], true],
      [['dual-write', 'enable', '--yes'], false],
      [['dual-write', 'verify'], false],
      [['compare'], true],
      [['migrate', '--dry-run'], true],
      [['migrate', '--yes'], false],
      [['monitor'], true],
      [['verify'], true],
      [['compare'], true],
      [['drill', 'json-backend'], true],
      [['drill', 'cross-network'], true],
      [['drill', 'edge-cases'], true],
      [['promote', '--yes'], false],
      [['cutover', '--dry-run'], true],
      [['rollback', '--ready'], true],
      [['cutover', '--yes'], false],
      [['status', '--expect', 'json-only', '--probe'], true],
      [['validate'], true],
      [['export', '--from', 'json', '../export.json'], true],
      [['report'], true],
    ];
    // Teammates follow the phase once it is committed: each command that changed something the team
    // commits ends with the one `git add` that stages all of it (pasted here as printed), nothing else does.
    const shared = ['leveldb', 'deployments', '.deploystate/phase.json', 'deploystate.config.json'];
    for (const [args, onlyReads] of runbook) {
      const run = await ok(onlyReads ? readOnly(repo, args) : deploystate(args, { cwd: repo }), args.join(' '));
      const last = run.stdout.trimEnd().split('\n').at(-1) ?? '';
      const add = /^commit for your team: `(git add -A -- [^`]+) && git commit`$/.exec(last)?.[1];
      if (onlyReads || args[1] === 'verify') {
        expect(run.stdout, args.join(' ')).not.toContain('commit for your team');
        continue;
      }
      expect(add, `${args.join(' ')}:\n${run.stdout}`).toBeDefined();
      execFileSync('sh', ['-c', add as string], { cwd: repo });
      expect(git(repo, 'diff', '--name-only', '--', ...shared), `${args.join(' ')}: ${add}`).toBe('');
      expect(git(repo, 'ls-files', '--others', '--exclude-standard', '--', ...shared), `${args.join(' ')}: ${add}`).toBe('');
    }

    // What the team workflow commits: the data, the config and the phase file; nothing local.
    const changed = git(repo, 'status', '--porcelain', '--untracked-files=all');
    expect(changed).toContain('.deploystate/phase.json');
    expect(changed).not.toMatch(/\.deploystate\/(?!phase\.json)/);
    const status = onlyDocument(await deploystate(['status', '--json'], { cwd: repo })) as {
      decisions: { excluded: string[]; acknowledged: unknown[] };
    };
    expect(status.decisions.excluded).toEqual(['31337-LookCoin', '31337-TestToken']);
    expect(status.decisions.acknowledged).toHaveLength(2);
    commitAll(repo, 'cut over to json-only');
  }, 180_000);

  it('reports a LevelDB changed after cut-over in another clone, by key, and folds it into JSON', async () => {
    const repo = fixture.sample;
    // A clone that still ran an old deploy flow on LevelDB writes a record there and pushes it.
    const late = sampleRecord(56, 'LateDeploy', 'bscmainnet');
    await pulledFromClone(repo, 'stale', late, ['leveldb'], 'deployed on the old LevelDB flow');

    const verify = await deploystate(['verify', '--json'], { cwd: repo });
    expect(verify.code).toBe(1);
    const since = (onlyDocument(verify) as { leveldbSinceCutover: { changed: boolean; changes: unknown[] } }).leveldbSinceCutover;
    expect(since.changed).toBe(true);
    expect(since.changes).toEqual([{ key: '56-LateDeploy', change: 'added' }]);
    // The text's last line agrees with the exit code: not clean, saying why.
    const text = await deploystate(['verify'], { cwd: repo });
    expect(text.code).toBe(1);
    expect(text.stdout).not.toContain('verify clean');
    expect(text.stdout).toMatch(/verify not clean: \d+ differences, 0 schema errors, LevelDB written since the cut-over \(1 key\(s\)\)/);
    const status = await deploystate(['status'], { cwd: repo });
    expect(status.stdout).toContain('56-LateDeploy');

    await ok(deploystate(['fold-in', '--yes'], { cwd: repo }), 'fold-in');
    const reader = createStateStore({ cwd: repo });
    await reader.open();
    try {
      expect(await reader.getContract(56, 'LateDeploy')).toEqual(late);
    } finally {
      await reader.close();
    }
    const after = onlyDocument(await deploystate(['status', '--json'], { cwd: repo })) as {
      leveldbSinceCutover: { changed: boolean };
    };
    expect(after.leveldbSinceCutover.changed).toBe(false);
    commitAll(repo, 'folded in LateDeploy');
  }, 60_000);
  it('a record written to LevelDB and JSON alike since the cut-over (a json-primary write pulled late): verify has no difference, exits 1 and its last line says why', async () => {
    const repo = fixture.sample;
    const record = sampleRecord(97, 'WrittenBothSides', 'bsctestnet');
    await pulledFromClone(repo, 'late-both', record, ['leveldb', 'json'], 'a json-primary write made before the cut-over was pulled');
    const verify = await deploystate(['verify'], { cwd: repo });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('97-WrittenBothSides');
    expect(verify.stdout).not.toContain('verify clean');
    expect(verify.stdout).toContain('verify not clean: 0 differences, 0 schema errors, LevelDB written since the cut-over (1 key(s))');
    await ok(deploystate(['fold-in', '--yes'], { cwd: repo }), 'fold-in');
    expect((await deploystate(['verify'], { cwd: repo })).code).toBe(0);
    commitAll(repo, 'folded in');
  }, 60_000);

  it("carries a teammate's json-only write, pulled through git, back into LevelDB on rollback", async () => {
    const clone = join(fixture.root, 'teammate');
    git(fixture.root, 'clone', '-q', fixture.sample, clone);
    // The teammate's deploy script writes in json-only (the phase came with the clone) and pushes.
    const record = sampleRecord(97, 'TeammateVault', 'bsctestnet');
    const store = createStateStore({ cwd: clone });
    await store.open();
    expect(store.phase).toBe('json-only');
    await store.put(record);
    await store.close();
    commitAll(clone, 'deploy TeammateVault');
    git(fixture.sample, 'pull', '-q', clone, 'main');

    // This clone's journal never saw the write; the rollback carries it back all the same.
    await ok(deploystate(['rollback', '--yes'], { cwd: fixture.sample }), 'rollback');
    const leveldb = new LevelDbStore({ path: join(fixture.sample, 'leveldb'), readOnly: true, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'TeammateVault')).toEqual(record);
      // The recorded exclusions stay as they were: never written to LevelDB from JSON, never deleted.
      expect(await leveldb.get(31337, 'TestToken')).not.toBeNull();
    } finally {
      await leveldb.close();
    }
  }, 60_000);
});
