// Two drains of one outbox (stores of one process, or of two) never overlap. Each writes the values
// it read from LevelDB: when they overlapped, the one that read first could write last, and a key
// in JSON stayed older than LevelDB had acknowledged, with the outbox empty (promote let it through,
// and a rollback then carried the stale value back into LevelDB).
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord, type StateStore } from '@deploystate/core';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal.js';
import { drainOutbox, type DrainTarget } from '../src/outbox-drainer.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-drain-order-');

describe('drains of one outbox', () => {
  it('never overlap: a drain that read an older value cannot write it over a newer one', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const paths = resolvePaths({ cwd: tempDir() });
    const files = stateFiles(paths);
    const leveldb = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    const json = new JsonFileStore({ dir: paths.deployments });
    await json.open();
    const put = (timestamp: number) =>
      leveldb.writeWithOutbox(
        { op: 'put', record: sampleRecord(97, 'Raced', 'bsctestnet', timestamp) },
        { key: '97-Raced', op: 'put', pid: process.pid, phase: 'dual-write' },
      );
    // The first drain reads value 1, then is held before it writes JSON.
    await put(1);
    let reached = (): void => undefined;
    const atWrite = new Promise<void>((resolve) => (reached = resolve));
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: DrainTarget = {
      files,
      journal: new Journal(files.journal),
      leveldb: async () => leveldb,
      json: async (): Promise<StateStore> => {
        reached();
        await held;
        return json;
      },
    };
    const first = drainOutbox(slow, { yieldToGates: true }).catch((error: unknown) => error);
    await atWrite;
    // Meanwhile value 2 is put and another drain (a timed one, as a store's drainer runs it) comes.
    await put(2);
    const fast: DrainTarget = { files, journal: new Journal(files.journal), leveldb: async () => leveldb, json: async () => json };
    const second = await drainOutbox(fast, { yieldToGates: true }).catch((error: unknown) => error);
    // close()'s drain waits its turn (trying again, holding nothing in between), then drains.
    const closing = drainOutbox(fast);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await first;
    expect((await closing).applied).toBe(1);
    const latest = sampleRecord(97, 'Raced', 'bsctestnet', 2).timestamp;
    expect((await leveldb.get(97, 'Raced'))?.timestamp).toBe(latest);
    expect((await json.get(97, 'Raced'))?.timestamp).toBe(latest);
    expect(await leveldb.readOutbox()).toEqual([]);
    // The second one did not write while the first held its values: it found the drain busy.
    expect(second).toMatchObject({ code: 'LOCKED' });
    await slow.journal.close();
    await fast.journal.close();
    await json.close();
    await leveldb.close();
    await migration.close?.();
  });
});
