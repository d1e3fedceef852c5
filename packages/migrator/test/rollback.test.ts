// Cut-over, further writes and deletes in JSON, rollback: LevelDB holds exactly the JSON state.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, JsonNumber, sampleRecord, StateError } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Migration } from '../src/index.js';
import { compareDirect, demoMigration, putThroughStore, shortRollingBackWait, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-rollback-');

/** Every record LevelDB in `dir` holds, by key (the store closed again). */
async function readLevelDb(dir: string): Promise<Map<string, unknown>> {
  const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), idleCloseMs: 0 });
  await leveldb.open();
  try {
    const out = new Map<string, unknown>();
    for await (const { key, record } of leveldb.iterate()) out.set(key, record);
    return out;
  } finally {
    await leveldb.close();
  }
}

/** Every file under `dir` with its size and modification time. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    const s = await stat(path);
    out.push(`${path} ${e.isFile() ? s.size : 'dir'} ${s.mtimeMs}`);
  }
  return out.sort();
}

describe('rollback', () => {
  it('after cut-over and further JSON writes and deletes, LevelDB holds exactly the JSON state', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');

    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'AfterCutover', 'bsctestnet', 1));
    const coin = await store.getContract(56, 'LookCoin');
    await store.putContract(56, { ...coin!, address: '0x1111111111111111111111111111111111111111', deploymentArgs: [2n ** 70n] });
    expect(await store.delete(84532, 'SupplyOracle')).toBe(true);
    await store.close();
    expect((await compareDirect(tempDir())).equal).toBe(false);

    expect((await migration.rollbackReadiness()).ready).toBe(true);
    const report = await migration.rollback();
    expect(report.from).toBe('json-only');
    expect(report.puts).toBe(2);
    expect(report.deletes).toBe(1);
    // Each key written since dual-write enable counts as replayed (the early plan's and any after it).
    expect(report.replayed).toBe(3);
    const comparison = await compareDirect(tempDir());
    expect(comparison.equal).toBe(true);
    // The digest reported is LevelDB's as the carry-back left it.
    expect(report.leveldbDigest).toBe(comparison.left.digest);
    expect((await migration.status()).phase).toBe('leveldb-only');
    // A second run has nothing left to carry back.
    expect((await migration.rollback()).replayed).toBe(0);
  });

  it('a carry-back stopped after it began writing LevelDB (its folder gone mid-run) says so, stays rolling-back, and the next run carries back every key', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    for (let i = 0; i < 4; i++) await store.putContract(97, sampleRecord(97, `Partway${i}`, 'bsctestnet', i + 1));
    await store.close();
    // The carry-back's batch meets the folder gone after two of its records (as a reopen after git
    // replaced it would): two records are in LevelDB by then.
    const putMany = LevelDbStore.prototype.putMany;
    const spy = vi.spyOn(LevelDbStore.prototype, 'putMany').mockImplementation(async function (this: LevelDbStore, records: Parameters<LevelDbStore['putMany']>[0]) {
      await putMany.call(this, records.slice(0, 2));
      throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no LevelDB store at ${migration.paths.leveldb}`, { file: migration.paths.leveldb });
    });
    let error: unknown;
    try {
      error = await migration.rollback().catch((e: unknown) => e);
    } finally {
      spy.mockRestore();
    }
    expect(error).toMatchObject({ code: 'STORE_NOT_FOUND', file: migration.paths.leveldb, hint: 'run rollback again' });
    expect(String((error as Error).message)).toContain('the carry-back stopped partway');
    expect(String((error as Error).message)).not.toContain('nothing was carried back');
    // Not put back to json-only: LevelDB holds part of the carry-back, and writes wait for the rest.
    expect((await migration.status()).phase).toBe('rolling-back');
    expect((await compareDirect(tempDir())).equal).toBe(false);
    const report = await migration.rollback();
    expect(report.from).toBe('json-only');
    expect((await migration.status()).phase).toBe('leveldb-only');
    expect((await compareDirect(tempDir())).equal).toBe(true);
  });

  it('from json-only carries back every key JSON holds, also writes no local journal saw (a teammate\'s, pulled through git)', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    // Written straight into the JSON files, as a pull of another clone's json-only writes lands them.
    const json = new JsonFileStore({ dir: migration.paths.deployments });
    await json.open();
    const pulled = sampleRecord(97, 'PulledFromTeammate', 'bsctestnet', 3);
    await json.put(pulled);
    expect(await json.delete(84532, 'SupplyOracle')).toBe(true);
    await json.close();
    const report = await migration.rollback();
    expect(report.replayed).toBe(0);
    expect(report.puts).toBe(1);
    expect(report.deletes).toBe(1);
    expect((await compareDirect(tempDir())).equal).toBe(true);
  });

  // Before, one network file that did not parse (a pull that left git's conflict markers) made the
  // emergency rollback drop the whole plan from JSON for the journal alone, and report success: a
  // teammate's pulled write in any other file was not carried back, and deploy scripts redeployed it.
  it('an emergency with a network file that does not parse carries back every other file whole, that chain from the journal, and names the file', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    // This clone's own writes (journalled), one on the chain whose file will be damaged.
    await putThroughStore(tempDir(), sampleRecord(56, 'MineOn56', 'bscmainnet', 4));
    await putThroughStore(tempDir(), sampleRecord(97, 'MineOn97', 'bsctestnet', 5));
    const deleting = createStateStore({ cwd: tempDir(), env: {} });
    expect(await deleting.delete(56, 'LookCoin')).toBe(true);
    await deleting.close();
    // A teammate's writes pulled through git: in the files, in no local journal.
    const json = new JsonFileStore({ dir: migration.paths.deployments });
    await json.open();
    await json.put(sampleRecord(97, 'PulledOn97', 'bsctestnet', 6));
    await json.put(sampleRecord(56, 'PulledOn56', 'bscmainnet', 7));
    expect(await json.delete(84532, 'SupplyOracle')).toBe(true);
    await json.close();
    const leveldbBefore = await readLevelDb(tempDir());
    // The pull of bscmainnet.json stopped with git's markers in it.
    const damaged = join(migration.paths.deployments, 'bscmainnet.json');
    const whole = await readFile(damaged, 'utf8');
    await writeFile(damaged, `<<<<<<< HEAD\n${whole}=======\n{}\n>>>>>>> theirs\n`);

    expect((await migration.rollbackReadiness()).ready).toBe(false);
    await expect(migration.rollback()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    const dry = await migration.rollback({ emergency: true, dryRun: true });
    expect(dry.unreadableInJson).toEqual([expect.objectContaining({ key: 'bscmainnet.json', file: damaged })]);
    const report = await migration.rollback({ emergency: true });
    expect(report.unreadableInJson).toEqual([expect.objectContaining({ key: 'bscmainnet.json', file: damaged })]);
    expect((await migration.status()).phase).toBe('leveldb-only');

    const leveldb = await readLevelDb(tempDir());
    // Every readable file carried back whole: the teammate's put, and its delete.
    expect(leveldb.get('97-PulledOn97')).toBeDefined();
    expect(leveldb.get('97-MineOn97')).toBeDefined();
    expect(leveldb.has('84532-SupplyOracle')).toBe(false);
    // The damaged file's chain: this clone's journalled writes (its delete too), and nothing else LevelDB held deleted.
    expect(leveldb.get('56-MineOn56')).toBeDefined();
    expect(leveldb.has('56-LookCoin')).toBe(false);
    for (const key of [...leveldbBefore.keys()].filter((k) => k.startsWith('56-') && k !== '56-LookCoin')) expect(leveldb.has(key), key).toBe(true);
    // Only the damaged file holds the teammate's record there: not in LevelDB, and said so (above).
    expect(leveldb.has('56-PulledOn56')).toBe(false);
    // What a rollback run again reads first, from the state alone: the file, as recorded.
    expect((await migration.rollbackScope()).notCarriedBack).toEqual([{ key: 'bscmainnet.json', chainId: 56, code: 'MERGE_CONFLICT' }]);

    // status says so too, in leveldb-only, for as long as it stands (the runbook's check after an
    // emergency rollback passed over it): the file while it does not parse, then the records of it
    // LevelDB lacks, then nothing once they are imported.
    expect((await migration.status()).notCarriedBack).toEqual([
      expect.objectContaining({ key: 'bscmainnet.json', chainId: 56, code: 'MERGE_CONFLICT', reason: expect.stringContaining('still cannot be read') }),
    ]);
    await writeFile(damaged, whole);
    expect((await migration.status()).notCarriedBack).toEqual([expect.objectContaining({ key: 'bscmainnet.json', missing: ['56-PulledOn56'] })]);
    const importing = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await importing.open();
    // A record of that chain LevelDB held once the rollback was done, deleted there since by a
    // deploy script: the file still holds it, and it was never left behind.
    expect(await importing.delete(56, 'MineOn56')).toBe(true);
    await importing.close();
    expect((await migration.status()).notCarriedBack).toEqual([expect.objectContaining({ key: 'bscmainnet.json', missing: ['56-PulledOn56'] })]);
    await importing.open();
    await importing.put(sampleRecord(56, 'PulledOn56', 'bscmainnet', 7));
    await importing.close();
    expect((await migration.status()).notCarriedBack).toBeUndefined();
  });

  it('from leveldb-only is a no-op: nothing read, switched or written, not even the state folder', async () => {
    const migration = await demoMigration(tempDir());
    const before = await listing(tempDir());
    const report = await migration.rollback({ emergency: true });
    expect(report).toMatchObject({ from: 'leveldb-only', nothingToDo: true, replayed: 0, puts: 0, deletes: 0 });
    // No rollback recorded anything it could not carry back: the CLI has no reason to read status.
    expect((await migration.rollbackScope()).notCarriedBack).toEqual([]);
    expect(await listing(tempDir())).toEqual(before);
    expect((await migration.status()).phase).toBe('leveldb-only');
  });

  it('from dual-write never changes or deletes a LevelDB record, whatever JSON holds', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const json = new JsonFileStore({ dir: migration.paths.deployments });
    await json.open();
    await json.put(sampleRecord(97, 'OnlyInJson', 'bsctestnet', 4));
    expect(await json.delete(84532, 'SupplyOracle')).toBe(true);
    await json.close();
    const report = await migration.rollback();
    expect([report.puts, report.deletes]).toEqual([0, 0]);
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, readOnly: true, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'OnlyInJson')).toBeNull();
      expect(await leveldb.get(84532, 'SupplyOracle')).not.toBeNull();
    } finally {
      await leveldb.close();
    }
  });

  it('emergency rollback carries back JSON-primary writes, skips the gates and keeps the JSON files', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await putThroughStore(tempDir(), sampleRecord(97, 'DuringPrimary', 'bsctestnet', 2));
    const before = await readdir(migration.paths.deployments);
    // Without a backup the readiness gate refuses an ordinary rollback; an emergency one goes on.
    await rm(join(migration.paths.stateDir, 'backups'), { recursive: true });
    await expect(migration.rollback()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    expect((await migration.status()).phase).toBe('json-primary');
    const report = await migration.rollback({ emergency: true });
    expect(report.emergency).toBe(true);
    expect((await migration.status()).phase).toBe('leveldb-only');
    expect(await readdir(migration.paths.deployments)).toEqual(before);
    expect((await compareDirect(tempDir())).equal).toBe(true);
  });

  it('with the JSON files unreadable, an emergency rollback carries back from the journal: the last value of each key, deletes as deletes', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');

    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'AfterCutover', 'bsctestnet', 1));
    const latest = { ...sampleRecord(97, 'AfterCutover', 'bsctestnet', 2), deploymentArgs: [2n ** 80n + 1n, 'second'] };
    await store.putContract(97, latest);
    const coin = await store.getContract(56, 'LookCoin');
    const changedCoin = { ...coin!, address: '0x2222222222222222222222222222222222222222', timestamp: 10n ** 20n };
    await store.putContract(56, changedCoin);
    expect(await store.delete(84532, 'SupplyOracle')).toBe(true);
    await store.close();

    const files = new JsonFileStore({ dir: migration.paths.deployments });
    for (const chainId of [56, 97, 84532]) await writeFile(files.fileFor(chainId), '{ "records": { truncated');
    await expect(migration.rollback()).rejects.toMatchObject({ code: 'GATE_FAILED' });

    const report = await migration.rollback({ emergency: true });
    expect(report).toMatchObject({ from: 'json-only', puts: 2, deletes: 1 });
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'AfterCutover')).toEqual(latest);
      expect(await leveldb.get(56, 'LookCoin')).toEqual(changedCoin);
      expect(await leveldb.get(84532, 'SupplyOracle')).toBeNull();
    } finally {
      await leveldb.close();
    }
  });

  it('the factory refuses writes while rolling back and reads the side that is complete', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const { updateState } = await import('../src/state.js');
    const { stateFiles } = await import('../src/paths.js');
    await updateState(stateFiles(migration.paths), (s) => {
      s.rollback = { from: 'json-primary', startedAt: new Date().toISOString(), emergency: false, carriedBack: false };
      s.phase = 'rolling-back';
    });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    shortRollingBackWait(store, 200);
    // Named by the file that holds the phase: phase.json, not state.json (disk probe).
    await expect(store.putContract(97, sampleRecord(97, 'Refused', 'bsctestnet'))).rejects.toMatchObject({
      code: 'WRITES_REFUSED',
      file: join(stateFiles(migration.paths).stateDir, 'phase.json'),
    });
    expect((store as unknown as { route: { reads: string } }).route.reads).toBe('json');
    await store.close();
    // A re-run of rollback finishes an interrupted one.
    const report = await migration.rollback();
    expect(report.from).toBe('json-primary');
    expect((await migration.status()).phase).toBe('leveldb-only');
  });
});

// In json-only the JSON files are the complete copy and rollback makes LevelDB equal to them. A
// deployments folder that was gone (deleted, a checkout without it, a typo in --deployments) read as
// an empty one: the rollback, its readiness saying "json readable, 0 records", deleted every LevelDB
// record and reported success (3 of 3 runs, also with --emergency).
describe('rollback from json-only without the JSON files', () => {
  async function leveldbCount(dir: string): Promise<number> {
    const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), readOnly: true, idleCloseMs: 0 });
    await leveldb.open();
    let count = 0;
    try {
      for await (const entry of leveldb.iterate()) count += entry ? 1 : 0;
    } finally {
      await leveldb.close();
    }
    return count;
  }

  it.each([
    ['is missing', (dir: string) => rm(join(dir, 'deployments'), { recursive: true }), {}],
    ['is a file', async (dir: string) => { await rm(join(dir, 'deployments'), { recursive: true }); await writeFile(join(dir, 'deployments'), 'x'); }, {}],
    ['is an empty folder given by mistake', (dir: string) => mkdir(join(dir, 'elsewhere')), { deployments: 'elsewhere' }],
  ])('where the folder %s is refused (STORE_NOT_FOUND naming it), also as an emergency, and LevelDB keeps every record', async (_what, damage, options) => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    await migration.close();
    const before = await leveldbCount(dir);
    expect(before).toBeGreaterThan(0);
    await damage(dir);
    const folder = join(dir, (options as { deployments?: string }).deployments ?? 'deployments');
    const pulled = await Migration.open({ cwd: dir, ...options });
    try {
      const ready = await pulled.rollbackReadiness();
      expect(ready.ready).toBe(false);
      expect(ready.checks.find((c) => c.name === 'json readable')).toMatchObject({ ok: false });
      for (const attempt of [{ dryRun: true }, {}, { emergency: true }]) {
        await expect(pulled.rollback(attempt), JSON.stringify(attempt)).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', file: folder });
      }
      expect((await pulled.status()).phase).toBe('json-only');
    } finally {
      await pulled.close();
    }
    expect(await leveldbCount(dir)).toBe(before);
    // Nothing was made in the folder it was pointed at.
    if ((options as { deployments?: string }).deployments) expect(await readdir(folder)).toEqual([]);
  });
});

// Two clones of a team's project, shared through git: A deploys in json-only (its writes reach the
// network files and its own journal), while B, which had not pulled them, rolls back and pushes.
// A pulls: the phase file says leveldb-only and LevelDB is B's, without A's records, while A's
// network files still hold them. Reads went to LevelDB and missed them (a deploy script would
// redeploy), status said nothing, and rollback said there was nothing to roll back (git hunt, 2/2).
// A FIFO in a network file's place was left out of the folder's listing: readiness said "json
// readable" and the carry-back deleted that chain's records from LevelDB (3 of 3 runs).
describe('rollback from json-only with a FIFO in a network file\'s place', () => {
  it.runIf(process.platform !== 'win32')('is not ready, and is refused before anything changes (the readiness gate names it)', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    const file = join(dir, 'deployments', 'basesepolia.json');
    await rm(file);
    execFileSync('mkfifo', [file]);
    try {
      expect((await migration.rollbackReadiness()).checks.find((c) => c.name === 'json readable')).toMatchObject({ ok: false });
      await expect(migration.rollback({ dryRun: true })).rejects.toMatchObject({ code: 'GATE_FAILED' });
      await expect(migration.rollback()).rejects.toMatchObject({ code: 'GATE_FAILED' });
      expect((await migration.status()).phase).toBe('json-only');
    } finally {
      await migration.close();
      await rm(file, { force: true });
    }
    const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), readOnly: true, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(84532, 'LookCoin')).not.toBeNull();
    } finally {
      await leveldb.close();
    }
  });
});

describe("a teammate's rollback pulled before this clone's JSON-side writes", () => {
  it('status names them, and rollback carries them back into LevelDB (not a newer record there), then clears the evidence', async () => {
    const a = join(tempDir(), 'a');
    const b = join(tempDir(), 'b');
    await mkdir(a);
    const migration = await demoMigration(a, 'json-only');
    await migration.close();
    await cp(a, b, { recursive: true });
    // A deploys two contracts and redeploys one that B will also write in LevelDB, newer, after its rollback.
    await putThroughStore(a, sampleRecord(97, 'FromA', 'bsctestnet', 1));
    await putThroughStore(a, sampleRecord(97, 'AlsoFromA', 'bsctestnet', 2));
    await putThroughStore(a, { ...sampleRecord(97, 'Both', 'bsctestnet', 3), timestamp: 1_700_000_000_001 });
    const other = await Migration.open({ cwd: b });
    await other.rollback({ emergency: true });
    await other.close();
    // Written in exponent form (any written form of an integer is a timestamp): compared by value.
    await putThroughStore(b, { ...sampleRecord(97, 'Both', 'bsctestnet', 4), timestamp: new JsonNumber('1.700000000002e12') });
    // The pull: B's phase file and LevelDB, A's network files (merged by record) and local state.
    await rm(join(a, 'leveldb'), { recursive: true });
    await cp(join(b, 'leveldb'), join(a, 'leveldb'), { recursive: true });
    await cp(join(b, '.deploystate', 'phase.json'), join(a, '.deploystate', 'phase.json'));
    const pulled = await Migration.open({ cwd: a });
    const status = await pulled.status();
    expect(status.phase).toBe('leveldb-only');
    expect(status.leftBehind?.carriedBack).toEqual(['97-AlsoFromA', '97-FromA']);
    const dry = await pulled.rollback({ dryRun: true });
    expect(dry.leftBehind?.newerInLevelDb).toEqual(['97-Both']);
    const report = await pulled.rollback();
    expect(report.leftBehind?.carriedBack).toEqual(['97-AlsoFromA', '97-FromA']);
    expect((await pulled.status()).leftBehind).toBeUndefined();
    expect((await pulled.rollback()).nothingToDo).toBe(true);
    await pulled.close();
    const store = createStateStore({ cwd: a, env: {} });
    expect((await store.get(97, 'FromA'))?.contractName).toBe('FromA');
    expect((await store.get(97, 'Both'))?.timestamp).toEqual(new JsonNumber('1.700000000002e12'));
    await store.close();
  });
});

// Found walking the runbook with a teammate's clone: a clone made after the cut-over (its state
// folder only the committed phase.json) deployed in json-only, then pulled a teammate's rollback.
// Its records were in JSON only; status said nothing and `rollback` answered "LevelDB holds every
// write; nothing to roll back", so its deploy scripts, reading LevelDB, would deploy them again.
describe("a clone that joined past dual-write enable, then pulled a teammate's rollback", () => {
  it('status names its JSON-side writes, and rollback carries them back; the clone that rolled back sees none', async () => {
    const a = join(tempDir(), 'a');
    const joined = join(tempDir(), 'joined');
    await mkdir(a);
    const migration = await demoMigration(a, 'json-only');
    await migration.close();
    // A fresh clone: the committed files only (the state folder's local part stays behind).
    await cp(a, joined, {
      recursive: true,
      filter: (source) => !source.includes(`${join('deployments', '.deploystate')}`) && (!source.includes('.deploystate') || /\.deploystate$|phase\.json$|\.gitignore$/.test(source)),
    });
    await putThroughStore(joined, sampleRecord(97, 'FromJoined', 'bsctestnet', 1));
    const own = await Migration.open({ cwd: a });
    await own.rollback();
    expect((await own.status()).leftBehind).toBeUndefined();
    expect((await own.rollback({ dryRun: true })).nothingToDo).toBe(true);
    await own.close();
    // The pull: A's LevelDB and phase file.
    await rm(join(joined, 'leveldb'), { recursive: true });
    await cp(join(a, 'leveldb'), join(joined, 'leveldb'), { recursive: true });
    await cp(join(a, '.deploystate', 'phase.json'), join(joined, '.deploystate', 'phase.json'));
    const pulled = await Migration.open({ cwd: joined });
    const status = await pulled.status();
    expect(status.phase).toBe('leveldb-only');
    expect(status.leftBehind?.carriedBack).toEqual(['97-FromJoined']);
    const report = await pulled.rollback();
    expect(report.leftBehind?.carriedBack).toEqual(['97-FromJoined']);
    expect((await pulled.status()).leftBehind).toBeUndefined();
    expect((await pulled.rollback()).nothingToDo).toBe(true);
    await pulled.close();
    const store = createStateStore({ cwd: joined, env: {} });
    expect((await store.get(97, 'FromJoined'))?.contractName).toBe('FromJoined');
    await store.close();
  });
});

// A pull that stopped on a conflict leaves git's markers in a network file: the file is an unfinished
// merge (MERGE_CONFLICT), whose records are unknown, so the rollback that would make LevelDB equal to
// the JSON files is not ready, and verify refuses naming the file.
describe('rollback from json-only with a merge left unfinished in a network file', () => {
  it('is not ready (json readable fails), and verify refuses with CORRUPTED naming the file', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    await migration.close();
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, `<<<<<<< HEAD\n${text}=======\n${text.replace(/"timestamp": (\d+)/, '"timestamp": 1$1')}>>>>>>> theirs\n`);
    const pulled = await Migration.open({ cwd: dir });
    try {
      const ready = await pulled.rollbackReadiness();
      expect(ready.checks.find((c) => c.name === 'json readable')).toMatchObject({ ok: false });
      expect(ready.ready).toBe(false);
      await expect(pulled.verify()).rejects.toMatchObject({ code: 'CORRUPTED', file });
    } finally {
      await pulled.close();
    }
  });
});
