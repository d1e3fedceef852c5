// The dual-write put's batch goes straight to classic-level's own batch only where level's public
// batch() would merely pass it on: a prewrite hook or a 'write' listener someone added still sees
// every write, and either way both writes land together.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { writeStrings, type StringOperation } from '../src/level-batch.js';

let dir: string;
let db: Level<string, string>;

beforeEach(async () => {
  dir = await makeTempDir('deploystate-level-batch-');
  db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  await db.put('56-Old', 'old');
});

afterEach(async () => {
  await db.close();
  await removeTempDir(dir);
});

const operations: StringOperation[] = [
  { type: 'put', key: '56-Router', value: '{"a":1}' },
  { type: 'put', key: '\u0000outbox\u0000000001', value: '{"seq":1}' },
  { type: 'del', key: '56-Old' },
];

async function stored(): Promise<Array<[string, string]>> {
  return db.iterator().all();
}

describe('writeStrings', () => {
  it('writes every operation, puts and deletes, in one batch', async () => {
    await writeStrings(db, operations, false);
    expect(await stored()).toEqual([
      ['\u0000outbox\u0000000001', '{"seq":1}'],
      ['56-Router', '{"a":1}'],
    ]);
  });

  it('a prewrite hook still sees each operation and can add its own', async () => {
    const seen: string[] = [];
    db.hooks.prewrite.add((op, batch) => {
      seen.push(`${op.type} ${op.key}`);
      if (op.key === '56-Router') batch.add({ type: 'put', key: 'audit', value: 'router' });
    });
    await writeStrings(db, operations, true);
    expect(seen).toEqual(['put 56-Router', 'put \u0000outbox\u0000000001', 'del 56-Old']);
    expect((await stored()).map(([key]) => key)).toEqual(['\u0000outbox\u0000000001', '56-Router', 'audit']);
  });

  it("a 'write' listener still hears the batch", async () => {
    const heard: string[][] = [];
    db.on('write', (ops: Array<{ key: string }>) => heard.push(ops.map((op) => op.key)));
    await writeStrings(db, operations, false);
    expect(heard).toEqual([['56-Router', '\u0000outbox\u0000000001', '56-Old']]);
  });
});
