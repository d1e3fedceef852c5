// A chain's new file written record by record must be, byte for byte, the file a whole-file render
// of the same records gives (big integers, exact literals, names outside the Basic Multilingual
// Plane, more than one chunk), and must never replace a file that is there.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compareKeys, generateRecords, parseLossless, type DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { AtomicFileWriter } from '../src/atomic.js';
import { emptyStateFile, JsonFileStore, NewChainFile, renderStateFile, restoreStateFile } from '../src/index.js';
import { rec, refusingEntries } from './helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await removeTempDir(dir);
});
async function tempDir(): Promise<string> {
  const dir = await makeTempDir('deploystate-chain-stream-');
  dirs.push(dir);
  return dir;
}

/** The bytes renderStateFile gives for a new file of `records`. */
function wholeRender(records: readonly DeploymentRecord[]): string {
  const model = emptyStateFile(56, 'bscmainnet');
  for (const record of records) model.records.set(record.contractName, record);
  return renderStateFile(model, { network: 'bscmainnet' }).text;
}

async function streamed(dir: string, records: readonly DeploymentRecord[]): Promise<string> {
  const target = join(dir, 'bscmainnet.json');
  const file = await NewChainFile.create(target, 56, 'bscmainnet');
  for (const record of records) await file.add(record);
  expect(await file.commit()).toBe(true);
  return readFile(target, 'utf8');
}

const byName = (records: DeploymentRecord[]): DeploymentRecord[] => records.sort((a, b) => compareKeys(a.contractName, b.contractName));

function oddRecords(): DeploymentRecord[] {
  // Exact literals (1.50, 1e400, -0) as parsed from a file, a bigint, and names whose UTF-16 and UTF-8 orders differ.
  const exact = parseLossless('[1.50, 1e400, -0, 18446744073709551617]') as unknown[];
  return byName([
    rec(56, 'Plain'),
    rec(56, 'Exact', { deploymentArgs: exact }),
    rec(56, 'Big', { deploymentArgs: [2n ** 70n, -(2n ** 64n)], timestamp: 1700000000000 }),
    rec(56, '\u{1F600}Emoji'),
    rec(56, '\uFF5EWide'),
    rec(56, 'Quote"And\\Slash'),
  ]);
}

/**
 * Records printed many at a time (one print of them all, taken apart by record) with names an object
 * would list out of order (array indices), a `__proto__` name, fields out of the file's order, extra
 * fields, missing optional fields, a class instance with a toJSON, and a record with a toJSON of its own:
 * spread over the batches.
 */
function batchEdgeRecords(): DeploymentRecord[] {
  class Held {
    constructor(record: DeploymentRecord) {
      Object.assign(this, record);
    }

    // Printed as its fields, as the whole-file render prints any record, never through this.
    toJSON(): string {
      return 'not the record';
    }
  }
  const shuffled = (r: DeploymentRecord): DeploymentRecord => Object.fromEntries(Object.entries(r).reverse()) as DeploymentRecord;
  const records = generateRecords(300, [56]).map((r, i) => {
    if (i % 7 === 0) return shuffled(r);
    if (i % 11 === 0) return { ...r, zExtra: { nested: [1, 'two'] }, aExtra: 1 };
    if (i % 13 === 0) {
      const { proxyAddress: _p, implementationHash: _h, ...rest } = r;
      return rest as DeploymentRecord;
    }
    // One, late: a batch that holds it is printed record by record under a mistake in the batch print.
    if (i === 250) return new Held(r) as unknown as DeploymentRecord;
    return r;
  });
  for (const name of ['0', '7', '123', '4294967296', '__proto__']) records.push(rec(56, name));
  // A record of its own toJSON prints as what that returns, which the batch's print cannot take apart: printed alone.
  records.push({ ...rec(56, 'OwnToJson'), toJSON: () => 'printed by its own toJSON' } as DeploymentRecord);
  return byName(records);
}

describe('NewChainFile', () => {
  it.each([
    ['array-index names, __proto__, fields in any order, extra fields, over several print batches', batchEdgeRecords],
    ['no records', () => []],
    ['one record', () => [rec(56, 'Only')]],
    ['exact literals, big integers and names outside the BMP', oddRecords],
    // About 0.7 MB printed: several of the 64 KiB pieces it writes.
    ['records filling several chunks', () => byName(generateRecords(1000, [56]))],
  ])('writes the bytes of a whole-file render: %s', async (_what, make) => {
    const records = make();
    expect(await streamed(await tempDir(), records)).toBe(wholeRender(records));
  });

  it('writes the same bytes given its records a run at a time (addAll) as one by one', async () => {
    for (const records of [batchEdgeRecords(), byName(generateRecords(1000, [56]))]) {
      const target = join(await tempDir(), 'bscmainnet.json');
      const file = await NewChainFile.create(target, 56, 'bscmainnet');
      // Runs of uneven lengths, as a scan's batches hand them over.
      for (let at = 0, run = 1; at < records.length; at += run, run = (run * 7) % 173) await file.addAll(records.slice(at, at + run));
      expect(file.size).toBe(records.length);
      expect(await file.commit()).toBe(true);
      expect(await readFile(target, 'utf8')).toBe(wholeRender(records));
    }
  });

  it('links the version written among the backups, as a write through the store does', async () => {
    const dir = await tempDir();
    const text = await streamed(dir, [rec(56, 'Token')]);
    const folder = join(dir, '.deploystate', 'backups', 'bscmainnet.json');
    const names = await readdir(folder);
    expect(names).toHaveLength(1);
    expect(names[0]).toContain('-written-');
    expect(await readFile(join(folder, names[0] as string), 'utf8')).toBe(text);
    const store = new JsonFileStore({ dir });
    await store.open();
    try {
      expect(await store.listBackups(56)).toEqual([join(folder, names[0] as string)]);
    } finally {
      await store.close();
    }
  });

  it('leaves a file that is there as it is, and its temp file does not stay', async () => {
    const dir = await tempDir();
    const target = join(dir, 'bscmainnet.json');
    await writeFile(target, '{"mine": true}\n');
    const file = await NewChainFile.create(target, 56, 'bscmainnet');
    await file.add(rec(56, 'Token'));
    expect(await file.commit()).toBe(false);
    expect(await readFile(target, 'utf8')).toBe('{"mine": true}\n');
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
  });

  it('a piece whose write fails (the disk full) fails the file, leaving no file and no temp file', async () => {
    const dir = await tempDir();
    const target = join(dir, 'bscmainnet.json');
    const file = await NewChainFile.create(target, 56, 'bscmainnet');
    const append = vi.spyOn(AtomicFileWriter.prototype, 'append').mockRejectedValue(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
    try {
      // The failed piece is written while the next is printed: the failure comes with a later add, or the commit.
      const writing = (async () => {
        for (const record of byName(generateRecords(1000, [56]))) await file.add(record);
        return file.commit();
      })();
      await expect(writing).rejects.toMatchObject({ code: 'DISK_FULL', file: target });
      expect(append).toHaveBeenCalled();
    } finally {
      append.mockRestore();
    }
    await file.abort();
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toEqual([]);
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
  });

  it('a file whose rename fails leaves no backup named as written, so nothing can restore it', async () => {
    const dir = await tempDir();
    const target = join(dir, 'bscmainnet.json');
    const file = await NewChainFile.create(target, 56, 'bscmainnet');
    await file.add(rec(56, 'Token'));
    await expect(refusingEntries(dir, () => file.commit())).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toEqual([]);
    const kept = await readdir(join(dir, '.deploystate', 'backups', 'bscmainnet.json')).catch(() => []);
    expect(kept.filter((name) => name.includes('-written-'))).toEqual([]);
    await expect(restoreStateFile(dir, 56)).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
  });

  it('refuses records out of name order or of another chain', async () => {
    const file = await NewChainFile.create(join(await tempDir(), 'bscmainnet.json'), 56, 'bscmainnet');
    await file.add(rec(56, 'B'));
    await expect(file.add(rec(56, 'A'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(file.add(rec(56, 'B'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(file.add(rec(97, 'C'))).rejects.toMatchObject({ code: 'CHAIN_MISMATCH' });
    await file.abort();
  });

  it('a writer killed before its commit leaves no file, and the store reads the folder as empty', async () => {
    const dir = await tempDir();
    const script = fileURLToPath(new URL('./fixtures/stream-writer.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    // The child reports once half its records are in the temp file, then waits: it is killed there.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('half')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toEqual([]);
    const store = new JsonFileStore({ dir });
    await store.open();
    try {
      expect(await store.list(56)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
