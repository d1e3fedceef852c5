// `restore` (a JSON file from its backup, the LevelDB folder from the migrator's backup) and
// `status --probe` (the deploy scripts' factory store, opened and read through) on a sample.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, sampleAt, type Run, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-restore-');
const { inSample } = fixture;

/** The copy, with the two dev-chain records excluded (as analyze proposes). */
const COPIED = [['dual-write', 'enable'], ['migrate', '--exclude', '31337-LookCoin', '--exclude', '31337-TestToken']];

/** A copy of the sample, migrated to json-primary through the CLI. */
function jsonPrimarySample(name: string): Promise<string> {
  return sampleAt(join(fixture.root, name), [...COPIED, ['verify'], ['promote']]);
}

/** Runs the binary in `dir`. */
const runIn =
  (dir: string) =>
  (args: string[]): Promise<Run> =>
    deploystate(args, { cwd: dir });

describe('status --probe', () => {
  it('in leveldb-only reads every record through the factory store; --expect another phase exits 1', async () => {
    const run = await inSample(['status', '--probe', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = onlyDocument(run) as { phase: string; probe: { ok: boolean; phase: string; records: number } };
    expect(doc.phase).toBe('leveldb-only');
    expect(doc.probe).toMatchObject({ ok: true, phase: 'leveldb-only', records: 28 });
    expect((await inSample(['status', '--expect', 'json-only', '--probe'])).code).toBe(1);
  });

  it("in json-primary, a damaged network file is named as the project's file, never as the probe's copy of it", async () => {
    const dir = await jsonPrimarySample('probe-json-primary');
    const file = join(dir, 'deployments', 'bsctestnet.json');
    await writeFile(file, '{"chainId": 97, "records": {\n');
    const run = await deploystate(['status', '--probe', '--json'], { cwd: dir });
    expect(onlyDocument(run).error).toMatchObject({ code: 'CORRUPTED', file: expect.stringContaining(file) });
    expect(run.stdout + run.stderr).not.toContain('deploystate-probe-copy-');
  });

  it("in json-primary, a record the store wrote that its file lost is FOREIGN_OVERWRITE, as a deploy script's iteration gets it, named in the project", async () => {
    const dir = await jsonPrimarySample('probe-lost-write');
    const file = join(dir, 'deployments', 'bsctestnet.json');
    const before = await readFile(file, 'utf8');
    const { createStateStore } = await import('@deploystate/migrator');
    const store = createStateStore({ cwd: dir, env: {} });
    const saved = (await store.list(97))[0];
    if (saved === undefined) throw new Error('the sample has no bsctestnet record');
    await store.putContract(97, { ...saved, contractName: 'ProbeVault', timestamp: 2_000_000_000 });
    await store.close();
    await writeFile(file, before); // the put's file as it was before it (what a git merge's write does)
    const run = await deploystate(['status', '--probe', '--json'], { cwd: dir });
    expect(run.code).not.toBe(0);
    expect(onlyDocument(run).error).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '97-ProbeVault', file });
    expect(run.stdout + run.stderr).not.toContain('deploystate-probe-copy-');
  });
});

// A restore of the LevelDB folder killed between its two renames (the live folder aside, the copy
// not yet in): every deploy script's open fails, and status used to show nothing wrong.
describe('status after a LevelDB restore cut off between its renames', () => {
  it('says LevelDB cannot be opened and that the restore is to be run again; the rerun finishes it', async () => {
    const dir = await sampleAt(join(fixture.root, 'restore-cut-off'), [...COPIED, ['rollback']]);
    const preload = pathToFileURL(fileURLToPath(new URL('./fixtures/kill-after-rename.mjs', import.meta.url))).href;
    const killed = await deploystate(['restore', 'leveldb', '--yes'], {
      cwd: dir,
      env: { NODE_OPTIONS: `--import=${preload}`, DEPLOYSTATE_TEST_KILL_AFTER_RENAME: '^leveldb\\.replaced-' },
    });
    expect(killed.code, killed.stderr).toBeNull(); // killed
    // The killed restore's pid may live on in another pid namespace: status waits for its swap as
    // long as an open of LevelDB waits, here 1.5 s, then says the restore is to be run again.
    const started = Date.now();
    const cutOff = onlyDocument(await deploystate(['status', '--json'], { cwd: dir, env: { DEPLOYSTATE_LOCK_WAIT_MS: '1500' } })) as {
      leveldbUnreadable?: { code: string; hint?: string };
    };
    expect(cutOff.leveldbUnreadable).toMatchObject({ code: 'STORE_NOT_FOUND', hint: expect.stringContaining('restore') });
    expect(Date.now() - started).toBeLessThan(10_000);
    // A command that snapshots LevelDB itself waits as long: export, the wait set here by the
    // config's lockWaitMs (as a team sets it).
    const config = join(dir, 'deploystate.config.json');
    const configured = existsSync(config) ? (JSON.parse(await readFile(config, 'utf8')) as object) : {};
    await writeFile(config, `${JSON.stringify({ ...configured, lockWaitMs: 1500 })}\n`);
    const exportStarted = Date.now();
    const exported = await deploystate(['export', join(dir, 'during-restore.json'), '--json'], { cwd: dir });
    expect(exported.code, exported.stderr).not.toBe(0);
    expect((onlyDocument(exported).error as { code: string }).code).toBe('STORE_NOT_FOUND');
    expect(Date.now() - exportStarted).toBeLessThan(10_000);
    // The drill that reads LevelDB drills on it or not at all: it drilled on the network files alone.
    const drill = await deploystate(['drill', 'json-backend', '--json'], { cwd: dir });
    expect(drill.code, drill.stdout).not.toBe(0);
    expect(onlyDocument(drill).error).toMatchObject({ code: 'STORE_NOT_FOUND', hint: expect.stringContaining('restore') });
    expect((await deploystate(['restore', 'leveldb', '--yes'], { cwd: dir })).code).toBe(0);
    const after = onlyDocument(await deploystate(['status', '--json'], { cwd: dir })) as { leveldbUnreadable?: unknown };
    expect(after.leveldbUnreadable).toBeUndefined();
  });
});

describe('restore', () => {
  it('a JSON file the copy wrote, damaged by hand: refused without --yes, then the version last written comes back byte for byte, named', async () => {
    const dir = await sampleAt(join(fixture.root, 'restore-json'), COPIED);
    const inCopy = runIn(dir);
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const written = await readFile(file);
    const list = onlyDocument(await inCopy(['restore', 'bscmainnet', '--list', '--json'])) as { backups: string[] };
    // The version the store last wrote is kept as a hard link to the state file itself: no copy.
    expect((await stat(list.backups[0] as string)).ino).toBe((await stat(file)).ino);
    // Damaged the way an editor that saves by rename (or git) does: a new file in its place.
    await writeFile(`${file}.edit`, '{"records": {"cut sh');
    await rename(`${file}.edit`, file);
    const refused = await inCopy(['restore', '56']);
    expect(refused.code).toBe(2);
    expect(await readFile(file, 'utf8')).toBe('{"records": {"cut sh');
    // By the name `--list` shows (the folder printed once above the names), as --backup takes it.
    const name = basename(list.backups[0] as string);
    expect((await inCopy(['restore', 'bscmainnet', '--list'])).stdout.split('\n')).toContain(`  ${name}`);
    const run = await inCopy(['restore', '56', '--backup', name, '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = onlyDocument(run) as { restored: string; version: Record<string, unknown>; replacedBackup: string };
    expect(doc.restored).toBe(list.backups[0]);
    expect(doc.version).toMatchObject({ kind: 'written', lastWritten: true, newerWrites: 0, intact: true });
    expect(Buffer.compare(await readFile(file), written)).toBe(0);
    // The damaged file it replaced is itself kept as a backup, so the restore can be undone.
    expect(await readFile(doc.replacedBackup, 'utf8')).toBe('{"records": {"cut sh');
    // The copy refuses to write over a damaged file; once restored (in text, naming the version), it runs again.
    await writeFile(`${file}.edit`, 'garbage');
    await rename(`${file}.edit`, file);
    const migrate = ['migrate', '--exclude', '31337-LookCoin', '--exclude', '31337-TestToken', '--yes'];
    const refusedCopy = await inCopy(migrate);
    expect(refusedCopy.code).toBe(4);
    expect(refusedCopy.stderr).toContain('CORRUPTED');
    expect(await readFile(file, 'utf8')).toBe('garbage');
    const text = await inCopy(['restore', '56', '--yes']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('the last version the store wrote');
    expect(Buffer.compare(await readFile(file), written)).toBe(0);
    const again = await inCopy(migrate);
    expect(again.code, again.stderr).toBe(0);

    // Written into in place (a script's writeFileSync): the version last written, a hard link to the
    // file, is damaged with it. The older version is never taken without asking: refused, naming it.
    const before = await readFile(file);
    await writeFile(file, '{"records": {"half wri');
    const older = await inCopy(['restore', '56', '--yes', '--json']);
    expect(older.code).toBe(4);
    expect((onlyDocument(older).error as { code: string }).code).toBe('BACKUP_NOT_FOUND');
    expect(await readFile(file, 'utf8')).toBe('{"records": {"half wri');
    const asked = await inCopy(['restore', '56', '--older', '--yes', '--json']);
    expect(asked.code, asked.stderr).toBe(0);
    expect((onlyDocument(asked) as { version: { lastWritten: boolean } }).version.lastWritten).toBe(false);
    expect(() => JSON.parse(before.toString('utf8'))).not.toThrow();
    expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('the LevelDB folder from the backup the copy made: a bad import is undone, the replaced folder kept aside', async () => {
    const inCopy = runIn(await sampleAt(join(fixture.root, 'restore-leveldb'), COPIED));
    const backups = onlyDocument(await inCopy(['restore', 'leveldb', '--list', '--json'])) as { backups: string[] };
    expect(backups.backups.length).toBeGreaterThan(0);
    // Replacing LevelDB under a running dual-write would lose journalled writes: refused until leveldb-only.
    const refused = await inCopy(['restore', 'leveldb', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('TRANSITION_REFUSED');
    expect((await inCopy(['dual-write', 'disable', '--yes'])).code).toBe(0);
    // The damage: a forced import that overwrote a record with the wrong data.
    const exported = join(fixture.root, 'state.ndjson');
    expect((await inCopy(['export', exported])).code).toBe(0);
    const text = await readFile(exported, 'utf8');
    await writeFile(
      exported,
      text.replace('"contractName":"LookCoin","chainId":56', '"contractName":"LookCoin","chainId":56,"note":"wrong"'),
    );
    expect((await inCopy(['import', exported, '--force', '--yes'])).code).toBe(0);
    const damaged = join(fixture.root, 'damaged.ndjson');
    await inCopy(['export', damaged]);
    expect(await readFile(damaged, 'utf8')).toContain('"note":"wrong"');
    const run = await inCopy(['restore', 'leveldb', '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = onlyDocument(run) as { restored: string; movedAside: string };
    expect(backups.backups).toContain(doc.restored);
    expect(existsSync(join(doc.movedAside, 'CURRENT'))).toBe(true);
    const after = join(fixture.root, 'after.ndjson');
    expect((await inCopy(['export', after])).code).toBe(0);
    // Record lines only: the header line carries the export's time.
    const records = (ndjson: string): string[] => ndjson.trim().split('\n').slice(1);
    expect(records(await readFile(after, 'utf8'))).toEqual(records(text));
    expect(records(text)).toHaveLength(28);
  });
});
