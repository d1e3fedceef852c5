import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { DESCRIPTOR_IDLE_MS, sampleRecord } from '@deploystate/core';
import { acquireLock, Journal, type JournalEntry } from '../src/index.js';
import { summarizeJournal } from '../src/journal-queries.js';
import { runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-journal-');

describe('journal', () => {
  it('keeps big integers exact, skips a torn last line and fences it off on the next append', async () => {
    const journal = new Journal(join(tempDir(), 'journal.ndjson'), join(tempDir(), 'journal.lock'));
    const record = { ...sampleRecord(56, 'Big', 'bscmainnet'), deploymentArgs: [18446744073709551617n] };
    await journal.appendOne({ type: 'intent', key: '56-Big', op: 'put', digest: 'd', record, time: 't', pid: 1, phase: 'dual-write' });
    await appendFile(join(tempDir(), 'journal.ndjson'), '{"seq":2,"type":"outc');
    const torn = await journal.read();
    expect(torn.torn).toBe(1);
    expect(torn.lastSeq).toBe(1);
    const next = await journal.appendOne({ type: 'event', event: 'x', time: 't', pid: 1, phase: 'dual-write' });
    expect(next.seq).toBe(2);
    await journal.close();
    const read = await journal.read();
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2]);
    const first = read.entries[0];
    expect(first?.type === 'intent' && first.record?.deploymentArgs?.[0]).toBe(18446744073709551617n);
  });

  it('assigns unique consecutive sequence numbers to concurrent appenders', async () => {
    const journals = [0, 1, 2].map(() => new Journal(join(tempDir(), 'journal.ndjson'), join(tempDir(), 'journal.lock')));
    await Promise.all(
      journals.flatMap((j, i) =>
        Array.from({ length: 10 }, (_, n) => j.appendOne({ type: 'event', event: `${i}-${n}`, time: 't', pid: i, phase: 'dual-write' })),
      ),
    );
    const read = await journals[0]!.read();
    expect(read.entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    await Promise.all(journals.map((j) => j.close()));
  });

  it('appends take no lock: a held journal.lock does not hold them up', async () => {
    const lock = await acquireLock(join(tempDir(), 'journal.lock'), { purpose: 'an old appender' });
    try {
      const journal = new Journal(join(tempDir(), 'journal.ndjson'), join(tempDir(), 'journal.lock'));
      const written = await journal.appendOne({ type: 'event', event: 'x', time: 't', pid: 1, phase: 'dual-write' });
      expect(written.seq).toBe(1);
      await journal.close();
    } finally {
      await lock.release();
    }
  });

  it('processes appending at once get one total order: the seq each was given is its line in the file', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const children = ['a', 'b', 'c'].map((tag) => runNode('journal-writer.mjs', [file, '25', tag]));
    const results = await Promise.all(children.map((c) => c.done));
    const given = results.flatMap((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim()) as Array<{ id: string; seq: number; event: string }>;
    });
    const read = await new Journal(file).read();
    expect(read.entries.map((e) => e.seq)).toEqual(Array.from({ length: 75 }, (_, i) => i + 1));
    const byId = new Map(read.entries.map((e) => [e.id, e]));
    for (const g of given) expect(byId.get(g.id)).toMatchObject({ seq: g.seq, event: g.event });
    // Each writer's own entries keep their order.
    for (const tag of ['a', 'b', 'c']) {
      const mine = read.entries.filter(
        (e): e is Extract<JournalEntry, { type: 'event' }> => e.type === 'event' && e.event.startsWith(`${tag}-`),
      );
      expect(mine.map((e) => e.event)).toEqual(Array.from({ length: 25 }, (_, i) => `${tag}-${i}`));
    }
  });

  it('an entry glued to a fragment that another process left torn is still read', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    await journal.appendOne({ type: 'event', event: 'before', time: 't', pid: 1, phase: 'dual-write' });
    // Another writer dies mid-line after this one already opened (and fenced) the file.
    await appendFile(file, '{"type":"intent","key":"56-X","record":{"deploymentArgs":[{"type":"addr');
    const after = await journal.appendOne({ type: 'event', event: 'after', time: 't', pid: 1, phase: 'dual-write' });
    expect(after.seq).toBe(2);
    const read = await new Journal(file).read();
    expect(read.entries.map((e) => (e.type === 'event' ? e.event : e.type))).toEqual(['before', 'after']);
    expect(read.torn).toBe(1);
    await journal.close();
  });

  it('outcomes name their intents: ref is the intent seq, for new journals and for ones written with seq fields', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    await writeFile(
      file,
      [
        '{"seq":1,"type":"event","event":"dual-write-enabled","time":"t","pid":1,"phase":"dual-write"}',
        '{"seq":2,"type":"intent","key":"56-A","op":"delete","digest":null,"time":"t","pid":1,"phase":"dual-write"}',
        '{"seq":3,"type":"outcome","ref":2,"key":"56-A","op":"delete","outcome":"ok","durationMs":1,"time":"t","pid":1,"phase":"dual-write"}',
        '',
      ].join('\n'),
    );
    const journal = new Journal(file);
    const [intentId] = await journal.record([
      { type: 'intent', key: '56-B', op: 'delete', digest: null, time: 't', pid: 2, phase: 'json-primary' },
    ]);
    await journal.record([{ type: 'event', event: 'noise', time: 't', pid: 3, phase: 'json-primary' }], { durable: false });
    await journal.record(
      [
        {
          type: 'outcome',
          refId: intentId as string,
          key: '56-B',
          op: 'delete',
          outcome: 'ok',
          durationMs: 1,
          time: 't',
          pid: 2,
          phase: 'json-primary',
        },
      ],
      { durable: false },
    );
    const read = await journal.read();
    expect(read.entries.map((e) => [e.seq, e.type, e.type === 'outcome' ? e.ref : null])).toEqual([
      [1, 'event', null],
      [2, 'intent', null],
      [3, 'outcome', 2],
      [4, 'intent', null],
      [5, 'event', null],
      [6, 'outcome', 4],
    ]);
    expect((await journal.read({ sinceSeq: 3 })).entries.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(await journal.lastSeq()).toBe(6);
    await journal.close();
  });

  it('streams: a long journal is read from the checkpoint before sinceSeq, refs resolved, open writes found', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    const base = { time: 't', pid: 1, phase: 'json-primary' as const };
    for (let i = 0; i < 700; i++) {
      const [id] = await journal.record([{ type: 'intent', key: `56-C${i % 50}`, op: 'delete', digest: null, ...base }], {
        durable: false,
      });
      // Every write but the last closes.
      if (i < 699)
        await journal.record(
          [{ type: 'outcome', refId: id as string, key: `56-C${i % 50}`, op: 'delete', outcome: 'ok', durationMs: 1, ...base }],
          { durable: false },
        );
    }
    expect(await journal.lastSeq()).toBe(1399);
    const seen: number[] = [];
    for await (const entry of journal.entries({ sinceSeq: 1300 })) {
      seen.push(entry.seq);
      if (entry.type === 'outcome') expect(entry.ref).toBe(entry.seq - 1);
    }
    expect(seen).toEqual(Array.from({ length: 99 }, (_, i) => 1301 + i));
    const summary = await summarizeJournal(journal, 1300);
    expect(summary.open.map((e) => e.seq)).toEqual([1399]);
    expect(summary.keys).toHaveLength(50);
    expect(summary.lastSeq).toBe(1399);
    // Breaking off early is allowed: the stream is released.
    for await (const entry of journal.entries()) if (entry.seq === 3) break;
    await journal.close();
  });

  it('lets its descriptor go once unused, and the next append opens it again past a line another writer tore meanwhile', async () => {
    const file = join(tempDir(), 'journal.ndjson');
    const journal = new Journal(file);
    const held = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false;
        }
      }).length;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      await journal.appendOne({ type: 'event', event: 'first', time: 't', pid: 1, phase: 'json-only' });
      if (process.platform === 'linux') expect(held()).toBe(1);
      vi.advanceTimersByTime(DESCRIPTOR_IDLE_MS);
      if (process.platform === 'linux') expect(held()).toBe(0);
      // Another process died mid-append while this one held nothing open.
      await appendFile(file, '{"type":"event","eve');
      await journal.appendOne({ type: 'event', event: 'second', time: 't', pid: 1, phase: 'json-only' });
    } finally {
      vi.useRealTimers();
      await journal.close();
    }
    const read = await new Journal(file).read();
    expect(read.entries.map((e) => (e.type === 'event' ? e.event : e.type))).toEqual(['first', 'second']);
    expect(read.torn).toBe(1);
  });
});

