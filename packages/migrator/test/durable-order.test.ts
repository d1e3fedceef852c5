// The migrator's own durable writes (state file, evidence, reports; they go through the JSON
// backend's one durable write, whose own tests are in that package) and the journal's appends,
// checked by their calls, since a kill cannot show a missing fsync: the temp file is synced before
// the rename, the folder after it, and the write returns only after both; a journal append returns
// only after its line is synced.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Journal, readState, stateFiles, resolvePaths, writeState, initialState } from '../src/index.js';
import { durableReplacement, recorder } from '@deploystate/core/testing/fs-recorder';
import { useTempDir } from './helpers.js';

vi.mock('node:fs', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFs(await importOriginal()));
vi.mock('node:fs/promises', async (importOriginal) => (await import('@deploystate/core/testing/fs-recorder')).recordingFsPromises(await importOriginal()));

const tempDir = useTempDir('migrator-durable-');
const inOrder = { renamed: true, fileSyncedBeforeRename: true, folderSyncedAfterRename: true, returnedAfterBoth: true };

describe('durable writes of the migrator', () => {
  it('the state file is written the same way', async () => {
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    const folder = dirname(files.state);
    await mkdir(folder, { recursive: true });
    recorder.events.length = 0;
    await writeState(files, initialState());
    recorder.mark('returned');
    expect(durableReplacement(recorder.events, files.state, folder, 'returned')).toEqual(inOrder);
    expect((await readState(files)).phase).toBe('leveldb-only');
  });

  it('a journal append returns only after its line is synced', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    try {
      for (let i = 0; i < 2; i++) {
        recorder.events.length = 0;
        await journal.appendOne({
          type: 'event',
          event: 'dual-write-enabled',
          time: new Date().toISOString(),
          pid: process.pid,
          phase: 'dual-write',
        });
        recorder.mark('returned');
        const synced = recorder.events.findIndex((e) => e.kind === 'sync' && e.path === file);
        expect(synced, `append ${i}`).toBeGreaterThanOrEqual(0);
        expect(
          recorder.events.findIndex((e) => e.kind === 'mark'),
          `append ${i}`,
        ).toBeGreaterThan(synced);
      }
    } finally {
      await journal.close();
    }
  });
});
