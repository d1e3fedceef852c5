// A teammate's delete or update of a record this clone wrote arrives by a commit: HEAD moves past a
// commit that held the record, and HEAD's file lacks it or holds the teammate's version, whatever its
// timestamp. That is someone else's write, answered as it is and never put back; a write that git or
// a program lost (never committed, or committed only on a history HEAD left) still refuses.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { acknowledgeAll, demoMigration, runNode, useTempDir } from './helpers.js';
import { createStateStore, Migration } from '../src/index.js';

const tempDir = useTempDir('deploystate-committed-delete-');

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'pipe' });
}

function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', message);
}

async function getOne(dir: string, name: string): Promise<{ address?: string | null; code?: string; key?: string }> {
  const run = await runNode('get-one.mjs', [dir, '56', name]).done;
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { address?: string | null; code?: string; key?: string };
}

async function names<T extends { key: string }>(entries: AsyncIterable<T>): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of entries) out.push(entry.key);
  return out;
}

describe("a teammate's committed delete or update of a record this clone wrote", () => {
  it.each(['json-primary', 'json-only'] as const)('in %s is read as the teammate left it once pulled, is kept by repair-files, and a lost write still refuses', async (phase) => {
    const root = tempDir();
    const a = join(root, 'a');
    const b = join(root, 'b');
    const origin = join(root, 'origin.git');
    const migration = await demoMigration(a, 'json-primary');
    if (phase === 'json-only') await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    await migration.close();
    git(a, 'init', '-q');
    commitAll(a, 'state');
    git(root, 'init', '-q', '--bare', origin);
    git(a, 'push', '-q', origin, 'HEAD:main');

    // This clone's long-running script writes two records; both are committed and pushed.
    const script = createStateStore({ cwd: a, env: {} });
    await script.putContract(56, sampleRecord(56, 'Vault', 'bscmainnet', 3));
    await script.putContract(56, sampleRecord(56, 'Keeper', 'bscmainnet', 4));
    await script.putContract(56, sampleRecord(56, 'Verified', 'bscmainnet', 6));
    commitAll(a, 'vault and keeper');
    git(a, 'push', '-q', origin, 'HEAD:main');

    // A teammate deletes Vault and updates Verified keeping its timestamp (a script that marks it
    // verified), through the store; commits and pushes.
    git(root, 'clone', '-q', '-b', 'main', origin, b);
    const teammate = createStateStore({ cwd: b, env: {} });
    expect(await teammate.delete(56, 'Vault')).toBe(true);
    const verified = { ...(await teammate.getContract(56, 'Verified')), verified: true } as DeploymentRecord;
    await teammate.putContract(56, verified);
    await teammate.close();
    commitAll(b, 'drop vault');
    git(b, 'push', '-q', origin, 'HEAD:main');

    git(a, 'pull', '-q', '--no-rebase', origin, 'main');
    // Absent, for the script that wrote it and for a new one; lists, iterations and queries answer without it.
    expect(await script.getContract(56, 'Vault')).toBeNull();
    expect(await getOne(a, 'Vault')).toEqual({ address: null });
    expect((await script.getAllContracts(56)).map((r) => r.contractName)).not.toContain('Vault');
    expect(await names(script.iterate())).toContain('56-Keeper');
    expect(await script.query({ contractName: 'Vault' })).toEqual([]);
    expect(await script.getContract(56, 'Verified')).toMatchObject({ verified: true });

    // repair-files leaves it alone (listed as removed elsewhere); --removed would put it back from the journal.
    const reader = await Migration.open({ cwd: a });
    try {
      const plan = await reader.planFileRepair();
      expect(plan.actions).toEqual([]);
      expect(plan.changedElsewhere).toEqual(
        expect.arrayContaining([expect.objectContaining({ key: '56-Vault', kind: 'removed' }), expect.objectContaining({ key: '56-Verified', kind: 'newer' })]),
      );
      expect(plan.changedElsewhere).toHaveLength(2);
      const back = await reader.planFileRepair({ removed: true });
      expect(back.actions).toEqual([expect.objectContaining({ key: '56-Vault', action: 'put' })]);
      expect(back.records.get('56-Vault')?.address).toBe(sampleRecord(56, 'Vault', 'bscmainnet', 3).address);
    } finally {
      await reader.close();
    }

    // A write git lost before any commit held it still refuses, whatever HEAD did.
    await script.putContract(56, sampleRecord(56, 'Unsaved', 'bscmainnet', 5));
    git(a, 'checkout', '--', 'deployments/bscmainnet.json');
    expect(await getOne(a, 'Unsaved')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Unsaved' });
    await expect(script.getContract(56, 'Unsaved')).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE' });
    // So does one committed only on a history HEAD left (a reset past the commit is no teammate's delete).
    const again = await Migration.open({ cwd: a });
    await again.repairFiles();
    await again.close();
    commitAll(a, 'unsaved');
    git(a, 'reset', '-q', '--hard', 'HEAD~1');
    expect(await getOne(a, 'Unsaved')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Unsaved' });
    // Keeper, which HEAD's file still holds, reads as ever; Vault stays absent.
    expect((await getOne(a, 'Keeper')).address).toBe(sampleRecord(56, 'Keeper', 'bscmainnet', 4).address);
    expect(await getOne(a, 'Vault')).toEqual({ address: null });

    // A program that writes back an old copy drops Keeper, which HEAD's file holds: lost, not deleted.
    const file = join(a, 'deployments', 'bscmainnet.json');
    writeFileSync(file, execFileSync('git', ['show', 'HEAD~2:deployments/bscmainnet.json'], { cwd: a }));
    expect(await getOne(a, 'Keeper')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Keeper' });
    git(a, 'checkout', '--', 'deployments/bscmainnet.json');

    // This clone writes Vault again after the teammate's delete, and git loses it: a commit held another Vault, never this one.
    await script.putContract(56, sampleRecord(56, 'Vault', 'bscmainnet', 9));
    git(a, 'checkout', '--', 'deployments/bscmainnet.json');
    expect(await getOne(a, 'Vault')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Vault' });
    await script.close();
  });
});

describe('a record written and committed on a feature branch, then another branch checked out', () => {
  it('is on that branch, not lost: reads answer as the checkout holds, verify lists it, and the branch brings it back; a reset past it still refuses', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-primary')).close();
    git(dir, 'init', '-q');
    commitAll(dir, 'state');
    git(dir, 'checkout', '-q', '-b', 'feature');
    const script = createStateStore({ cwd: dir, env: {} });
    const onFeature = sampleRecord(56, 'OnFeature', 'bscmainnet', 8);
    await script.putContract(56, onFeature);
    await script.close();
    commitAll(dir, 'deployed on the feature branch');
    git(dir, 'checkout', '-q', 'main');

    expect(await getOne(dir, 'OnFeature')).toEqual({ address: null });
    // The chain's other records read as ever (before, every read of chain 56 was FOREIGN_OVERWRITE).
    expect((await getOne(dir, 'LookCoin')).address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const migration = await Migration.open({ cwd: dir });
    try {
      const verify = await migration.verify();
      expect(verify.files?.findings).toEqual([]);
      expect(verify.files?.changedElsewhere).toEqual([expect.objectContaining({ key: '56-OnFeature', kind: 'other-branch' })]);
      expect((await migration.planFileRepair({ removed: true })).actions).toEqual([]);
    } finally {
      await migration.close();
    }
    git(dir, 'checkout', '-q', 'feature');
    expect((await getOne(dir, 'OnFeature')).address).toBe(onFeature.address);

    // A reset past the commit that held it leaves no branch holding it: lost, as before.
    git(dir, 'reset', '-q', '--hard', 'HEAD~1');
    git(dir, 'branch', '-q', '-D', 'main');
    expect(await getOne(dir, 'OnFeature')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-OnFeature' });
  });
});
