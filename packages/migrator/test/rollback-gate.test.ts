// The rollback's carry-back is a gate: it never reads and switches while a write holds the fence
// (LOCKED naming the write, nothing carried back and the phase it left back, so writes go on), and
// a put that finds the phase flipped once it holds the fence waits for the rollback outside it. A
// LevelDB a paused deploy script holds is LOCKED naming it, before the phase changes.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalDigest, sampleRecord, sleep } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { hasWaiters, withLock } from '@deploystate/backend-json/lock';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Journal, Migration, stateFiles } from '../src/index.js';
import { GATE_FENCE_WAIT_MS, underGateFence } from '../src/fence.js';
import { readState, updateState } from '../src/state.js';
import { sharedStateFile } from '../src/shared-state.js';
import { demoMigration, putThroughStore, runNode, untilStopped, useTempDir } from './helpers.js';

// While `ms` is set, a gate that names no wait of its own waits that long for the writes in flight
// instead of GATE_FENCE_WAIT_MS: a test that only needs the LOCKED to come need not sit through 5 s.
// The first test below keeps the default, the wait the README promises.
const gateWait = vi.hoisted(() => ({ ms: undefined as number | undefined }));
vi.mock('../src/fence.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/fence.js')>();
  return {
    ...real,
    underGateFence: <T>(...[files, purpose, work, timeoutMs]: Parameters<typeof real.underGateFence<T>>) =>
      real.underGateFence(files, purpose, work, timeoutMs ?? gateWait.ms),
  };
});

afterEach(() => {
  gateWait.ms = undefined;
});

const tempDir = useTempDir('migrator-rollback-gate-');

/** The fence held shared, as a write in flight holds it, until `release()`. */
async function holdFenceShared(fence: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const writer = withLock(
    fence,
    async () => {
      holding();
      await released;
    },
    { mode: 'shared', timeoutMs: 10_000 },
  );
  await held;
  return {
    release: async () => {
      release();
      await writer;
    },
  };
}

async function inLevelDb(path: string, name: string): Promise<boolean> {
  const leveldb = new LevelDbStore({ path });
  await leveldb.open();
  try {
    return (await leveldb.get(97, name)) !== null;
  } finally {
    await leveldb.close();
  }
}

describe('the rollback gate', () => {
  it('does not carry back while a write holds the fence: LOCKED naming it, the phase back; a re-run carries the write back', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    const record = sampleRecord(97, 'InFlight', 'bsctestnet', 3);
    // A write in flight in a live process: the fence held shared, its intent journalled.
    const writer = await holdFenceShared(files.fence);
    const journal = new Journal(files.journal);
    const at = new Date().toISOString();
    const [intent] = await journal.record([
      { type: 'intent', key: '97-InFlight', op: 'put', digest: canonicalDigest(record), record, time: at, pid: process.pid, phase: 'json-primary' },
    ]);

    const asked = performance.now();
    const error = await migration.rollback().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LOCKED', file: files.fence });
    // The gate's own wait, not a shortened one: the writes in flight get their 5 s.
    expect(performance.now() - asked).toBeGreaterThanOrEqual(GATE_FENCE_WAIT_MS);
    expect(String((error as Error).message)).toContain(`97-InFlight (pid ${process.pid}`);
    // Nothing was carried back: left rolling-back, every write would be refused until rollback ran again.
    expect(String((error as Error).message)).toContain('the phase is json-primary again');
    expect((await migration.status()).phase).toBe('json-primary');

    // The write lands in JSON and closes, then lets the fence go: a re-run finds it and carries it back.
    const json = new JsonFileStore({ dir: migration.paths.deployments });
    await json.open();
    await json.put(record);
    await json.close();
    await journal.record([{ type: 'outcome', refId: intent as string, key: '97-InFlight', op: 'put', outcome: 'ok', durationMs: 1, time: at, pid: process.pid, phase: 'json-primary' }]);
    await writer.release();
    const report = await migration.rollback();
    expect(report.from).toBe('json-primary');
    expect((await migration.status()).phase).toBe('leveldb-only');
    expect(await inLevelDb(migration.paths.leveldb, 'InFlight')).toBe(true);
  });

  // The team's phase changed while the rollback waited for the fence: a teammate rolled back and this
  // clone pulled their phase.json (leveldb-only). Before: the rollback that then gave up put its own
  // `from` (json-primary) over it, 3 of 3 runs, so this clone's scripts wrote JSON first again while
  // the team had left it. A stop before the carry-back puts back only the rolling-back it left.
  it('a phase pulled while it waits for the fence stands: LOCKED, the pulled phase left as it is', async () => {
    // The gate's own wait (gateWait left unset): the pull below must land while it still waits, on
    // a loaded machine too (1 s was not enough in CI beside the other suites).
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    const writer = await holdFenceShared(files.fence);
    try {
      const rollback = migration.rollback().catch((e: unknown) => e);
      // Rolling back, and waiting at the fence (it writes the phase before it asks for the fence:
      // under load the pull could otherwise land in between, and the check below fail). Bounded by
      // the gate's own wait: past it the rollback has given up.
      const until = Date.now() + GATE_FENCE_WAIT_MS;
      while (((await readState(files)).phase !== 'rolling-back' || !hasWaiters(files.fence)) && Date.now() < until) await sleep(20);
      // git replaces the file by rename: the teammate's finished rollback.
      const shared = sharedStateFile(files.stateDir);
      const pulled = JSON.parse(await readFile(shared, 'utf8')) as Record<string, unknown>;
      const theirs = { from: 'json-primary', startedAt: '2026-01-01T00:00:00.000Z', emergency: false, carriedBack: true, completedAt: '2026-01-01T00:00:01.000Z' };
      await writeFile(`${shared}.pull`, `${JSON.stringify({ ...pulled, phase: 'leveldb-only', rollback: theirs }, null, 2)}\n`);
      await rename(`${shared}.pull`, shared);
      // Pulled while the rollback still waits for the fence (else this would prove nothing).
      expect(hasWaiters(files.fence)).toBe(true);

      const error = await rollback;
      expect(error).toMatchObject({ code: 'LOCKED', file: files.fence });
      const after = await readState(files);
      expect(after.phase).toBe('leveldb-only');
      expect(after.rollback).toEqual(theirs);
    } finally {
      await writer.release();
      await migration.close();
    }
  });

  // Real processes: a deploy script paused in its JSON write (intent journalled, the fence held).
  it('a deploy script paused mid-write in json-only keeps the rollback out (LOCKED naming it), and once resumed its write lands and a re-run carries it back', async () => {
    gateWait.ms = 500;
    const migration = await demoMigration(tempDir(), 'json-only');
    const writer = runNode('crash-writer.mjs', [tempDir(), 'stop-before-json', '97', 'Paused', 'bsctestnet']);
    try {
      await untilStopped(writer.process.pid as number);
      const error = await migration.rollback().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LOCKED', file: stateFiles(migration.paths).fence });
      expect(String((error as Error).message)).toContain(`97-Paused (pid ${writer.process.pid}`);
      expect((await migration.status()).phase).toBe('json-only');
      writer.process.kill('SIGCONT');
      // Resumed, its write goes on in json-only, as it began (it is never refused).
      expect((await writer.done).stdout).toContain('not killed');
      await migration.rollback();
      expect((await migration.status()).phase).toBe('leveldb-only');
      expect(await inLevelDb(migration.paths.leveldb, 'Paused')).toBe(true);
    } finally {
      writer.process.kill('SIGKILL');
      await migration.close();
    }
  });

  // Not a failed readiness check that offers --emergency: that switched to rolling-back, and refused
  // every write, for as long as the paused script kept LevelDB. One rollback per test: each waits
  // for LevelDB as long as LevelDB's lock wait lasts.
  for (const emergency of [false, true]) {
    it(`a deploy script paused holding LevelDB: rollback${emergency ? ' --emergency' : ''} is LOCKED naming it before the phase changes; once resumed it rolls back`, async () => {
      await (await demoMigration(tempDir(), 'json-primary')).close();
      // About 1.5 s for LevelDB's lock (lockWaitMs) instead of the default 15 s: LOCKED counts its tries.
      const migration = await Migration.open({ cwd: tempDir(), lockWaitMs: 1500 });
      const writer = runNode('paused-after-put.mjs', [tempDir(), '97', 'Held', 'bsctestnet']);
      try {
        await untilStopped(writer.process.pid as number);
        const error = await migration.rollback({ emergency }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'LOCKED' });
        expect(String((error as Error).message)).toContain(`pid ${writer.process.pid}`);
        // Over about 1.5 s: well under a second more, never the default 15 s.
        const over = Number(/still locked after \d+ attempts over ([\d.]+) s/.exec(String((error as Error).message))?.[1]);
        expect(over).toBeGreaterThanOrEqual(1.5);
        expect(over).toBeLessThan(10);
        expect((await migration.status()).phase).toBe('json-primary');
        writer.process.kill('SIGCONT');
        expect((await writer.done).stdout).toContain('closed');
        await migration.rollback({ emergency });
        expect((await migration.status()).phase).toBe('leveldb-only');
        expect(await inLevelDb(migration.paths.leveldb, 'Held')).toBe(true);
      } finally {
        writer.process.kill('SIGKILL');
        await migration.close();
      }
    });
  }

  it('a put that finds rolling-back once it holds the fence waits for the rollback and lands where the phase it leaves writes', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet'));
    let put: Promise<unknown> | undefined;
    // A gate holds the fence; the put routes (json-primary) and waits for it; the phase flips meanwhile.
    await underGateFence(files, 'test', async () => {
      put = store.putContract(97, sampleRecord(97, 'Racing', 'bsctestnet', 2)).then(
        () => 'stored',
        (e: unknown) => e,
      );
      const until = Date.now() + 10_000;
      while (!hasWaiters(files.fence) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
      await updateState(files, (s) => {
        s.rollback = { from: 'json-primary', startedAt: new Date().toISOString(), emergency: false, carriedBack: false };
        s.phase = 'rolling-back';
      });
    });
    // The put now holds the fence and finds rolling-back: it lets the fence go and waits, so the
    // rollback gets it, and the put lands once the phase is leveldb-only.
    const report = await migration.rollback();
    expect(report.from).toBe('json-primary');
    expect(await put).toBe('stored');
    await store.close();
    expect(await inLevelDb(migration.paths.leveldb, 'Racing')).toBe(true);
  });

  it('a journalled record other code drops from JSON while the rollback waits for the fence stops it (FOREIGN_OVERWRITE), LevelDB untouched, the phase back', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const files = stateFiles(migration.paths);
    await putThroughStore(tempDir(), sampleRecord(97, 'Journalled', 'bsctestnet', 5));
    // A write in flight keeps the rollback waiting for the fence, past its first check of the files.
    const writer = await holdFenceShared(files.fence);
    const rollback = migration.rollback().catch((e: unknown) => e);
    const until = Date.now() + 10_000;
    while ((await migration.status()).phase !== 'rolling-back' && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    // Meanwhile a legacy script rewrites the file without the record, then the write in flight ends.
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    delete doc.records.Journalled;
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    await writer.release();
    expect(await rollback).toMatchObject({ code: 'FOREIGN_OVERWRITE' });
    expect(String((await rollback) as Error)).toContain('97-Journalled');
    expect(await inLevelDb(migration.paths.leveldb, 'Journalled')).toBe(true);
    // Nothing was carried back: the phase the rollback left comes back, and it says so; writes go on.
    expect(String((await rollback) as Error)).toContain('the phase is json-primary again');
    expect((await migration.status()).phase).toBe('json-primary');
    await putThroughStore(tempDir(), sampleRecord(97, 'AfterStop', 'bsctestnet', 6));
  });
});
