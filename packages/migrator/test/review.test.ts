// Storage-safety review: a write must never land only on a side that the next phase stops
// reading, whichever order a deploy script, a crash and a migration command happen in.
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { canonicalDigest, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { createStateStore } from '../src/index.js';
import { Journal } from '../src/journal.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { acknowledgeAll, demoMigration, putThroughStore, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-review-');

async function leveldbGet(dir: string, chainId: number, name: string): Promise<unknown> {
  const store = new LevelDbStore({ path: resolvePaths({ cwd: dir }).leveldb, idleCloseMs: 0 });
  await store.open();
  try {
    return await store.get(chainId, name);
  } finally {
    await store.close();
  }
}

describe('review: phase changes racing a write', () => {
  it('a write whose route was read before a rollback ran is not left on JSON alone', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.open();
    // The deploy script has read the route (json-only); before its intent line is appended the
    // rollback flips the phase (it needs no fence for that; its carry-back then waits for this
    // write's fence, and the state is leveldb-only once it has run).
    const appendPrinted = Journal.prototype.appendPrinted;
    let raced = false;
    let rollback: Promise<unknown> | undefined;
    Journal.prototype.appendPrinted = function (this: Journal, line: string) {
      if (raced || !line.startsWith('{"type":"intent"')) return appendPrinted.call(this, line);
      raced = true;
      return (async () => {
        rollback = migration.rollback({ emergency: true });
        const until = Date.now() + 10_000;
        while ((await migration.status()).phase !== 'rolling-back' && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        await appendPrinted.call(this, line);
      })();
    };
    let outcome: unknown;
    try {
      outcome = await store.putContract(97, sampleRecord(97, 'RacedRollback', 'bsctestnet', 3)).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    } finally {
      Journal.prototype.appendPrinted = appendPrinted;
      await store.close();
    }
    expect(raced).toBe(true);
    await rollback;
    expect((await migration.status()).phase).toBe('leveldb-only');
    // Either the write is refused, or it is in LevelDB, the only side read now.
    if (outcome === 'ok') expect(await leveldbGet(tempDir(), 97, 'RacedRollback')).not.toBeNull();
    else expect(outcome).toBe('WRITES_REFUSED');
  });
});

describe('review: crashed writers', () => {
  it('a write whose drainer was killed before JSON is pending for verify, and promote applies it before switching', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    expect((await migration.verify()).clean).toBe(true);
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'HalfWritten', 'bsctestnet']);
    const { signal } = await child.done;
    expect(signal).toBe('SIGKILL');
    expect(await leveldbGet(tempDir(), 97, 'HalfWritten')).not.toBeNull();
    const status = await migration.status();
    expect(status.outbox).toMatchObject({ depth: 1, oldest: { key: '97-HalfWritten' }, lastError: null });
    // Pending, not a difference: verify is clean and names it.
    const verify = await migration.verify();
    expect(verify.clean).toBe(true);
    expect(verify.comparison.pending).toEqual(['97-HalfWritten']);
    // JSON becomes the read side only once it holds the record LevelDB acknowledged.
    await migration.promote();
    expect((await migration.status()).phase).toBe('json-primary');
    const json = createStateStore({ cwd: tempDir(), env: {} });
    expect(await json.getContract(97, 'HalfWritten')).not.toBeNull();
    await json.close();
    expect((await migration.status()).outbox?.depth ?? 0).toBe(0);
  });

  it('rollback from json-only carries back a write whose process died after JSON, before its outcome', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const child = runNode('crash-writer.mjs', [tempDir(), 'after-json', '97', 'DiedAfterJson', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    await migration.rollback();
    expect(await leveldbGet(tempDir(), 97, 'DiedAfterJson')).not.toBeNull();
  });

  it('rollback from dual-write leaves no outbox behind a writer killed before its drain, and names the keys', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'NeverDrained', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    expect((await migration.status()).outbox?.depth).toBe(1);
    expect((await migration.rollback({ dryRun: true })).outboxDropped).toEqual(['97-NeverDrained']);
    const report = await migration.rollback();
    expect(report.outboxDropped).toEqual(['97-NeverDrained']);
    const status = await migration.status();
    expect(status.phase).toBe('leveldb-only');
    expect(status.outbox).toMatchObject({ depth: 0, lastError: null });
    // LevelDB (committed to git) holds the record and no outbox key.
    expect(await leveldbGet(tempDir(), 97, 'NeverDrained')).not.toBeNull();
    const store = new LevelDbStore({ path: resolvePaths({ cwd: tempDir() }).leveldb, idleCloseMs: 0 });
    await store.open();
    try {
      expect(await store.readOutbox()).toEqual([]);
    } finally {
      await store.close();
    }
    const journal = new Journal(stateFiles(resolvePaths({ cwd: tempDir() })).journal);
    expect((await journal.read()).entries.filter((e) => e.type === 'event' && e.event === 'outbox-dropped')).toHaveLength(1);
  });

  it('json-primary: a write killed between its JSON and LevelDB writes is pending, and cut-over completes it into LevelDB', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const child = runNode('crash-writer.mjs', [tempDir(), 'after-json', '97', 'DiedBeforeLevelDb', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    expect(await leveldbGet(tempDir(), 97, 'DiedBeforeLevelDb')).toBeNull();
    // Pending, not a difference (it was "only in json", and cut-over refused for good).
    const verify = await migration.verify();
    expect(verify.clean).toBe(true);
    expect(verify.comparison.pending).toEqual(['97-DiedBeforeLevelDb']);
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    expect((await migration.status()).phase).toBe('json-only');
    // LevelDB got what JSON held, journalled as the cut-over's own write (intent and ok); the
    // script's write is closed secondary-failed (its JSON write landed, its LevelDB write did not).
    expect(await leveldbGet(tempDir(), 97, 'DiedBeforeLevelDb')).toMatchObject({ contractName: 'DiedBeforeLevelDb' });
    const journal = new Journal(stateFiles(resolvePaths({ cwd: tempDir() })).journal);
    const entries = (await journal.read()).entries;
    const [script, completion] = entries.filter((e) => e.type === 'intent' && e.key === '97-DiedBeforeLevelDb');
    expect(completion).toMatchObject({ pid: process.pid, digest: (script as { digest: string }).digest });
    expect(entries.filter((e) => e.type === 'outcome' && e.key === '97-DiedBeforeLevelDb')).toMatchObject([
      { outcome: 'ok', refId: completion?.id },
      { outcome: 'secondary-failed', refId: script?.id, error: { code: 'WRITE_FAILED' } },
    ]);
    // The files check folds the completion: nothing the store wrote reads as another program's.
    expect((await migration.verify()).files?.findings).toEqual([]);
    const after = await migration.verify();
    expect(after.clean).toBe(true);
    expect(after.comparison.pending).toEqual([]);
  });

  it('json-primary: a delete of a key the store wrote, killed after its JSON delete, is no foreign overwrite; cut-over completes it', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await putThroughStore(tempDir(), sampleRecord(56, 'Temp', 'bscmainnet', 1));
    const child = runNode('crash-writer.mjs', [tempDir(), 'after-json', '56', 'Temp', 'bscmainnet', 'delete']);
    expect((await child.done).signal).toBe('SIGKILL');
    const verify = await migration.verify();
    expect(verify.files?.findings).toEqual([]);
    expect(verify.clean).toBe(true);
    expect(verify.comparison.pending).toEqual(['56-Temp']);
    expect((await migration.status()).foreignOverwrites ?? []).toEqual([]);
    const cutover = await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    expect(cutover.completed).toEqual(['56-Temp']);
    expect(await leveldbGet(tempDir(), 56, 'Temp')).toBeNull();
    expect((await migration.verify()).clean).toBe(true);
  });

  it('json-primary: a cut-off write that is not its key\'s last (its JSON write landed after a later one) is pending, and cut-over makes LevelDB follow JSON', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    const journal = new Journal(files.journal);
    // Writer A journals first and dies (no outcome); writer B then writes both sides and closes ok;
    // A's JSON write lands last: JSON holds A, LevelDB B.
    const a = sampleRecord(56, 'Race', 'bscmainnet', 1);
    const deadPid = 2 ** 22 + 4321;
    await journal.record([
      { type: 'intent', key: '56-Race', op: 'put', digest: canonicalDigest(a), record: a, time: new Date().toISOString(), pid: deadPid, phase: 'json-primary' },
    ]);
    await putThroughStore(tempDir(), sampleRecord(56, 'Race', 'bscmainnet', 2));
    const json = new JsonFileStore({ dir: migration.paths.deployments });
    await json.open();
    await json.put(a);
    await json.close();
    const verify = await migration.verify();
    expect(verify.clean).toBe(true);
    expect(verify.comparison.pending).toEqual(['56-Race']);
    const cutover = await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    expect(cutover.completed).toEqual(['56-Race']);
    expect(canonicalDigest((await leveldbGet(tempDir(), 56, 'Race')) as DeploymentRecord)).toBe(canonicalDigest(a));
    const after = await migration.verify();
    expect(after.clean).toBe(true);
  });

  it('json-primary: a write killed before its JSON write is closed by cut-over, and nothing is written', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const child = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'NeverWritten', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    expect((await migration.verify()).comparison.pending).toEqual(['97-NeverWritten']);
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    expect(await leveldbGet(tempDir(), 97, 'NeverWritten')).toBeNull();
    const json = createStateStore({ cwd: tempDir(), env: {} });
    expect(await json.getContract(97, 'NeverWritten')).toBeNull();
    await json.close();
    const journal = new Journal(stateFiles(resolvePaths({ cwd: tempDir() })).journal);
    const outcomes = (await journal.read()).entries.filter((e) => e.type === 'outcome' && e.key === '97-NeverWritten');
    expect(outcomes).toMatchObject([{ outcome: 'primary-failed', error: { code: 'WRITE_FAILED' } }]);
    expect((await migration.verify()).comparison.pending).toEqual([]);
  });

  it('json-only: a delete killed after its JSON delete stays the store\'s own in every later check; repair and rollback never bring the record back', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await putThroughStore(tempDir(), sampleRecord(56, 'Temp', 'bscmainnet', 1));
    const child = runNode('crash-writer.mjs', [tempDir(), 'after-json', '56', 'Temp', 'bscmainnet', 'delete']);
    expect((await child.done).signal).toBe('SIGKILL');
    // The first check passes the cut-off write (its process is gone); the later ones must not read its
    // delete as another program's.
    for (let i = 0; i < 3; i++) expect((await migration.verify()).files?.findings).toEqual([]);
    expect((await migration.status()).foreignOverwrites ?? []).toEqual([]);
    expect((await migration.planFileRepair()).actions).toEqual([]);
    const report = await migration.rollback({ emergency: true });
    expect(report.keptFromJournal).toBeUndefined();
    expect(await leveldbGet(tempDir(), 56, 'Temp')).toBeNull();
  });

  it('json-only: verify counts a write killed after JSON, before its outcome, as written since the cut-over', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const child = runNode('crash-writer.mjs', [tempDir(), 'after-json', '97', 'NoOutcome', 'bsctestnet']);
    expect((await child.done).signal).toBe('SIGKILL');
    const verify = await migration.verify();
    expect(verify.clean).toBe(true);
    expect(verify.comparison.writtenSinceCutover).toEqual(['97-NoOutcome']);
  });

  it('rollback carries back a key written then deleted in json-only, and dual-write keys from before promote', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    await putThroughStore(tempDir(), sampleRecord(56, 'BeforeCopy', 'bscmainnet', 4));
    await migration.migrate();
    expect((await migration.verify()).clean).toBe(true);
    await migration.promote();
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(56, sampleRecord(56, 'Transient', 'bscmainnet', 5));
    expect(await store.delete(56, 'Transient')).toBe(true);
    expect(await store.delete(56, 'BeforeCopy')).toBe(true);
    await store.close();
    await migration.rollback();
    expect(await leveldbGet(tempDir(), 56, 'Transient')).toBeNull();
    expect(await leveldbGet(tempDir(), 56, 'BeforeCopy')).toBeNull();
  });
});
