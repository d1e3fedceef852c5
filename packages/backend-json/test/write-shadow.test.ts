// What a durable put does beside its syncs, and what it may spare itself. The backups are prepared
// while the temp file's sync runs, but the version written is linked only once that sync is over
// (a backup named as written always holds whole bytes). A put under a lease that has held the
// file's lock since the store's last write of it trusts one stat and reads nothing; once the lock
// was let go, a change no stat can see is still found by the bytes.
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@deploystate/core';
import { recorder } from '@deploystate/core/testing/fs-recorder';
import { signatureOf, type LoadedFile } from '../src/file-cache.js';
import { STATE_DIR, type JsonFileStore } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

vi.mock('node:fs', async (importOriginal) => {
  const { recordingFs, recorder: timeline } = await import('@deploystate/core/testing/fs-recorder');
  const fs = recordingFs(await importOriginal());
  const shim = {
    ...fs,
    linkSync: (from: string, to: string): void => {
      fs.linkSync(from, to);
      timeline.mark(`link ${from}`);
    },
    openSync: (path: string, ...rest: unknown[]): number => {
      timeline.mark(`open ${path}`);
      return (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
    },
  };
  return { ...shim, default: shim };
});

const setup = storePerTest();

/** The cache entry the store holds for a chain (a test's look inside). */
function cachedEntry(store: JsonFileStore, chainId: number): LoadedFile {
  const entry = (store as unknown as { cache: { entries: Map<number, LoadedFile> } }).cache.entries.get(chainId);
  if (!entry) throw new Error(`chain ${chainId} is not cached`);
  return entry;
}

/** The same length, one hex digit of the first record's address changed. */
function sameSizeEdit(text: string): string {
  const at = text.indexOf('"address": "0x') + '"address": "0x'.length;
  return text.slice(0, at) + (text[at] === 'f' ? 'e' : 'f') + text.slice(at + 1);
}

describe('a durable put beside its syncs', () => {
  it('links the version written among the backups after its temp file is synced, before the rename', async () => {
    const { store } = await setup();
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    for (const timestamp of [2, 3]) {
      recorder.events.length = 0;
      await store.put(rec(56, 'Token', { timestamp }));
      const rename = recorder.events.findIndex((e) => e.kind === 'rename' && e.to === target);
      expect(rename).toBeGreaterThan(0);
      const temp = (recorder.events[rename] as { from: string }).from;
      const synced = recorder.events.findIndex((e) => e.kind === 'sync' && e.path === temp);
      const linked = recorder.events.findIndex((e) => e.kind === 'mark' && e.label === `link ${temp}`);
      expect(synced).toBeGreaterThanOrEqual(0);
      expect(linked).toBeGreaterThan(synced);
      expect(linked).toBeLessThan(rename);
    }
    const backups = await store.listBackups(56);
    expect(JSON.parse(await readFile(backups[0] as string, 'utf8')).records.Token.timestamp).toBe(3);
  });

  it('a put reads a racy file again, whether its lease was held since its last write or let go', async () => {
    for (const [lockLeaseMs, reads] of [
      [60_000, 1],
      [0, 1],
    ] as const) {
      const { store } = await setup({ lockLeaseMs });
      const target = store.fileFor(56);
      await store.put(rec(56, 'Token', { timestamp: 1 }));
      // Racy whatever the machine's pace: as if read in the same millisecond the file was written.
      const entry = cachedEntry(store, 56);
      entry.readAt = Number((entry.signature?.mtimeNs ?? 0n) / 1_000_000n);
      recorder.events.length = 0;
      await store.put(rec(56, 'Vault', { timestamp: 1 }));
      const opened = recorder.events.filter((e) => e.kind === 'mark' && e.label === `open ${target}`);
      expect(opened.length, `lockLeaseMs ${lockLeaseMs}`).toBe(reads);
      expect(Object.keys(JSON.parse(await readFile(target, 'utf8')).records)).toEqual(['Token', 'Vault']);
    }
  });

  // A writer that ignores the lock (a hand edit, a script) and changes a few characters in place
  // leaves the same size and, within one timestamp tick, the same stat: only the bytes show it.
  it.each([0, 60_000])('a change within a timestamp tick of the last write (the same stat) is kept by the next put (lease %i ms)', async (lockLeaseMs) => {
    const { store } = await setup({ lockLeaseMs });
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    const edited = sameSizeEdit(await readFile(target, 'utf8'));
    await writeFile(target, edited);
    // As if the edit came within the same timestamp tick: the stat the store kept is the file's now.
    const entry = cachedEntry(store, 56);
    entry.signature = signatureOf(target) ?? undefined;
    await store.put(rec(56, 'Vault', { timestamp: 1 }));
    const doc = JSON.parse(await readFile(target, 'utf8'));
    expect(doc.records.Token.address).toBe(JSON.parse(edited).records.Token.address);
    expect(doc.records.Token.address).not.toBe(rec(56, 'Token').address);
  });

  it.each([
    ['linking the version written, after the sync', false],
    ['linking the file replaced, beside the sync', true],
  ])('a backup that cannot be made (%s) fails the put: the file stays as it was, no temp file is left', async (_step, replacedByOther) => {
    const { store, dir } = await setup();
    const target = store.fileFor(56);
    await store.put(rec(56, 'Token', { timestamp: 1 }));
    await store.put(rec(56, 'Token', { timestamp: 2 }));
    if (replacedByOther) {
      // Another writer's version (a new inode): the next put keeps it among the backups first.
      const text = (await readFile(target, 'utf8')).replace('"timestamp": 2', '"timestamp": 3');
      await writeFile(`${target}.other`, text);
      await rename(`${target}.other`, target);
    }
    const before = await readFile(target, 'utf8');
    const folder = store.backupDirFor(56);
    await rm(folder, { recursive: true });
    await writeFile(folder, 'not a folder');
    await expect(store.put(rec(56, 'Token', { timestamp: 4 }))).rejects.toMatchObject({ code: ErrorCodes.WRITE_FAILED, file: target });
    expect(await readFile(target, 'utf8')).toBe(before);
    expect(await readdir(join(dir, STATE_DIR, 'tmp'))).toEqual([]);
    // The folder back: writes go on, and the version written is kept.
    await rm(folder);
    await store.put(rec(56, 'Token', { timestamp: 5 }));
    expect((await store.get(56, 'Token'))?.timestamp).toBe(5);
    const backups = await store.listBackups(56);
    expect(JSON.parse(await readFile(backups[0] as string, 'utf8')).records.Token.timestamp).toBe(5);
  });
});
