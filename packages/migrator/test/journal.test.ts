import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { Journal } from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('migrator-journal-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('journal', () => {
  it('keeps big integers exact, skips a torn last line and fences it off on the next append', async () => {
    const journal = new Journal(join(dir, 'journal.ndjson'), join(dir, 'journal.lock'));
    const record = { ...sampleRecord(56, 'Big', 'bscmainnet'), deploymentArgs: [18446744073709551617n] };
    await journal.appendOne({ type: 'intent', key: '56-Big', op: 'put', digest: 'd', record, time: 't', pid: 1, phase: 'dual-write' });
    await appendFile(join(dir, 'journal.ndjson'), '{"seq":2,"type":"outc');
    const torn = await journal.read();
    expect(torn.torn).toBe(1);
    expect(torn.lastSeq).toBe(1);
    const next = await journal.appendOne({ type: 'event', event: 'x', time: 't', pid: 1, phase: 'dual-write' });
    expect(next.seq).toBe(2);
    const read = await journal.read();
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2]);
    const first = read.entries[0];
    expect(first?.type === 'intent' && first.record?.deploymentArgs?.[0]).toBe(18446744073709551617n);
  });

  it('assigns unique consecutive sequence numbers to concurrent appenders', async () => {
    const journals = [0, 1, 2].map(() => new Journal(join(dir, 'journal.ndjson'), join(dir, 'journal.lock')));
    await Promise.all(journals.flatMap((j, i) => Array.from({ length: 10 }, (_, n) => j.appendOne({ type: 'event', event: `${i}-${n}`, time: 't', pid: i, phase: 'dual-write' }))));
    const read = await journals[0]!.read();
    expect(read.entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
