// The per-process memo of verified files: repeated opens do not re-read unchanged files, a log
// that grew is checked from its last whole record on, and any change to a verified file is
// checked again (so the memo never hides damage).
import { appendFile, readdir, readFile, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateRecords } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { LevelDbStore, checkDataFiles, crc32c, inspectFolder, maskCrc } from '../src/index.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await makeTempDir('deploystate-leveldb-memo-');
  path = join(dir, 'leveldb');
  // Tables (from a reopen) and a log with one batch in it.
  for (const [i, create] of [
    [0, true],
    [1, false],
  ] as const) {
    const store = new LevelDbStore({ path, create, idleCloseMs: 0 });
    await store.open();
    await store.putMany(generateRecords(40).map((r) => ({ ...r, contractName: `${r.contractName}x${i}` })));
    await store.close();
  }
});
afterEach(() => removeTempDir(dir));

/** Moves every file's mtime a minute back, out of the window in which a change could hide. */
async function age(): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  for (const name of await readdir(path)) await utimes(join(path, name), past, past);
}

async function check(reuse = true) {
  const state = await inspectFolder(path);
  if (state.kind !== 'store') throw new Error(state.kind);
  return checkDataFiles(path, state.entries, { reuse });
}

async function logFile(): Promise<string> {
  return join(path, (await readdir(path)).find((n) => n.endsWith('.log')) as string);
}

/** One whole FULL log record holding `payload`, padded to the next block when the header would not fit. */
function logRecord(at: number, payload: Buffer): Buffer {
  const left = 32 * 1024 - (at % (32 * 1024));
  const pad = left < 7 ? Buffer.alloc(left) : Buffer.alloc(0);
  const header = Buffer.alloc(7);
  header.writeUInt16LE(payload.length, 4);
  header[6] = 1;
  header.writeUInt32LE(maskCrc(crc32c(Buffer.concat([header.subarray(6), payload]))), 0);
  return Buffer.concat([pad, header, payload]);
}

describe('files verified earlier in this process', () => {
  it('are not read again while unchanged', async () => {
    await age();
    const first = await check();
    expect(first.stats.filesChecked).toBeGreaterThanOrEqual(3); // MANIFEST, log, tables
    expect(first.stats.bytesRead).toBeGreaterThan(0);
    const second = await check();
    expect(second.stats).toEqual({ filesChecked: 0, filesReused: first.stats.filesChecked, bytesRead: 0 });
    // Asked not to reuse, it reads everything again.
    expect((await check(false)).stats.filesChecked).toBe(first.stats.filesChecked);
  });

  it('a file modified within the clock resolution of its check is checked again (its mtime could hide a change)', async () => {
    await age();
    const log = await logFile();
    const soon = new Date(Date.now() + 10_000);
    await utimes(log, soon, soon);
    await check();
    const again = await check();
    expect(again.stats.filesChecked).toBe(1);
    expect(again.stats.bytesRead).toBe((await stat(log)).size);
  });

  it('a log that grew is read from its last whole record on, and a bad appended record is CORRUPTED', async () => {
    await age();
    await check();
    const log = await logFile();
    const good = logRecord((await stat(log)).size, Buffer.from('a record appended after the check'));
    await appendFile(log, good);
    const grown = await check();
    expect(grown.stats.bytesRead).toBe(good.length);
    expect(grown.tornTails).toEqual([]);

    const bad = logRecord((await stat(log)).size, Buffer.from('this one fails its checksum'));
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01;
    await appendFile(log, bad);
    await expect(check()).rejects.toMatchObject({ code: 'CORRUPTED', file: path });
  });

  it('a verified log changed in place (same size) is checked again and found damaged', async () => {
    await age();
    await check();
    const log = await logFile();
    const bytes = await readFile(log);
    bytes[20] = (bytes[20] as number) ^ 0xff;
    await writeFile(log, bytes);
    await expect(check()).rejects.toMatchObject({ code: 'CORRUPTED' });
  });

  it('a verified table truncated later makes the next open CORRUPTED', async () => {
    await age();
    const store = new LevelDbStore({ path, idleCloseMs: 0, lockWait: { attempts: 2, minDelayMs: 1, maxDelayMs: 2 } });
    await store.open();
    await store.close();
    const table = (await readdir(path)).find((n) => n.endsWith('.ldb')) as string;
    await truncate(join(path, table), 100);
    await expect(new LevelDbStore({ path, lockWait: { attempts: 2, minDelayMs: 1, maxDelayMs: 2 } }).open()).rejects.toMatchObject({
      code: 'CORRUPTED',
    });
  });

  it('a torn tail is still reported when its log is reused from the memo', async () => {
    const log = await logFile();
    await truncate(log, (await stat(log)).size - 3);
    await age();
    expect((await check()).tornTails).toHaveLength(1);
    const again = await check();
    expect(again.stats.bytesRead).toBe(0);
    expect(again.tornTails).toEqual([expect.objectContaining({ file: log })]);
  });
});
