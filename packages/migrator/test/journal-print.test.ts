// The factory prints its intent and ok-outcome lines by hand: each must be the very line the journal
// prints for the same entry object, for every shape of record (exact numbers included), and read back
// as that entry.
import { describe, expect, it } from 'vitest';
import { JsonNumber, parseLossless, productionSample, sampleRecord, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { printIntent, printOk } from '../src/journal-print.js';
import { Journal } from '../src/journal.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-journal-print-');

/** What Journal.write prints for an entry: `type` first, `id` last. */
const journalLine = (entry: Record<string, unknown>): string => {
  const { type, id, ...rest } = entry;
  return stringifyLossless({ type, ...rest, id });
};

const sample = productionSample();
const odd: DeploymentRecord[] = [
  {
    ...sampleRecord(1, 'BigArgs', 'ethereum', 1),
    deploymentArgs: [2n ** 80n, '0x1', -0, 1e21, 2 ** 60, 0.5, null, [true, 'é😀\u0000"\\']],
  },
  {
    ...sampleRecord(10, 'Exact', 'optimism', 2),
    timestamp: new JsonNumber('1.7e12'),
    deploymentArgs: [new JsonNumber('1.0'), new JsonNumber('-0')],
  },
  {
    ...sampleRecord(56, 'contracts/x/Router.sol:Router', 'bsc', 3),
    extra: { nested: [1n, { a: 'b' }] },
    ['__proto__']: 'x',
    '1': 'index key',
  } as DeploymentRecord,
  { ...sampleRecord(97, 'Huge', 'bsctestnet', 4), timestamp: 2n ** 70n, proxyAddress: null, implementationHash: undefined },
];
const records = [...sample.records, ...sample.devJunk, ...odd];

describe('hand-printed journal lines', () => {
  it('an intent line is the line the journal prints for the entry, for every record shape and for a delete', () => {
    expect(odd.length).toBeGreaterThan(0);
    for (const [i, record] of [...records, undefined].entries()) {
      const fields = {
        key: record === undefined ? '97-Gone "quoted" 😀' : `${record.chainId}-${record.contractName}`,
        op: record === undefined ? ('delete' as const) : ('put' as const),
        digest: record === undefined ? null : `d${i}`,
        time: new Date(1_700_000_000_000 + i).toISOString(),
        pid: 4242,
        phase: 'json-only' as const,
        id: `w.${i}`,
      };
      // In the order the write protocol built the entry before it printed the line itself.
      const { key, op, digest, time, pid, phase, id } = fields;
      const entry = { type: 'intent', key, op, digest, ...(record !== undefined && { record }), time, pid, phase, id };
      expect(printIntent(fields, record)).toBe(journalLine(entry));
    }
  });

  it('an ok outcome line is the line the journal prints for the entry', () => {
    for (const durationMs of [0, 1, 0.001, 12.345, 1234567.891]) {
      const fields = {
        refId: 'a.1',
        key: '56-A\u2028"b"',
        op: 'put' as const,
        durationMs,
        time: new Date(0).toISOString(),
        pid: 1,
        phase: 'json-primary' as const,
        id: 'a.2',
      };
      const { refId, id, ...rest } = fields;
      expect(printOk(fields)).toBe(
        journalLine({
          type: 'outcome',
          refId,
          key: rest.key,
          op: rest.op,
          outcome: 'ok',
          durationMs,
          time: rest.time,
          pid: rest.pid,
          phase: rest.phase,
          id,
        }),
      );
    }
  });

  it('lines appended as printed read back as the entries, each record exactly as written', async () => {
    const journal = new Journal(`${tempDir()}/journal.ndjson`);
    const ids: string[] = [];
    for (const record of odd) {
      const id = journal.nextId();
      ids.push(id);
      const key = `${record.chainId}-${record.contractName}`;
      await journal.appendPrinted(printIntent({ key, op: 'put', digest: 'x', time: 't', pid: 7, phase: 'json-only', id }, record));
      await journal.appendPrinted(
        printOk({ refId: id, key, op: 'put', durationMs: 0.5, time: 't', pid: 7, phase: 'json-only', id: journal.nextId() }),
      );
    }
    await journal.sync();
    const { entries, torn } = await journal.read();
    await journal.close();
    expect(torn).toBe(0);
    expect(entries.map((e) => e.type)).toEqual(odd.flatMap(() => ['intent', 'outcome']));
    for (const [k, record] of odd.entries()) {
      const intent = entries[2 * k];
      const outcome = entries[2 * k + 1];
      expect(intent?.type === 'intent' && stringifyLossless(intent.record)).toBe(
        stringifyLossless(parseLossless(stringifyLossless(record))),
      );
      expect(outcome?.type === 'outcome' && [outcome.ref, outcome.refId, outcome.outcome]).toEqual([intent?.seq, ids[k], 'ok']);
    }
  });
  it('a line too large for one synchronous write is appended from the thread pool, whole, and read back', async () => {
    const journal = new Journal(`${tempDir()}/journal.ndjson`);
    const record = { ...sampleRecord(1, 'Large', 'ethereum', 1), deploymentArgs: ['x'.repeat(300 * 1024), 2n ** 70n] };
    const id = journal.nextId();
    const appending = journal.appendPrinted(
      printIntent({ key: '1-Large', op: 'put', digest: 'x', time: 't', pid: 7, phase: 'json-only', id }, record),
    );
    expect(appending).toBeInstanceOf(Promise);
    await appending;
    expect(
      journal.appendPrinted(
        printOk({ refId: id, key: '1-Large', op: 'put', durationMs: 1, time: 't', pid: 7, phase: 'json-only', id: journal.nextId() }),
      ),
    ).toBeUndefined();
    const { entries, torn } = await journal.read();
    await journal.close();
    expect(torn).toBe(0);
    expect(entries.map((e) => e.type)).toEqual(['intent', 'outcome']);
    const intent = entries[0];
    expect(intent?.type === 'intent' && stringifyLossless(intent.record)).toBe(stringifyLossless(record));
  });
});
