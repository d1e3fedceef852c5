import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { createDemo, createStateStore, Migration, runDemo } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-analysis-');

describe('analysis and the demo', () => {
  it('a cut-over this clone did not record (killed between phase.json and state.json, or a teammate\'s, pulled) reports SUCCESS, its phases done and not timed here', async () => {
    const dir = tempDir();
    await runDemo(dir);
    const stateFile = join(dir, '.deploystate', 'state.json');
    const recorded = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown> & { timings: Array<{ phase: string }> };
    // What a cutover killed after writing phase.json leaves: state.json as it was before the switch.
    await writeFile(
      stateFile,
      `${JSON.stringify({ ...recorded, phase: 'json-primary', cutoverEvidence: null, timings: recorded.timings.filter((t) => t.phase !== 'cutover') }, null, 2)}\n`,
    );
    const cut = await (await Migration.open({ cwd: dir })).report();
    expect(cut.status).toBe('SUCCESS');
    expect(cut.markdown).toContain('Migration Status: SUCCESS');
    expect(cut.markdown).toContain('Phase 5 (Cutover): done - not timed in this clone');
    // A fresh clone holds phase.json alone: the same, for every phase it has passed.
    await rm(stateFile);
    const clone = await (await Migration.open({ cwd: dir })).report();
    expect(clone.status).toBe('SUCCESS');
    for (const phase of ['Phase 2 (Dual-Write)', 'Phase 3 (Data Migration)', 'Phase 4 (Validation)', 'Phase 5 (Cutover)'])
      expect(clone.markdown).toContain(`${phase}: done - not timed in this clone`);
  });

  // A cut-over whose verify read while a script wrote counts each side as it read it: the report
  // said "Contracts Migrated: 45099/45077". It now counts what LevelDB held at the switch.
  it('counts as migrated every record LevelDB held at the switch, not the counts its verify read while scripts wrote', async () => {
    const dir = tempDir();
    await runDemo(dir);
    const stateFile = join(dir, '.deploystate', 'state.json');
    const recorded = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown> & { cutoverEvidence: { json: { count: number }; leveldb: { count: number } } };
    const evidence = recorded.cutoverEvidence;
    await writeFile(
      stateFile,
      `${JSON.stringify({ ...recorded, cutoverEvidence: { ...evidence, json: { ...evidence.json, count: evidence.json.count + 22 } } }, null, 2)}\n`,
    );
    const shared = JSON.parse(await readFile(join(dir, '.deploystate', 'phase.json'), 'utf8')) as { cutoverLeveldb: { count: number } };
    const report = await (await Migration.open({ cwd: dir })).report();
    const count = shared.cutoverLeveldb.count;
    expect(report.json.contractsMigrated).toBe(`${count}/${count}`);
    expect(report.markdown).toContain(`Contracts Migrated: ${count}/${count}`);
  });

  // The runbook's Phase 2 is dual-write running (estimated in hours), not its enable command: the
  // report said "Phase 2 (Dual-Write): done - 14 ms" after 30 minutes of it.
  it('times Phase 2 from dual-write enable to the copy that starts Phase 3', async () => {
    const dir = tempDir();
    await runDemo(dir);
    const stateFile = join(dir, '.deploystate', 'state.json');
    const recorded = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown> & { timings: Array<{ phase: string; startedAt: string; endedAt: string }> };
    const copyStart = Date.parse(recorded.timings.find((t) => t.phase === 'migrate')?.startedAt ?? '');
    const timings = recorded.timings.map((t) =>
      t.phase === 'dual-write enable' ? { ...t, startedAt: new Date(copyStart - 2 * 3_600_000).toISOString(), endedAt: new Date(copyStart - 2 * 3_600_000 + 14).toISOString() } : t,
    );
    await writeFile(stateFile, `${JSON.stringify({ ...recorded, timings }, null, 2)}\n`);
    const report = await (await Migration.open({ cwd: dir })).report();
    expect(report.markdown).toContain('Phase 2 (Dual-Write): done - 2.0 h');
  });

  // After several cycles (each ended by a rollback), Phases 3-5 summed every cycle's commands and
  // the total ran from the first enable ever, while Phase 2 was the last cycle's: one scope now.
  it('after earlier attempts, times this attempt only (from its dual-write enable) and says how many came before', async () => {
    const dir = tempDir();
    await runDemo(dir);
    const stateFile = join(dir, '.deploystate', 'state.json');
    const recorded = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown> & {
      timings: Array<{ phase: string; status: string; startedAt: string; endedAt: string; durationMs: number }>;
    };
    const dayBefore = (iso: string): string => new Date(Date.parse(iso) - 86_400_000).toISOString();
    const earlier = recorded.timings
      .filter((t) => ['dual-write enable', 'migrate', 'verify'].includes(t.phase))
      .map((t) => ({ ...t, startedAt: dayBefore(t.startedAt), endedAt: dayBefore(t.endedAt), durationMs: 99_000 }));
    await writeFile(stateFile, `${JSON.stringify({ ...recorded, timings: [...earlier, ...recorded.timings] }, null, 2)}\n`);
    const report = await (await Migration.open({ cwd: dir })).report();
    const line = (phase: string): string => report.markdown.split('\n').find((l) => l.startsWith(`- ${phase}:`)) ?? '';
    expect(line('Phase 3 (Data Migration)')).not.toMatch(/min|99\.0 s/);
    expect(report.markdown).toMatch(/Total Duration: .*\(this attempt, from its dual-write enable; 1 earlier attempt\(s\) ended in a rollback or disable and are not counted\)/);
    expect(report.json.earlierAttempts).toBe(1);
    expect(report.json.totalDurationMs as number).toBeLessThan(86_400_000);
  });

  // A verify in leveldb-only (before the migration started) is evidence of nothing, as status says
  // ("last verify never"): the report said "Phase 4 (Validation): failed".
  it('a verify run in leveldb-only leaves Phase 4 pending and times nothing; one in dual-write counts', async () => {
    const dir = tempDir();
    await createDemo(dir);
    const migration = await Migration.open({ cwd: dir });
    expect((await migration.verify()).clean).toBe(false);
    const phase4 = (markdown: string): string => markdown.split('\n').find((l) => l.startsWith('- Phase 4 (Validation):')) ?? '';
    const before = await migration.report();
    expect(phase4(before.markdown)).toBe('- Phase 4 (Validation): pending - 0 ms');
    expect(before.json.totalDurationMs).toBe(0);
    await migration.enableDualWrite();
    expect((await migration.verify()).clean).toBe(false);
    expect(phase4((await migration.report()).markdown)).toMatch(/^- Phase 4 \(Validation\): failed - /);
    // Back in leveldb-only, a verify there is evidence of nothing again; the dual-write one still stands.
    await migration.disableDualWrite();
    await migration.verify();
    const after = (await migration.report()).json.phases as Array<{ phase: string; status: string }>;
    expect(after.find((p) => p.phase === 'Phase 4 (Validation)')?.status).toBe('failed');
  });

  it('runDemo walks every phase and ends SUCCESS with equal digests at cut-over', async () => {
    const phases: string[] = [];
    const { report } = await runDemo(tempDir(), { onStep: (s) => phases.push(s.phase) });
    expect(report.status).toBe('SUCCESS');
    expect(phases).toEqual(
      expect.arrayContaining(['analyze', 'check', 'dual-write enable', 'migrate', 'verify', 'promote', 'cutover', 'report']),
    );
    const integrity = report.json.dataIntegrity as { digestsEqual: boolean };
    expect(integrity.digestsEqual).toBe(true);
    // A change of write latency says which phases it sets side by side.
    expect(report.markdown).toMatch(/Performance Impact: (n\/a|[+-][\d.]+% median write latency, json-(only|primary) against (dual-write|leveldb-only))/);
    expect(await readFile(report.files.markdown, 'utf8')).toContain('Migration Status: SUCCESS');

    // A network file deploy scripts read is damaged since: the report no longer says SUCCESS.
    const file = join(tempDir(), 'deployments', 'bscmainnet.json');
    const mainnet = await readFile(file, 'utf8');
    await writeFile(file, '{"records": {"LookCoin": ');
    const damaged = await (await Migration.open({ cwd: tempDir() })).report();
    expect(damaged.status).toBe('FAILED');
    expect(damaged.markdown).toContain('Migration Status: FAILED');
    expect(damaged.markdown).toContain(file);
    // Why, in words: the file, not a divergence there was none of.
    expect(damaged.json.failedBecause).toEqual([`a network file deploy scripts read cannot be read: ${file}`]);

    // Every other way a whole file cannot be read, as a deploy script's read of its chain fails.
    const intact = await readFile(join(tempDir(), 'deployments', 'bsctestnet.json'), 'utf8');
    const testnet = join(tempDir(), 'deployments', 'bsctestnet.json');
    const damages: Array<[string, () => Promise<void>]> = [
      ['a folder in its place', async () => {
        await rm(testnet);
        await mkdir(testnet);
      }],
      ['a link in its place', async () => {
        await rm(testnet, { recursive: true });
        await writeFile(join(tempDir(), 'outside.json'), intact);
        await symlink(join(tempDir(), 'outside.json'), testnet);
      }],
      ["another chain's id", () => writeFile(testnet, intact.replace('"chainId": 97,', '"chainId": 98,'))],
      ['records not an object', () => writeFile(testnet, intact.replace('"records": {', '"records": "none", "was": {'))],
    ];
    await writeFile(file, mainnet);
    expect((await (await Migration.open({ cwd: tempDir() })).report()).status).toBe('SUCCESS');
    for (const [what, damage] of damages) {
      await rm(testnet, { recursive: true, force: true });
      await writeFile(testnet, intact);
      await damage();
      const again = await (await Migration.open({ cwd: tempDir() })).report();
      expect(again.status, what).toBe('FAILED');
      expect(again.markdown, what).toContain(testnet);
    }

    // Gone altogether, the file or the whole folder: deploy scripts would read none of those records
    // and deploy them again. The report said SUCCESS with 18 of 27 records, or with none.
    await rm(testnet, { recursive: true, force: true });
    const noFile = await (await Migration.open({ cwd: tempDir() })).report();
    expect(noFile.status).toBe('FAILED');
    expect(noFile.json.failedBecause).toEqual([`a network file deploy scripts read is missing, so they would find none of its chain's records: ${testnet}`]);
    await rename(join(tempDir(), 'deployments'), join(tempDir(), 'moved-away'));
    const noFolder = await (await Migration.open({ cwd: tempDir() })).report();
    expect(noFolder.status).toBe('FAILED');
    expect(String(noFolder.json.failedBecause)).toContain(file);
  });

  it('a chain retired through the store since the cut-over (every record deleted) needs no network file', async () => {
    await runDemo(tempDir());
    const store = createStateStore({ cwd: tempDir(), env: {} });
    for (const record of await store.list(97)) await store.delete(97, record.contractName);
    await store.close();
    await rm(join(tempDir(), 'deployments', 'bsctestnet.json'));
    const report = await (await Migration.open({ cwd: tempDir() })).report();
    expect(report.json.failedBecause).toEqual([]);
    expect(report.status).toBe('SUCCESS');
  });

  it('createDemo refuses a file where its folder goes (INVALID_ARGUMENT, naming it) and leaves the file', async () => {
    const file = join(tempDir(), 'a-file');
    await writeFile(file, 'kept');
    for (const dir of [file, join(file, 'below')])
      await expect(createDemo(dir)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', file: dir });
    expect(await readFile(file, 'utf8')).toBe('kept');
  });

  // README: `Migration.open({ cwd: '/srv/x' })` then `analyze({ expectedInventory: 'expected.json' })`.
  // The relative path resolved against process.cwd(), so from another folder it was not found.
  it('resolves relative paths given to its methods against its cwd, not the process\'s, and names the resolved path when missing', async () => {
    const dir = tempDir();
    const { paths } = await runDemo(dir);
    await writeFile(join(dir, 'expected.json'), JSON.stringify({ bscmainnet: 8 }));
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const before = process.cwd();
    process.chdir(elsewhere);
    try {
      const migration = await Migration.open({ cwd: dir });
      const report = await migration.analyze({ expectedInventory: 'expected.json' });
      expect(report.crossCheck.filter((f) => f.code === 'INVENTORY_MISMATCH' && f.file === join(dir, 'expected.json'))).toEqual([]);
      await expect(migration.analyze({ expectedInventory: 'missing.json' })).rejects.toMatchObject({
        code: 'STORE_NOT_FOUND',
        file: join(dir, 'missing.json'),
        message: expect.stringContaining(join(dir, 'missing.json')),
      });
      const folded = await migration.foldIn({ from: 'leveldb', dryRun: true });
      expect(folded.from).toBe(paths.leveldb);
    } finally {
      process.chdir(before);
    }
  });

  it('analyze inventories the demo, audits big numbers and cross-checks legacy files and an expected inventory', async () => {
    const paths = await createDemo(tempDir());
    const legacy = join(paths.deployments, 'bscmainnet.json');
    const doc = JSON.parse(await readFile(legacy, 'utf8')) as { contracts: Record<string, { implementation: string }> };
    doc.contracts.LookCoin!.implementation = '0x3333333333333333333333333333333333333333';
    await writeFile(legacy, JSON.stringify(doc));
    const inventory = join(tempDir(), 'expected.json');
    await writeFile(
      inventory,
      JSON.stringify({ bscmainnet: 8, bsctestnet: 9, basesepolia: ['LookCoin', 'LayerZeroModule', 'SupplyOracle'], optimismsepolia: 4 }),
    );
    const migration = await Migration.open({ cwd: tempDir() });
    const report = await migration.analyze({ expectedInventory: inventory });
    expect(report.total).toBe(28);
    expect(report.chains.map((c) => [c.chainId, c.count])).toEqual(
      expect.arrayContaining([
        [56, 8],
        [97, 9],
        [84532, 3],
        [11155420, 3],
        [23295, 3],
        [31337, 2],
      ]),
    );
    expect(report.chains.find((c) => c.chainId === 56)?.networkNames).toMatchObject({
      bscmainnet: expect.any(Number),
      bsc: expect.any(Number),
    });
    expect(report.numericAudit.bigLiterals).toBeGreaterThan(0);
    expect(report.roundTrip.failures).toEqual([]);
    expect(report.crossCheck.filter((f) => f.code === 'LEGACY_MISMATCH').map((f) => f.key)).toEqual(['56-LookCoin']);
    expect(report.crossCheck.filter((f) => f.code === 'INVENTORY_MISMATCH').map((f) => f.chainId)).toEqual([11155420]);
    expect(report.findings.some((f) => f.code === 'DEV_CHAIN')).toBe(true);
    // analyze is read-only: no state was written.
    expect((await migration.status()).state.timings).toEqual([]);
  });

  it('an undecodable value stops migrate with UNMIGRATABLE_RECORDS naming it, until it is excluded', async () => {
    await writeLegacyStore(join(tempDir(), 'leveldb'), [
      { key: '56-Good', value: sampleRecord(56, 'Good', 'bscmainnet') },
      { key: '56-Broken', raw: '{"contractName":"Broken",' },
    ]);
    const migration = await Migration.open({ cwd: tempDir() });
    expect((await migration.analyze()).unmigratable).toEqual(['56-Broken']);
    await migration.enableDualWrite();
    await expect(migration.migrate()).rejects.toMatchObject({ code: 'UNMIGRATABLE_RECORDS', key: '56-Broken' });
    const copy = await migration.migrate({ exclude: ['56-Broken'] });
    expect(copy.copied).toBe(1);
    expect(copy.excluded).toEqual(['56-Broken']);
    expect((await migration.verify()).clean).toBe(true);
  });

  it('a second copy after a rollback lists the stale JSON records it overwrites and removes, with their backup', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    await migration.rollback();
    // In leveldb-only a deploy script changes LevelDB only: JSON is now stale.
    const { LevelDbStore } = await import('@deploystate/backend-leveldb');
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    const coin = await leveldb.get(97, 'LookCoin');
    await leveldb.put({ ...coin!, timestamp: 1 });
    await leveldb.delete(97, 'FeeManager');
    await leveldb.close();
    await migration.enableDualWrite();
    const dry = await migration.migrate({ dryRun: true });
    expect(dry.overwritten.map((o) => o.key)).toEqual(['97-LookCoin']);
    const copy = await migration.migrate();
    expect(copy.overwritten.map((o) => o.key)).toEqual(['97-LookCoin']);
    expect(copy.removed.map((o) => o.key)).toEqual(['97-FeeManager']);
    expect(copy.overwritten[0]?.backup).toBeTruthy();
    expect(await readFile(copy.overwritten[0]!.backup, 'utf8')).toContain('FeeManager');
    expect((await migration.verify()).clean).toBe(true);
    expect((await migration.migrate()).nothingToDo).toBe(true);
  });

  it('batchSize is the progress granularity: an event every batchSize records, and one at each chain end', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const done: number[] = [];
    await migration.migrate({ batchSize: 5, onProgress: (p) => done.push(p.done) });
    expect(done).toEqual(expect.arrayContaining([5, 10, 15, 20, 25]));
    const chains = new Set((await migration.status()).state.copy?.chainsDone);
    expect(done.length).toBe(5 + chains.size);
    expect(done.at(-1)).toBe(28);
  });
});

describe('records of earlier commands, damaged', () => {
  it('a damaged analysis.json or chain-verification.json is named in the report and costs the copy only its progress total', async () => {
    await createDemo(tempDir());
    const migration = await Migration.open({ cwd: tempDir() });
    await migration.analyze();
    const analysisFile = join(migration.paths.stateDir, 'analysis.json');
    const chainFile = join(migration.paths.stateDir, 'chain-verification.json');
    for (const [analysisText, chainText] of [
      ['{garb', '{}'],
      ['null', '5'],
      ['{"total": "many", "durationMs": 3}', '{"at": "x", "ok": true, "chains": [], "counts": {"ok": -1}}'],
    ]) {
      await writeFile(analysisFile, analysisText as string);
      await writeFile(chainFile, chainText as string);
      const report = await migration.report();
      expect(report.json.unreadableRecords).toEqual([chainFile, analysisFile]);
      expect(report.json.chainVerification).toBeNull();
      expect(report.markdown).toContain(`run it again): ${analysisFile}`);
    }
    await migration.enableDualWrite();
    // The copy reads its progress total from analysis.json: damaged, it copies without one.
    expect((await migration.migrate()).copied).toBe(28);
  });
});

describe("a JavaScript caller's slips", () => {
  it('migrate refuses exclude given as a string and a batchSize that is not a whole number above 0, before copying anything', async () => {
    await createDemo(tempDir());
    const migration = await Migration.open({ cwd: tempDir() });
    // Checked first, before the lock and the phase's gate: in leveldb-only it is still the argument that is wrong.
    await expect(migration.migrate({ batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await migration.enableDualWrite();
    for (const options of [{ exclude: '97-LookCoin' }, { exclude: [97] }, { batchSize: Number.NaN }, { batchSize: 0 }, { batchSize: -1 }, { batchSize: 'abc' }, { batchSize: 2.5 }]) {
      await expect(migration.migrate(options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect((await migration.status()).state.copy ?? null).toBeNull();
    expect((await migration.migrate({ exclude: ['97-LookCoin'], batchSize: 3 })).excluded).toEqual(['97-LookCoin']);
  });
});
