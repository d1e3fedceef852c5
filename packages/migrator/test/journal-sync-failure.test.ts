// A JSON-primary write whose journal intent cannot be made durable never replaces the JSON file:
// the store awaits the intent's sync right before its rename, so a failed sync (here an injected
// EIO, reported late so the JSON side is ready to rename first) abandons the write.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Journal } from '../src/index.js';
import { emptyProjectIn, useTempDir } from './helpers.js';

// `once`: only the next sync of the file fails, at once, as Linux reports a writeback error: to the
// first fdatasync after it, which a later one then does not report again (nor write what it lost).
// `onSync`: called at each sync of the file, once it is decided whether that one fails.
// `slowMs`: a sync of the file that succeeds reports it that much later.
const failing = vi.hoisted(() => ({
  suffix: undefined as string | undefined,
  once: false,
  onSync: undefined as ((path: string) => void) | undefined,
  slow: undefined as { suffix: string; ms: number } | undefined,
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const pathOf = new Map<number, string>();
  const shim = {
    ...fs,
    openSync: (path: import('node:fs').PathLike, ...rest: unknown[]): number => {
      const fd = (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
      pathOf.set(fd, String(path));
      return fd;
    },
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
      const suffix = failing.suffix;
      const path = pathOf.get(fd) ?? '';
      const fails = suffix !== undefined && path.endsWith(suffix);
      failing.onSync?.(path);
      if (fails) {
        const error = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
        if (failing.once) {
          failing.suffix = undefined;
          setImmediate(() => callback(error));
        } else setTimeout(() => callback(error), 50);
        return;
      }
      const slow = failing.slow;
      if (slow !== undefined && path.endsWith(slow.suffix)) {
        fs.fdatasync(fd, (error) => setTimeout(() => callback(error), slow.ms));
        return;
      }
      fs.fdatasync(fd, callback);
    },
  };
  return { ...shim, default: shim };
});

const tempDir = useTempDir('migrator-journal-sync-');

/** An empty project in json-only, and a deploy script's store on it. */
async function jsonOnlyStore(): Promise<Awaited<ReturnType<typeof emptyProjectIn>> & { store: ReturnType<typeof createStateStore> }> {
  const dir = tempDir();
  const project = await emptyProjectIn(dir, 'json-only');
  return { ...project, store: createStateStore({ cwd: dir, env: {} }) };
}

/**
 * A put of Token (its timestamp 1, then 2 while `arm` makes the journal's sync fail): refused
 * naming the journal, its network file as it was; the next put, the failure disarmed, lands.
 */
async function refusedThenWritten(
  store: ReturnType<typeof createStateStore>,
  target: string,
  journal: string,
  failure: { arm(): void; disarm(): void },
): Promise<void> {
  await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 1 });
  const before = await readFile(target);
  failure.arm();
  const refused = await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 2 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  failure.disarm();
  expect(refused).toMatchObject({ file: journal });
  expect(await readFile(target)).toEqual(before);
  await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 3 });
  expect((await store.get(56, 'Token'))?.timestamp).toBe(3);
}

describe('a journal intent that cannot be synced', () => {
  it('abandons the json-only write: the JSON file stays as it was, the put fails, and the next one lands', async () => {
    const { paths, files, store } = await jsonOnlyStore();
    const target = join(paths.deployments, 'bscmainnet.json');
    try {
      await refusedThenWritten(store, target, files.journal, {
        arm: () => (failing.suffix = 'journal.ndjson'),
        disarm: () => (failing.suffix = undefined),
      });
      // The failed write's intent is followed by its primary-failed outcome.
      const entries = (await new Journal(files.journal).read()).entries;
      const outcomes = entries.filter((e) => e.type === 'outcome').map((e) => e.type === 'outcome' && e.outcome);
      expect(outcomes).toEqual(['ok', 'primary-failed', 'ok']);
    } finally {
      await store.close();
    }
  });

  // A json-only putMany writes each network file once, after every record's intent: a sync of the
  // intents that fails must abandon each file's write, as it abandons a single put's.
  it('abandons a json-only putMany: every network file stays as it was, each record gets primary-failed, and the next one lands', async () => {
    const { paths, files, store } = await jsonOnlyStore();
    const targets = ['bscmainnet.json', 'bsctestnet.json'].map((name) => join(paths.deployments, name));
    const at = (chainId: number, name: string, network: string, timestamp: number) => ({
      ...sampleRecord(chainId, name, network),
      timestamp,
    });
    try {
      await store.putMany([at(56, 'Token', 'bscmainnet', 1), at(97, 'Token', 'bsctestnet', 1)]);
      const before = await Promise.all(targets.map((target) => readFile(target)));
      const seq = await new Journal(files.journal).lastSeq();
      failing.suffix = 'journal.ndjson';
      const refused = await store
        .putMany([at(56, 'Token', 'bscmainnet', 2), at(56, 'Other', 'bscmainnet', 2), at(97, 'Token', 'bsctestnet', 2)])
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      failing.suffix = undefined;
      expect(refused).toMatchObject({ file: files.journal });
      expect(await Promise.all(targets.map((target) => readFile(target)))).toEqual(before);
      const outcomes = (await new Journal(files.journal).read()).entries.flatMap((e) =>
        e.seq > seq && e.type === 'outcome' ? [[e.key, e.outcome]] : [],
      );
      expect(outcomes.sort()).toEqual([
        ['56-Other', 'primary-failed'],
        ['56-Token', 'primary-failed'],
        ['97-Token', 'primary-failed'],
      ]);
      await store.putMany([at(56, 'Token', 'bscmainnet', 3), at(97, 'Token', 'bsctestnet', 3)]);
      expect((await store.get(56, 'Token'))?.timestamp).toBe(3);
      expect((await store.get(97, 'Token'))?.timestamp).toBe(3);
      expect(await store.get(56, 'Other')).toBeNull();
    } finally {
      failing.suffix = undefined;
      await store.close();
    }
  });

  // The intent's sync starts beside the temp file's and fails first: a sync started again before
  // the rename succeeds without writing what the failed one lost, so it must not stand for it.
  it('abandons the json-only write when the sync its store started fails at once, even though the next sync succeeds', async () => {
    const { paths, files, store } = await jsonOnlyStore();
    const target = join(paths.deployments, 'bscmainnet.json');
    try {
      await refusedThenWritten(store, target, files.journal, {
        arm: () => {
          failing.once = true;
          failing.suffix = 'journal.ndjson';
        },
        disarm: () => {
          failing.once = false;
          // The failure was made once, and spent.
          expect(failing.suffix).toBeUndefined();
        },
      });
    } finally {
      failing.once = false;
      failing.suffix = undefined;
      await store.close();
    }
  });

  // Two scripts' puts in one process: the first's intent is synced and its file replaced; the
  // second's intent comes after that sync started, and its own sync fails. The first put must still
  // succeed (its intent is on disk, its file holds it), the second fail with its file as it was.
  it("a put whose intent is on disk and whose file is replaced is not failed by another put's failed sync", async () => {
    const { paths, files, store } = await jsonOnlyStore();
    const second = join(paths.deployments, 'bsctestnet.json');
    try {
      await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 1 });
      await store.put({ ...sampleRecord(97, 'Token', 'bsctestnet'), timestamp: 1 });
      const secondBefore = await readFile(second);
      let other: Promise<unknown> | undefined;
      failing.onSync = (path) => {
        if (!path.endsWith('journal.ndjson')) return;
        failing.onSync = undefined;
        // The first put's intent is being synced: the second's intent comes after, and its sync fails.
        failing.once = true;
        failing.suffix = 'journal.ndjson';
        other = store.put({ ...sampleRecord(97, 'Token', 'bsctestnet'), timestamp: 2 }).then(
          () => undefined,
          (error: unknown) => error,
        );
      };
      const outcome = await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 2 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const otherOutcome = await other;
      expect(other).toBeDefined();
      expect(outcome).toBeUndefined();
      expect((await store.get(56, 'Token'))?.timestamp).toBe(2);
      expect(otherOutcome).toMatchObject({ file: files.journal });
      expect(await readFile(second)).toEqual(secondBefore);
    } finally {
      failing.onSync = undefined;
      failing.once = false;
      failing.suffix = undefined;
      await store.close();
    }
  });

  // The first put's intent sync is slow, the second's (started later, covering both lines) fails:
  // the first waits for its own, which succeeds, not for the later one.
  it('flushed(lines) waits for the earliest sync that covers those lines, not a later one that fails', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    try {
      journal.appendPrinted(JSON.stringify({ type: 'mark', id: 'a' }));
      const first = journal.require();
      failing.slow = { suffix: 'journal.ndjson', ms: 100 };
      expect(journal.startFlush()).toBe(first);
      failing.slow = undefined;
      journal.appendPrinted(JSON.stringify({ type: 'mark', id: 'b' }));
      const second = journal.require();
      failing.once = true;
      failing.suffix = 'journal.ndjson';
      expect(journal.startFlush()).toBe(second);
      // Both asked for while both syncs run.
      const both = journal.flushed(second);
      const mine = journal.flushed(first);
      await expect(both).rejects.toMatchObject({ file });
      await expect(mine).resolves.toBeUndefined();
      // The failed lines stay failed until a line appended since is synced.
      await expect(journal.flushed(second)).rejects.toMatchObject({ file });
      journal.appendPrinted(JSON.stringify({ type: 'mark', id: 'c' }));
      await expect(journal.sync()).resolves.toBeUndefined();
      await expect(journal.flushed(second)).resolves.toBeUndefined();
    } finally {
      failing.slow = undefined;
      failing.once = false;
      failing.suffix = undefined;
      await journal.close();
    }
  });
});
