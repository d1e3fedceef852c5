// The dual-write outbox across processes: a script that ends without close() still brings JSON up
// to date, a writer killed with entries pending leaves them for the next process (whatever its
// env), and when nothing runs LevelDB holds no outbox keys.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { canonicalDigest, sampleRecord, sleep, type DeploymentRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { Journal } from '../src/journal.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, runNode, useTempDir } from './helpers.js';
import { outboxKeys, withPutAfterFirstOutboxLook } from './outbox-helpers.js';

const tempDir = useTempDir('migrator-outbox-');

async function jsonHas(dir: string, chainId: number, names: string[]): Promise<boolean[]> {
  const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, readOnly: true });
  await json.open();
  try {
    return await Promise.all(names.map(async (name) => (await json.get(chainId, name)) !== null));
  } finally {
    await json.close();
  }
}

describe('dual-write outbox', () => {
  it('a script that simply ends (no close) still drains: JSON has every put, LevelDB no outbox keys, the journal both lines', async () => {
    await demoMigration(tempDir(), 'copied');
    const { code, stderr } = await runNode('outbox-writer.mjs', [tempDir(), '97', 'Ended', '5', 'end', 'bsctestnet']).done;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const names = [0, 1, 2, 3, 4].map((i) => `Ended${i}`);
    expect(await jsonHas(tempDir(), 97, names)).toEqual(names.map(() => true));
    expect(await outboxKeys(resolvePaths({ cwd: tempDir() }).leveldb)).toEqual([]);
    const migration = await Migration.open({ cwd: tempDir() });
    const status = await migration.status();
    expect(status.outbox).toMatchObject({ depth: 0, lastError: null });
    expect((await migration.verify()).clean).toBe(true);
    const journal = new Journal(stateFiles(resolvePaths({ cwd: tempDir() })).journal);
    const lines = (await journal.read()).entries.filter((e) => 'key' in e && e.key === '97-Ended0');
    expect(lines.map((e) => e.type)).toEqual(['intent', 'outcome']);
    expect(lines[1]).toMatchObject({ outcome: 'ok' });
    // The put's path digests nothing: the drainer journals the digest of the value it applied.
    const json = new JsonFileStore({ dir: resolvePaths({ cwd: tempDir() }).deployments, readOnly: true });
    await json.open();
    const applied = await json.get(97, 'Ended0');
    await json.close();
    expect(applied).not.toBeNull();
    expect(lines[0]).toMatchObject({ digest: canonicalDigest(applied as DeploymentRecord) });
  });

  it('entries a killed writer left are applied by the next process, whatever its env, and readers never count them', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const before = (await migration.analyze()).total;
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'Orphan', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    const leveldb = resolvePaths({ cwd: tempDir() }).leveldb;
    expect((await outboxKeys(leveldb)).length).toBe(1);
    // The record is data; its outbox entry is not.
    expect((await migration.analyze()).total).toBe(before + 1);
    const pendingOne = await migration.compare();
    expect(pendingOne.pending).toEqual(['97-Orphan']);
    // Left out of the comparison, but pending, not one of the exclusions the state records.
    expect(pendingOne.excluded).not.toContain('97-Orphan');
    // The next process: a script that only reads, without DUAL_WRITE_MODE.
    const next = createStateStore({ cwd: tempDir(), env: {} });
    expect(await next.getContract(97, 'Orphan')).not.toBeNull();
    await next.close();
    expect(await jsonHas(tempDir(), 97, ['Orphan'])).toEqual([true]);
    expect(await outboxKeys(leveldb)).toEqual([]);
    const compare = await migration.compare();
    expect(compare.pending).toEqual([]);
    expect(compare.equal).toBe(true);
  });

  it("a putMany killed after its LevelDB batch, before the drain, leaves every record's entry; the next process applies them all", async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'Batch', 'bsctestnet', 'many']);
    expect((await child.done).signal).toBe('SIGKILL');
    const leveldb = resolvePaths({ cwd: tempDir() }).leveldb;
    // One batch: every record and its entry landed together.
    expect((await outboxKeys(leveldb)).length).toBe(3);
    expect([...((await migration.compare()).pending ?? [])].sort()).toEqual(['56-BatchC', '97-BatchA', '97-BatchB']);
    // The next process: a script that reads one of them, without DUAL_WRITE_MODE.
    const next = createStateStore({ cwd: tempDir(), env: {} });
    expect(await next.getContract(97, 'BatchA')).not.toBeNull();
    await next.close();
    expect(await jsonHas(tempDir(), 97, ['BatchA', 'BatchB'])).toEqual([true, true]);
    expect(await jsonHas(tempDir(), 56, ['BatchC'])).toEqual([true]);
    expect(await outboxKeys(leveldb)).toEqual([]);
    expect((await migration.compare()).equal).toBe(true);
  });

  // A drain stops after 20 rounds of 500 entries; a dual-write putMany is one batch of an entry per
  // record, so one call can leave more than a drain takes.
  const MORE_THAN_A_DRAIN = 10_050;

  /** A copied migration in dual-write and a putMany of more records than one drain takes, killed after its LevelDB batch: every entry waits. */
  async function killedPutManyLeft(prefix: string): Promise<{ migration: Awaited<ReturnType<typeof demoMigration>>; leveldb: string }> {
    const migration = await demoMigration(tempDir(), 'copied');
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', prefix, 'bsctestnet', 'many', String(MORE_THAN_A_DRAIN)]);
    expect((await child.done).signal).toBe('SIGKILL');
    const leveldb = resolvePaths({ cwd: tempDir() }).leveldb;
    expect((await outboxKeys(leveldb)).length).toBe(MORE_THAN_A_DRAIN);
    return { migration, leveldb };
  }

  it('a putMany of more records than one drain takes: close() drains them all, and a script that simply ends does too', async () => {
    await demoMigration(tempDir(), 'copied');
    const leveldb = resolvePaths({ cwd: tempDir() }).leveldb;
    for (const mode of ['close', 'end']) {
      const { code, stderr } = await runNode('outbox-writer.mjs', [tempDir(), '97', `Many${mode}`, String(MORE_THAN_A_DRAIN), mode, 'bsctestnet', 'many']).done;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(await outboxKeys(leveldb)).toEqual([]);
      expect(await jsonHas(tempDir(), 97, [`Many${mode}0`, `Many${mode}${MORE_THAN_A_DRAIN - 1}`])).toEqual([true, true]);
    }
  });

  it('promote drains every entry a killed putMany left, however many, before JSON is read: none is left behind', async () => {
    const { migration, leveldb } = await killedPutManyLeft('Killed');
    // Pending, not differences: the verify is clean.
    expect((await migration.verify()).clean).toBe(true);
    await migration.promote();
    expect(await outboxKeys(leveldb)).toEqual([]);
    // json-primary reads JSON: a script finds the batch's last record there.
    const next = createStateStore({ cwd: tempDir(), env: {} });
    try {
      expect(await next.getContract(97, `Killed${MORE_THAN_A_DRAIN - 1}`)).not.toBeNull();
      expect(next.phase).toBe('json-primary');
    } finally {
      await next.close();
    }
  });

  it('dual-write disable drains every entry a killed putMany left, however many, before it switches: LevelDB keeps no outbox keys', async () => {
    const { migration, leveldb } = await killedPutManyLeft('Left');
    await migration.disableDualWrite();
    expect((await migration.status()).phase).toBe('leveldb-only');
    // Nothing runs now: the outbox is empty (LevelDB is committed to git), and JSON got the whole batch.
    expect(await outboxKeys(leveldb)).toEqual([]);
    expect(await jsonHas(tempDir(), 97, ['Left0', `Left${MORE_THAN_A_DRAIN - 1}`])).toEqual([true, true]);
  });

  /**
   * A copied demo with one write in the outbox (its script killed before JSON got it) and the
   * network file it goes to one the JSON store refuses to overwrite (it cannot parse it): every
   * drain fails until `good` is written back.
   */
  async function stuckOutbox(): Promise<{ migration: Migration; leveldb: string; file: string; good: string }> {
    const migration = await demoMigration(tempDir(), 'copied');
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'Stuck', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    const { leveldb, deployments } = resolvePaths({ cwd: tempDir() });
    const file = join(deployments, 'bsctestnet.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{ "records": ');
    return { migration, leveldb, file, good };
  }

  it('dual-write disable whose drain fails keeps the phase and the entry (never stranded in leveldb-only); once the file is fixed it drains and switches', async () => {
    const { migration, leveldb, file, good } = await stuckOutbox();
    const refused = await migration.disableDualWrite().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'GATE_FAILED', gate: 'outbox drained' });
    expect((await migration.status()).phase).toBe('dual-write');
    expect((await outboxKeys(leveldb)).length).toBe(1);
    writeFileSync(file, good);
    await migration.disableDualWrite();
    expect((await migration.status()).phase).toBe('leveldb-only');
    expect(await outboxKeys(leveldb)).toEqual([]);
    expect(await jsonHas(tempDir(), 97, ['Stuck'])).toEqual([true]);
  });

  // A drain that failed (a full disk, here a file the store cannot parse), its cause then fixed:
  // promote refused GATE_FAILED "outbox drains" citing the old failure without trying to drain, and
  // status named no command that drains. promote now drains once more before it judges.
  it('promote after a drain failed and its cause was fixed drains the outbox itself and switches; status names what drains it', async () => {
    const { migration, leveldb, file, good } = await stuckOutbox();
    // A deploy script's store drains on close, and fails: the failure is kept for status and the gate.
    const script = createStateStore({ cwd: tempDir(), env: {} });
    await script.putContract(97, sampleRecord(97, 'Later', 'bsctestnet', 3));
    await script.close().catch(() => undefined);
    const stuck = await migration.status();
    expect(stuck.outbox).toMatchObject({ depth: 2, lastError: { code: 'CORRUPTED' }, next: expect.stringContaining('`deploystate migrate` drains it') });
    // Still broken: refused, the hint naming what drains it.
    const refused = await migration.promote().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'GATE_FAILED', gate: 'outbox drains' });
    expect((refused as Error).message).toContain('`deploystate migrate` drains it');
    // The cause fixed: promote drains it itself, no deploy script or migrate in between.
    writeFileSync(file, good);
    expect((await migration.verify()).clean).toBe(true);
    await migration.promote();
    expect((await migration.status()).phase).toBe('json-primary');
    expect(await outboxKeys(leveldb)).toEqual([]);
    expect(await jsonHas(tempDir(), 97, ['Stuck', 'Later'])).toEqual([true, true]);
  });

  // A close drains several network files side by side, syncs their folder once they are all
  // replaced, and journals the round's lines in one append before it removes the entries: a kill
  // anywhere in between leaves every entry for the next process, which applies and journals it.
  for (const mode of ['after-first-file', 'before-journal']) {
    it(`a script killed in its close's drain across networks (${mode}) loses nothing: the next process applies, journals and removes every entry`, async () => {
      const migration = await demoMigration(tempDir(), 'copied');
      const networks = [
        [56, 'bscmainnet'],
        [97, 'bsctestnet'],
        [1, 'ethereum'],
      ] as const;
      const child = runNode('crash-drainer.mjs', [tempDir(), mode, ...networks.map(([id, name]) => `${id}:${name}`)]);
      expect((await child.done).signal).toBe('SIGKILL');
      const leveldb = resolvePaths({ cwd: tempDir() }).leveldb;
      expect((await outboxKeys(leveldb)).length).toBe(networks.length);
      const next = createStateStore({ cwd: tempDir(), env: {} });
      expect(await next.getContract(56, 'MidDrain')).not.toBeNull();
      await next.close();
      expect(await outboxKeys(leveldb)).toEqual([]);
      for (const [chainId, network] of networks) {
        const json = new JsonFileStore({ dir: resolvePaths({ cwd: tempDir() }).deployments, readOnly: true });
        await json.open();
        expect(await json.get(chainId, 'MidDrain'), network).toEqual(sampleRecord(chainId, 'MidDrain', network, 7));
        await json.close();
      }
      const journal = new Journal(stateFiles(resolvePaths({ cwd: tempDir() })).journal);
      const entries = (await journal.read()).entries;
      for (const [chainId] of networks) {
        const lines = entries.filter((e) => 'key' in e && e.key === `${chainId}-MidDrain`);
        const intent = lines.find((e) => e.type === 'intent');
        expect(intent, `${chainId}`).toBeDefined();
        expect(lines.find((e) => e.type === 'outcome' && e.ref === intent?.seq)).toMatchObject({ outcome: 'ok' });
      }
      const compare = await migration.compare();
      expect(compare.pending).toEqual([]);
      expect(compare.equal).toBe(true);
    });
  }

  it('8 deploy scripts writing at once in dual-write never get LOCKED, and every put reaches both sides', async () => {
    await demoMigration(tempDir(), 'copied');
    const writers = Array.from({ length: 8 }, (_, w) => runNode('timed-writer.mjs', [tempDir(), '97', `Writer${w}x`, '10', 'bsctestnet']));
    const results = await Promise.all(writers.map((w) => w.done));
    const slowest = results.map((r) => Number(/slowest ([\d.]+)/.exec(r.stdout)?.[1] ?? NaN));
    process.stdout.write(`8 concurrent dual-write writers: slowest put ${Math.max(...slowest).toFixed(1)} ms\n`);
    for (const r of results) expect({ code: r.code, out: r.stdout.trim() }).toMatchObject({ code: 0, out: expect.stringMatching(/^slowest /) });
    const names = Array.from({ length: 8 }, (_, w) => Array.from({ length: 10 }, (_, i) => `Writer${w}x${i}`)).flat();
    expect((await jsonHas(tempDir(), 97, names)).every(Boolean)).toBe(true);
    expect(await outboxKeys(resolvePaths({ cwd: tempDir() }).leveldb)).toEqual([]);
    const migration = await Migration.open({ cwd: tempDir() });
    expect((await migration.verify()).clean).toBe(true);
  });

  it('the drainer checks a co-owned file before writing it: a record another process dropped is reported while the new put is not yet there, a key still in the outbox is pending, and the put lands', async () => {
    const dir = tempDir();
    await demoMigration(dir, 'copied');
    // Another process puts NewVault (its drainer brings it to JSON), then writes back the object it
    // loaded before: NewVault is dropped, and LookCoin's big number comes back rounded.
    const legacy = await runNode('legacy-deploy.mjs', [dir, 'bscmainnet', '56', 'NewVault', 'writeback']).done;
    expect(legacy.code, legacy.stderr).toBe(0);
    const file = join(resolvePaths({ cwd: dir }).deployments, 'bscmainnet.json');
    const recordsInFile = (): string[] => Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { records: object }).records);
    expect(recordsInFile()).not.toContain('NewVault');

    const reports: Array<{ keys: string[]; putInFile: boolean }> = [];
    const store = createStateStore({
      cwd: dir,
      env: {},
      onForeignOverwrite: (check) =>
        reports.push({ keys: check.findings.map((f) => f.key), putInFile: recordsInFile().includes('AfterRewrite') }),
    });
    // NewVault written again: its new write is in the outbox, so the dropped one is explained, not missing.
    await store.putContract(56, { ...sampleRecord(56, 'NewVault', 'bscmainnet', 6), timestamp: 1_900_000_000_000 });
    await store.putContract(56, sampleRecord(56, 'AfterRewrite', 'bscmainnet', 5));
    await store.close();
    expect(reports).toEqual([{ keys: ['56-LookCoin'], putInFile: false }]);
    expect(await jsonHas(dir, 56, ['AfterRewrite', 'NewVault'])).toEqual([true, true]);
    expect(await outboxKeys(resolvePaths({ cwd: dir }).leveldb)).toEqual([]);
  });
});

describe('the copy and the outbox', () => {
  it('a key with a write still in the outbox is skipped as newer and listed; the drain then brings it to JSON', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'dual-write');
    const { result: report, wrote } = await withPutAfterFirstOutboxLook(() => migration.migrate());
    expect(wrote).toBe(true);
    expect(report.skippedNewer).toEqual(['97-InOutbox']);
    expect(await jsonHas(dir, 97, ['InOutbox'])).toEqual([false]);
    expect((await migration.compare()).pending).toEqual(['97-InOutbox']);
    // The next process drains it: JSON has it, nothing is pending. Its look for left entries is
    // slowed, as on a busy machine: close() must still wait for it and drain what it finds.
    const readOutbox = LevelDbStore.prototype.readOutbox;
    LevelDbStore.prototype.readOutbox = async function (this: LevelDbStore, ...args: Parameters<LevelDbStore['readOutbox']>) {
      if (args[0] === 1) await sleep(100);
      return readOutbox.apply(this, args);
    };
    try {
      const next = createStateStore({ cwd: dir, env: {} });
      expect(await next.getContract(97, 'InOutbox')).not.toBeNull();
      await next.close();
    } finally {
      LevelDbStore.prototype.readOutbox = readOutbox;
    }
    expect(await jsonHas(dir, 97, ['InOutbox'])).toEqual([true]);
    expect((await migration.verify()).clean).toBe(true);
  });
});
