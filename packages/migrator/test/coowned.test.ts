// Files other code writes too: a deploy flow that loads deployments/<network>.json early, puts a
// record through createStateStore() and writes the loaded object back, run as real processes in
// every phase where JSON is written. Nothing it drops stays lost, and nothing is reverted.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { JsonNumber, NetworkRegistry, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import type { Migration } from '../src/index.js';
import { demoMigration, runNode, useTempDir } from './helpers.js';
import { createStateStore, findDirectWrites, Journal, resolvePaths, stateFiles } from '../src/index.js';
import { OverwriteWatch } from '../src/coowned.js';

const tempDir = useTempDir('deploystate-coowned-');
const ACKS = ['31337-LookCoin', '31337-TestToken', 'MISSING_IMPLEMENTATION_HASH'];
const BIG = 18446744073709551617n;

type Phase = 'dual-write' | 'json-primary' | 'json-only';

async function migrationIn(dir: string, phase: Phase): Promise<Migration> {
  const migration = await demoMigration(dir, phase === 'dual-write' ? 'copied' : 'json-primary');
  if (phase === 'json-only') await migration.cutover({ acknowledge: ACKS });
  return migration;
}

async function deploy(dir: string, name: string, mode: 'writeback' | 'late-writeback' | 'update'): Promise<string> {
  const run = await runNode('legacy-deploy.mjs', [dir, 'bscmainnet', '56', name, mode]).done;
  expect(run.code, run.stderr).toBe(0);
  return run.stderr;
}

async function fileDoc(dir: string): Promise<Record<string, unknown>> {
  return parseLossless(await readFile(join(dir, 'deployments', 'bscmainnet.json'), 'utf8')) as Record<string, unknown>;
}

async function jsonRecord(dir: string, name: string): Promise<DeploymentRecord | null> {
  const store = new JsonFileStore({ dir: join(dir, 'deployments'), cache: false });
  await store.open();
  try {
    return await store.get(56, name);
  } finally {
    await store.close();
  }
}

describe.each<Phase>(['dual-write', 'json-primary', 'json-only'])('a loaded-early object written back in %s', (phase) => {
  it('is found by verify, reported by the next put (which still lands), stops the gates, and repair restores it exactly', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, phase);
    await deploy(dir, 'NewVault', 'writeback');
    const lost = await fileDoc(dir);
    expect(Object.keys(lost.records as object)).not.toContain('NewVault');

    const verify = await migration.verify();
    expect(verify.clean).toBe(false);
    // The record the script never saw is gone; a copied record it loaded comes back with its big number rounded.
    const file = join(dir, 'deployments', 'bscmainnet.json');
    expect(verify.files?.findings).toEqual([
      expect.objectContaining({ key: '56-LookCoin', kind: 'changed', file }),
      expect.objectContaining({ key: '56-NewVault', kind: 'missing', file }),
    ]);
    const lookCoinArgs = stringifyLossless((await jsonRecord(dir, 'LookCoin'))?.deploymentArgs);

    // The gate of this phase (and the rollback carry-back from JSON) stops on it, naming the key.
    const gate =
      phase === 'dual-write' ? migration.promote() : phase === 'json-primary' ? migration.cutover({ acknowledge: ACKS }) : migration.rollback();
    await expect(gate).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-LookCoin', file });
    expect((await migration.status()).phase).toBe(phase);

    // The next put through the store lands, keeps what the rewrite put in the file, and says what is lost.
    const next = await runNode('put-one.mjs', [dir, '56', 'AfterRewrite', 'bscmainnet']).done;
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('FOREIGN_OVERWRITE');
    expect(next.stderr).toContain('56-NewVault');
    const after = await fileDoc(dir);
    expect(Object.keys(after.records as object)).toContain('AfterRewrite');
    expect((after.contracts as Record<string, unknown>).NewVault).toBeDefined();
    expect(after.deployer).toBe('0x000000000000000000000000000000000000dEaD');
    expect((await migration.status()).foreignOverwrites?.map((f) => f.key)).toEqual(['56-LookCoin', '56-NewVault']);

    // A put is not a clean check: the findings stay until repaired.
    expect((await migration.verify()).files?.findings.map((f) => f.key)).toEqual(['56-LookCoin', '56-NewVault']);
    const plan = await migration.planFileRepair();
    expect(plan.actions.map((a) => [a.key, a.action])).toEqual([
      ['56-LookCoin', 'put'],
      ['56-NewVault', 'put'],
    ]);
    expect(plan.unrepairable).toEqual([]);
    const repaired = await migration.repairFiles(plan);
    expect(repaired.applied.map((a) => a.key)).toEqual(['56-LookCoin', '56-NewVault']);
    // LookCoin was copied from LevelDB (no journal entry): it comes back from there, every digit.
    expect(lookCoinArgs).toContain('18446744073709552000');
    expect(stringifyLossless((await jsonRecord(dir, 'LookCoin'))?.deploymentArgs)).toContain(BIG.toString());
    const record = await jsonRecord(dir, 'NewVault');
    expect(record?.deploymentArgs?.[0]).toBe(BIG);
    expect(record?.address).toBe(`0x${'ab'.repeat(20)}`);
    expect((await migration.verify()).files?.findings).toEqual([]);
    expect((await fileDoc(dir)).deployer).toBe('0x000000000000000000000000000000000000dEaD');
    const report = await migration.report();
    expect(report.markdown).toContain('put 56-NewVault');
    expect(report.json.fileRepairs).toHaveLength(1);
  });
});

describe('co-owned files', () => {
  it('an object loaded after the put and written back rounds the big number: found as changed, repaired to the exact digits', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    await deploy(dir, 'Rounded', 'late-writeback');
    expect(stringifyLossless(((await fileDoc(dir)).records as Record<string, DeploymentRecord>).Rounded?.deploymentArgs)).not.toContain(
      BIG.toString(),
    );
    expect((await migration.verify()).files?.findings).toEqual([
      expect.objectContaining({ key: '56-LookCoin', kind: 'changed' }),
      expect.objectContaining({ key: '56-Rounded', kind: 'changed' }),
    ]);
    await migration.repairFiles();
    expect((await jsonRecord(dir, 'Rounded'))?.deploymentArgs?.[0]).toBe(BIG);
    expect((await migration.verify()).files?.findings).toEqual([]);
  });

  it('a store migrated before the baseline existed starts from its files and the whole journal', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    await rm(join(dir, '.deploystate', 'written.json'));
    await deploy(dir, 'Upgraded', 'writeback');
    expect((await migration.verify()).files?.findings.map((f) => [f.key, f.kind])).toEqual([
      ['56-LookCoin', 'changed'],
      ['56-Upgraded', 'missing'],
    ]);
  });

  it('the same flow through updateDeploymentFile loses nothing and rounds nothing', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    const before = await fileDoc(dir);
    const stderr = await deploy(dir, 'SafeVault', 'update');
    expect(stderr).not.toContain('FOREIGN_OVERWRITE');
    const after = await fileDoc(dir);
    const records = after.records as Record<string, DeploymentRecord>;
    expect(records.SafeVault?.deploymentArgs?.[0]).toBe(BIG);
    // Every record that was there is there, byte for byte; the script's own keys are as it set them.
    const { SafeVault: _added, ...rest } = records;
    expect(stringifyLossless(rest)).toBe(stringifyLossless(before.records));
    expect((after.contracts as Record<string, unknown>).SafeVault).toEqual({ proxy: `0x${'cd'.repeat(20)}`, implementation: `0x${'ab'.repeat(20)}` });
    expect(after.deployer).toBe('0x000000000000000000000000000000000000dEaD');
    expect((await migration.verify()).files?.findings).toEqual([]);
  });

  it('a later record from elsewhere (a teammate, through git) is reported as changed elsewhere and never reverted', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    await deploy(dir, 'Shared', 'update');
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const doc = await fileDoc(dir);
    const records = doc.records as Record<string, DeploymentRecord>;
    const theirs = { ...(records.Shared as DeploymentRecord), address: `0x${'ef'.repeat(20)}`, timestamp: 1_900_000_000_000 };
    records.Shared = theirs;
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);

    const verify = await migration.verify();
    expect(verify.files?.findings).toEqual([]);
    expect(verify.files?.changedElsewhere.map((c) => c.key)).toEqual(['56-Shared']);
    expect((await migration.planFileRepair()).actions).toEqual([]);
    expect((await jsonRecord(dir, 'Shared'))?.address).toBe(theirs.address);
  });

  it.each(['1.9e12', '1900000000000.0'])('a later record whose timestamp is written %s is changed elsewhere too (verify reads it by value)', async (written) => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    await deploy(dir, 'Shared', 'update');
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const doc = await fileDoc(dir);
    const records = doc.records as Record<string, DeploymentRecord>;
    records.Shared = { ...(records.Shared as DeploymentRecord), address: `0x${'ef'.repeat(20)}`, timestamp: new JsonNumber(written) };
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);

    const verify = await migration.verify();
    expect(verify.files?.findings).toEqual([]);
    expect(verify.files?.changedElsewhere.map((c) => c.key)).toEqual(['56-Shared']);
    expect((await migration.planFileRepair()).actions).toEqual([]);
  });

  it('repair never writes an older record over a newer one that arrived after the plan', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    await deploy(dir, 'Raced', 'late-writeback');
    const plan = await migration.planFileRepair();
    expect(plan.actions.map((a) => a.key)).toEqual(['56-LookCoin', '56-Raced']);
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const doc = await fileDoc(dir);
    const records = doc.records as Record<string, DeploymentRecord>;
    records.Raced = { ...(records.Raced as DeploymentRecord), timestamp: 1_900_000_000_000, deploymentArgs: ['newer'] };
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);
    const result = await migration.repairFiles(plan);
    expect(result.applied.map((a) => a.key)).toEqual(['56-LookCoin']);
    expect(result.skipped.map((a) => a.key)).toEqual(['56-Raced']);
    expect((await jsonRecord(dir, 'Raced'))?.deploymentArgs).toEqual(['newer']);
  });
});

describe('repair-files and writes in flight', () => {
  it('never puts back a record a deploy script deleted after the plan was shown (an acknowledged delete)', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-primary');
    const store = createStateStore({ cwd: dir, env: {} });
    await store.putContract(56, { ...(await jsonRecord(dir, 'LookCoin'))!, contractName: 'Temp' });
    // Another program drops it from the file: the plan puts it back.
    const doc = await fileDoc(dir);
    delete (doc.records as Record<string, unknown>).Temp;
    const file = join(dir, 'deployments', 'bscmainnet.json');
    await writeFile(`${file}.edit`, `${stringifyLossless(doc, 2)}\n`);
    await rename(`${file}.edit`, file);
    const plan = await migration.planFileRepair();
    expect(plan.actions.map((a) => `${a.action} ${a.key}`)).toEqual(['put 56-Temp']);
    // Then the script deletes it, acknowledged on both sides, before the operator confirms.
    expect(await store.delete(56, 'Temp')).toBe(false);
    await store.close();
    const result = await migration.repairFiles(plan);
    expect(result.applied).toEqual([]);
    expect(result.skipped.map((a) => a.key)).toEqual(['56-Temp']);
    expect(await jsonRecord(dir, 'Temp')).toBeNull();
    expect((await migration.verify()).clean).toBe(true);
  });
});

describe('a deploy script\'s first write to a file', () => {
  it('does not check again a file that is the version the store last wrote; one edited since, even in place, is checked', async () => {
    const dir = tempDir();
    await migrationIn(dir, 'json-only');
    const deployments = join(dir, 'deployments');
    const file = join(deployments, 'bscmainnet.json');
    // A journalled put, then the JSON store itself drops that record outside the journal: a check
    // against the baseline calls it missing (as it would a record a foreign rewrite dropped).
    const factory = createStateStore({ cwd: dir, env: {} });
    await factory.put({ ...((await jsonRecord(dir, 'LookCoin')) as DeploymentRecord), contractName: 'Journalled', timestamp: 1_800_000_000_000 });
    await factory.close();
    const store = new JsonFileStore({ dir: deployments });
    await store.open();
    expect(await store.delete(56, 'Journalled')).toBe(true);
    await store.close();
    const files = stateFiles(resolvePaths({ cwd: dir }));
    const journal = new Journal(files.journal);
    const ctx = { stateDir: files.stateDir, deployments, registry: new NetworkRegistry(), journal };
    const firstWrite = async (): Promise<{ findings: string[]; reported: string[] }> => {
      const reported: string[] = [];
      const watch = new OverwriteWatch(ctx, (check) => reported.push(...check.findings.map((f) => f.key)));
      const findings = await watch.beforeWrite(56, async () => new Set<string>());
      return { findings: findings.map((f) => f.key), reported };
    };
    try {
      // A new process's watch (nothing seen yet): the file is the store's own last write, so nothing is read.
      expect(await firstWrite()).toEqual({ findings: [], reported: [] });
      // The same bytes written back in place, past the clock tick: the same inode, a new mtime.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await writeFile(file, await readFile(file));
      expect(await firstWrite()).toEqual({ findings: ['56-Journalled'], reported: ['56-Journalled'] });
    } finally {
      await journal.close();
    }
  });
});

describe('analyze: direct writes to deployments/*.json', () => {
  it('names each write in the scripts folder with the change to make, and nothing that only reads or writes elsewhere', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'created');
    await mkdir(join(dir, 'scripts', 'utils'), { recursive: true });
    await writeFile(
      join(dir, 'scripts', 'utils', 'deployment.js'),
      [
        "const fs = require('fs');",
        "const path = require('path');",
        'function saveDeployment(network, deployment) {',
        "  const file = path.join(__dirname, '../../deployments', `${network}.json`);",
        '  fs.writeFileSync(`${file}.tmp`, JSON.stringify(deployment, null, 2));',
        '  fs.renameSync(`${file}.tmp`, file);',
        '}',
        'function loadDeployment(network) {',
        "  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../deployments', `${network}.json`), 'utf8'));",
        '}',
        "function log(text) { fs.writeFileSync('logs/deploy.log', text); }",
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'scripts', 'deploy.ts'),
      "import { writeFile } from 'node:fs/promises';\nawait writeFile(`deployments/${network.name}.json`, JSON.stringify(out));\n",
    );
    const report = await migration.analyze();
    expect(report.directWrites?.map((w) => [w.file, w.line, w.call])).toEqual([
      [join('scripts', 'deploy.ts'), 2, 'writeFile'],
      [join('scripts', 'utils', 'deployment.js'), 5, 'writeFileSync'],
      [join('scripts', 'utils', 'deployment.js'), 6, 'renameSync'],
    ]);
    expect(report.directWrites?.[0]?.fix).toContain('updateDeploymentFile');
    expect(findDirectWrites("store.rename('deployments/x.json')", 'a.js')).toEqual([]);
  });
});

describe('a FIFO where a network file the store wrote belongs', () => {
  it.runIf(process.platform !== 'win32')('the files check (status) takes it for unreadable, never waits on it', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    await store.putContract(56, { ...(await jsonRecord(dir, 'LookCoin'))!, contractName: 'Temp' });
    await store.close();
    const file = join(dir, 'deployments', 'bscmainnet.json');
    await rm(file);
    execFileSync('mkfifo', [file]);
    try {
      const outcome = await Promise.race([
        migration.status().then(() => 'returned'),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 8_000)),
      ]);
      expect(outcome).toBe('returned');
    } finally {
      await rm(file, { force: true });
    }
  });
});

// verify and validate read each network file once more for the schema; that read waited for a
// writer on a FIFO for good (a CLI verify hung, 3 of 3 runs, and did not end on SIGTERM).
describe('a FIFO where a network file belongs, to verify and validate', () => {
  it.runIf(process.platform !== 'win32')('is named NOT_A_FILE, never waited on', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    const file = join(dir, 'deployments', 'bscmainnet.json');
    await rm(file);
    execFileSync('mkfifo', [file]);
    try {
      const outcome = await Promise.race([
        Promise.all([
          migration.verify().then(
            () => 'verified',
            (error: { code?: string; file?: string }) => `${error.code} ${error.file}`,
          ),
          migration.validate().then((report) => report.errors.filter((f) => f.file === file).map((f) => f.code).join()),
        ]),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
      ]);
      expect(outcome).toEqual([`NOT_A_FILE ${file}`, 'NOT_A_FILE']);
    } finally {
      // A read still waiting on the FIFO (the defect) is let go, so the test process can end.
      try {
        closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader waits on it.
      }
      await rm(file, { force: true });
    }
  }, 30_000);
});

// The journal orders writes by their intents, each written before its JSON write: two scripts
// writing one key at once can replace the file in the other order. The file then held the write
// with the earlier intent, and where that record's timestamp was the older one, every put and
// verify reported FOREIGN_OVERWRITE ("run repair-files") for a write only the store had made
// (found by a hunt with four real processes: warnings in every run).
describe('two scripts writing one key at once', () => {
  // (In json-primary a network's writes take turns, but the turns may be taken in another order
  // than the intents were written: the same check serves.)
  it('the file holding the write whose intent came first is no foreign overwrite', async () => {
    const migration = await migrationIn(tempDir(), 'json-only');
    const reported: string[] = [];
    const onForeignOverwrite = (check: { findings: Array<{ key: string }> }) => reported.push(...check.findings.map((f) => f.key));
    const first = createStateStore({ cwd: tempDir(), env: {}, onForeignOverwrite });
    const second = createStateStore({ cwd: tempDir(), env: {}, onForeignOverwrite });
    const stored = await first.get(56, 'LookCoin');
    expect(stored).not.toBeNull();
    const record = (timestamp: number): DeploymentRecord => ({ ...(stored as DeploymentRecord), timestamp });
    // The first script's JSON write waits (after its intent) until the second's has landed.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await first.open();
    const json = (first as unknown as { sides: { json: Record<string, (...args: unknown[]) => Promise<unknown>> } }).sides.json;
    for (const name of ['putChecked', 'swapChecked']) {
      const write = json[name]?.bind(json);
      if (write) json[name] = async (...args: unknown[]) => {
        await held;
        return write(...args);
      };
    }
    const older = first.putContract(56, record(1_700_000_000_001));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await second.putContract(56, record(1_700_000_000_002));
    release();
    await older;
    expect((await jsonRecord(tempDir(), 'LookCoin'))?.timestamp).toBe(1_700_000_000_001);
    await first.close();
    await second.close();
    expect(reported).toEqual([]);
    expect((await migration.verify()).files?.findings).toEqual([]);
    await migration.close();
  });
});

// A program that rewrites a network file and drops records the copy wrote there looks, to the
// check, like a teammate's delete pulled through git (no journal entry says otherwise): left alone.
// repair-files then said "holds a later record" for keys the file no longer held and ended with
// "every network file holds what the store wrote there", while verify failed naming them; a file
// that did not parse ended green too (terminal hunt).
describe('records the copy wrote, gone from their file', () => {
  it('are named as removed, and put back from LevelDB with `removed`; a file that does not parse is named, never passed', async () => {
    const dir = tempDir();
    const migration = await migrationIn(dir, 'json-only');
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    delete doc.records.LookCoin;
    await writeFile(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
    const plain = await migration.planFileRepair();
    expect(plain.actions).toEqual([]);
    expect(plain.changedElsewhere).toEqual([expect.objectContaining({ key: '56-LookCoin', kind: 'removed', file })]);
    const plan = await migration.planFileRepair({ removed: true });
    expect(plan.actions).toEqual([expect.objectContaining({ key: '56-LookCoin', kind: 'missing', action: 'put', seq: 0 })]);
    await migration.repairFiles(plan, { removed: true });
    expect((await jsonRecord(dir, 'LookCoin'))?.contractName).toBe('LookCoin');
    expect((await migration.verify()).clean).toBe(true);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));
    expect((await migration.planFileRepair()).unreadable).toEqual([expect.objectContaining({ file })]);
    await migration.close();
  });
});
