// A git merge that began before a put returned can overwrite the put's file: merge refreshes the
// index at its start and later writes the merged file without looking at the work tree again (the
// walk of the runbook lost 3-10 acknowledged puts in 4-5 pulls of a teammate's clone). Whatever
// rewrote the file, a read of a key the store wrote there and never deleted must not answer null:
// a deploy flow deploys the contract again on null.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { acknowledgeAll, collectWarnings, demoMigration, runNode, useTempDir } from './helpers.js';
import { acceptNetworkFiles, createStateStore } from '../src/index.js';

const tempDir = useTempDir('deploystate-lost-read-');

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' });
}

async function getOne(dir: string, name: string): Promise<{ address?: string | null; code?: string; key?: string; file?: string }> {
  const run = await runNode('get-one.mjs', [dir, '56', name]).done;
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { address?: string | null; code?: string; key?: string; file?: string };
}

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

describe('a put the file lost to git', () => {
  it.each(['json-primary', 'json-only'] as const)('in %s is FOREIGN_OVERWRITE on a read, a list, an iteration or a query that would answer without it, never null, until repaired or accepted', async (phase) => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    if (phase === 'json-only') await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'state');
    const file = join(dir, 'deployments', 'bscmainnet.json');

    // A long-running script puts a record; another puts one and ends.
    const script = createStateStore({ cwd: dir, env: {} });
    await script.putContract(56, sampleRecord(56, 'Vault', 'bscmainnet', 3));
    const put = await runNode('put-one.mjs', [dir, '56', 'Router2', 'bscmainnet']).done;
    expect(put.code, put.stderr).toBe(0);
    expect((await getOne(dir, 'Router2')).address).toMatch(/^0x/);

    // git writes the committed file over both puts (what the merge of a pull does in its window).
    git(dir, 'checkout', '--', 'deployments/bscmainnet.json');

    expect(await getOne(dir, 'Router2')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Router2', file });
    // The script's next put to that file finds the loss (and lands); its reads still do not answer null.
    await script.putContract(56, sampleRecord(56, 'Vault2', 'bscmainnet', 4));
    // The file is now the version the store last wrote, on top of the loss: a new script's read still sees it.
    expect(await getOne(dir, 'Router2')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Router2', file });
    await expect(script.getContract(56, 'Vault')).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Vault', file });
    await expect(script.has(56, 'Router2')).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Router2' });
    // Nor does a list of the chain answer without them (a flow deploys what it leaves out); other chains list as before.
    await expect(script.getAllContracts(56)).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    await expect(script.list(56)).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    expect((await script.list(97)).length).toBeGreaterThan(0);
    // Nor an iteration or a query across chains, nor one of that chain; a chain whose file holds everything iterates.
    await expect(collect(script.iterate())).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    await expect(collect(script.iterate({ chainId: 56 }))).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    await expect(script.query({ contractName: 'Vault' })).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    expect((await collect(script.iterate({ chainId: 97 }))).length).toBeGreaterThan(0);
    // A key the store never wrote is absent, as before; one the file holds is read.
    expect(await getOne(dir, 'NeverDeployed')).toEqual({ address: null });
    expect((await getOne(dir, 'LookCoin')).address).toMatch(/^0x/);

    // repair-files puts the records back: both reads answer them.
    await migration.repairFiles();
    expect((await getOne(dir, 'Router2')).address).toBe(sampleRecord(56, 'Router2', 'bscmainnet', 7).address);
    expect((await script.getContract(56, 'Vault'))?.address).toBe(sampleRecord(56, 'Vault', 'bscmainnet', 3).address);
    expect((await script.getAllContracts(56)).map((r) => r.contractName)).toEqual(expect.arrayContaining(['Router2', 'Vault', 'Vault2']));
    expect((await collect(script.iterate())).map((e) => e.key)).toEqual(expect.arrayContaining(['56-Router2', '56-Vault']));
    // A file gone from the folder altogether is no chain to iterate, but its records are still lost.
    renameSync(file, `${file}.away`);
    await expect(collect(script.iterate())).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
    renameSync(`${file}.away`, file);

    // Removed on purpose and accepted: absent again.
    git(dir, 'checkout', '--', 'deployments/bscmainnet.json');
    await expect(script.getContract(56, 'Vault')).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE' });
    await acceptNetworkFiles({ cwd: dir });
    expect(await getOne(dir, 'Router2')).toEqual({ address: null });
    expect(await script.getContract(56, 'Vault')).toBeNull();
    expect((await script.list(56)).map((r) => r.contractName)).not.toContain('Vault');
    expect(await script.query({ contractName: 'Vault' })).toEqual([]);
    await script.close();
  });

  it('a read whose check for a lost write cannot run (the journal unreadable) answers from the file and says so once, naming the file', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const before = readFileSync(file);
    const put = await runNode('put-one.mjs', [dir, '56', 'Router2', 'bscmainnet']).done;
    expect(put.code, put.stderr).toBe(0);
    // Other code writes the file back without the put, and the journal cannot be read (a folder where it belongs).
    writeFileSync(file, before);
    const journal = join(dir, '.deploystate', 'journal.ndjson');
    renameSync(journal, `${journal}.away`);
    mkdirSync(journal);

    const script = createStateStore({ cwd: dir, env: {} });
    const { warnings } = await collectWarnings(async () => {
      try {
        expect(await script.getContract(56, 'Router2')).toBeNull();
        expect(await script.getContract(56, 'Router3')).toBeNull();
      } finally {
        await script.close();
      }
    });
    // Once, for the cause, naming the file and what the null may be.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'NOT_A_FILE', file });
    expect(warnings[0]?.message).toContain('could not check');
    expect(warnings[0]?.message).toContain('a null is not proof it was never deployed');

    // Readable again: the loss is found, as for any read.
    rmdirSync(journal);
    renameSync(`${journal}.away`, journal);
    expect(await getOne(dir, 'Router2')).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-Router2', file });
  });
});
