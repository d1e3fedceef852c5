// What the copy spills of each file it wrote is written.json's own entries, printed: the baseline
// takes them as they are, in pieces cut anywhere, and reads back exactly what was spilled.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WrittenEntry } from '../src/coowned-baseline.js';
import { canonicalDigest, parseLossless, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { BaselineWriter, openBaseline, printedEntry, printedPut, printedRecordPut } from '../src/written-file.js';
import { RecordSpill, SpillFolder } from '../src/written-records.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-written-spill-');

// Names JSON must escape, and characters outside the Basic Multilingual Plane.
const NAMES = ['Plain', 'contracts/x.sol:Quote"d', 'Back\\slash', 'Tab\there', 'Émoji 🚀', 'Z'];

async function spilled(folder: SpillFolder, chainId: number): Promise<{ text: string; entries: Array<[string, WrittenEntry]> }> {
  const spill = await folder.spill(chainId);
  const entries: Array<[string, WrittenEntry]> = [];
  for (const [i, name] of NAMES.entries()) {
    const entry: WrittenEntry = { seq: 0, op: 'put', digest: `d${chainId}x${i}`, timestamp: String(1_700_000_000_000 + i) };
    await spill.add(name, entry.digest as string, entry.timestamp);
    entries.push([`${chainId}-${name}`, entry]);
  }
  await spill.close();
  const read: Array<[string, WrittenEntry]> = [];
  for await (const pair of spill.records()) read.push(pair);
  expect(read).toEqual(entries);
  let text = '';
  for await (const piece of spill.printed()) text += piece;
  return { text, entries };
}

/** Every entry of the baseline at `file`, read line by line as a later command reads it. */
async function entriesOf(file: string): Promise<Array<[string, WrittenEntry]>> {
  const reader = await openBaseline(file);
  const out: Array<[string, WrittenEntry]> = [];
  for await (const pair of reader?.entries() ?? []) out.push(pair);
  return out;
}

describe('a spill of the records a copy wrote', () => {
  it('prints a put of its own exactly as written.json prints the entry object, odd keys and values included', () => {
    for (const key of [...NAMES.map((name) => `56-${name}`), '56-\u2028line', '56-\ud800lone', '56-\u001fend', '56-\u007fdel', '56-\udfffrev']) {
      for (const [digest, timestamp] of [
        ['ab'.repeat(32), '1700000000000'],
        ['q"uote\\', '18446744073709551617'],
      ] as const) {
        expect(printedPut(key, digest, timestamp)).toBe(printedEntry(key, { seq: 0, op: 'put', digest, timestamp }));
      }
    }
  });

  it('prints a put of a record of its own, with its digest and timestamp, exactly as written.json prints it', () => {
    const exact = parseLossless('{"timestamp": 1.7e12, "big": 18446744073709551617}') as { timestamp: DeploymentRecord['timestamp']; big: bigint };
    const records: DeploymentRecord[] = [
      ...NAMES.map((name, i) => sampleRecord(56, name, 'bscmainnet', i)),
      { ...sampleRecord(56, 'Exact', 'bscmainnet', 1), timestamp: exact.timestamp },
      { ...sampleRecord(56, 'Big', 'bscmainnet', 2), timestamp: exact.big as unknown as number },
      sampleRecord(56, '\ud800lone', 'bscmainnet', 3),
    ];
    for (const record of records) {
      const key = `56-${record.contractName}`;
      const digest = canonicalDigest(record);
      const timestamp = String(record.timestamp);
      expect(printedRecordPut(key, digest, timestamp)).toBe(printedEntry(key, { seq: 0, op: 'put', digest, timestamp }));
    }
  });

  it('keeps the spills of files begun at once in one folder, removed whole', async () => {
    const parent = join(tempDir(), 'tmp');
    const folder = new SpillFolder(parent);
    // A chain's end and the next chain's first records may begin their spills together.
    const spills = await Promise.all([folder.spill(56), folder.spill(97), folder.spill(84532)]);
    expect(new Set(spills.map((spill) => dirname(spill.path))).size).toBe(1);
    expect(new Set(spills.map((spill) => spill.path)).size).toBe(3);
    expect((await readdir(parent)).filter((name) => name.startsWith('records-'))).toHaveLength(1);
    await folder.remove();
    expect(await readdir(parent)).toEqual([]);
  });

  it('reads back each entry by key, and prints the entries as written.json prints them', async () => {
    const dir = tempDir();
    const folder = new SpillFolder(join(dir, 'tmp'));
    const { text, entries } = await spilled(folder, 56);
    const writer = await BaselineWriter.create(join(dir, 'printed.json'), join(dir, 'tmp'), 3);
    for (const [key, entry] of entries) await writer.add(key, entry);
    await writer.commit();
    const whole = await readFile(join(dir, 'printed.json'), 'utf8');
    // The spill's text is the baseline's body, with the comma before the first entry.
    expect(whole).toContain(text.slice(1));
    await folder.remove();
  });

  it('is taken by the baseline in pieces cut anywhere, first or after other entries, and read back line by line', async () => {
    const dir = tempDir();
    const folder = new SpillFolder(join(dir, 'tmp'));
    const first = await spilled(folder, 56);
    const second = await spilled(folder, 97);
    const older: [string, WrittenEntry] = ['1-Older', { seq: 9, op: 'delete', digest: null, timestamp: '5' }];
    for (const step of [1, 2, 7, 50]) {
      const pieces = (text: string): string[] =>
        Array.from({ length: Math.ceil(text.length / step) }, (_, i) => text.slice(i * step, (i + 1) * step));
      // The spills first (the baseline's first entry comes from one), then after an entry of its own.
      for (const leading of [[], [older]] as Array<Array<[string, WrittenEntry]>>) {
        const file = join(dir, `written-${step}-${leading.length}.json`);
        const writer = await BaselineWriter.create(file, join(dir, 'tmp'), 12);
        for (const [key, entry] of leading) await writer.add(key, entry);
        for (const piece of [...pieces(first.text), ...pieces(second.text)]) await writer.addPrinted(piece);
        await writer.commit();
        const expected = [...leading, ...first.entries, ...second.entries];
        expect(await entriesOf(file)).toEqual(expected);
        const parsed = JSON.parse(await readFile(file, 'utf8')) as { scannedSeq: number; written: Record<string, WrittenEntry> };
        expect(parsed.scannedSeq).toBe(12);
        expect(Object.entries(parsed.written)).toEqual(expected);
      }
    }
    await folder.remove();
  });
});

// A full disk while the copy spilled what it wrote reached the operator as a bare
// `DISK_FULL: ENOSPC ..., write`, naming no file (a write() to a descriptor carries no path).
describe('a spill the disk refuses', () => {
  it.skipIf(process.platform !== 'linux')('fails with DISK_FULL naming the spill file', async () => {
    // /dev/full takes the open and refuses every write with ENOSPC, as a full disk does.
    const spill = new RecordSpill('/dev/full', 56);
    await spill.add('LookCoin', 'a'.repeat(64), '1');
    await expect(spill.close()).rejects.toMatchObject({ name: 'StateError', code: 'DISK_FULL', file: '/dev/full' });
  });
});
