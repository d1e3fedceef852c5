// JsonFileStore.swapMany: several names of one chain set (or removed) in one write of the file, under
// its lock, with what each held before the batch; with `expected` per name a compare-and-swap that
// leaves another process's write in place. The file ends byte for byte as that many swap() calls
// leave it.
import { execFile } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkRecord, ErrorCodes, type DeploymentRecord } from '@deploystate/core';
import type { SwapManyEntry } from '../src/index.js';
import { random, rec, storePerTest } from './helpers.js';

const setup = storePerTest();
const OTHER = fileURLToPath(new URL('./fixtures/other-writer.mjs', import.meta.url));
const run = promisify(execFile);

/** Counts the times the store replaced each file (its hook right before each rename). */
function counted(): { replaced: Map<string, number>; beforeReplace: (file: string) => void } {
  const replaced = new Map<string, number>();
  return { replaced, beforeReplace: (file) => void replaced.set(file, (replaced.get(file) ?? 0) + 1) };
}

describe('JsonFileStore.swapMany', () => {
  it('sets and removes several names in one write, and says what each held before the batch; a name given twice ends as its last entry', async () => {
    const { replaced, beforeReplace } = counted();
    const { dir, store } = await setup({ beforeReplace });
    await store.putMany([rec(56, 'A', { timestamp: 1 }), rec(56, 'B', { timestamp: 1 })]);
    replaced.clear();
    const result = await store.swapMany(56, [
      { contractName: 'A', next: rec(56, 'A', { timestamp: 2 }) },
      { contractName: 'B', next: null },
      { contractName: 'C', next: rec(56, 'C', { timestamp: 2 }) },
      { contractName: 'A', next: rec(56, 'A', { timestamp: 3 }) },
    ]);
    expect(result).toEqual({
      swapped: [true, true, true, true],
      previous: new Map([
        ['A', rec(56, 'A', { timestamp: 1 })],
        ['B', rec(56, 'B', { timestamp: 1 })],
        ['C', null],
      ]),
    });
    expect(Object.fromEntries(replaced)).toEqual({ [join(dir, 'bscmainnet.json')]: 1 });
    expect(await store.get(56, 'A')).toEqual(rec(56, 'A', { timestamp: 3 }));
    expect(await store.get(56, 'B')).toBeNull();
    expect(await store.get(56, 'C')).toEqual(rec(56, 'C', { timestamp: 2 }));
  });

  // The batch's bytes are those of the same entries given to swap() one after the other, CAS
  // entries that match and that do not included.
  it('leaves the file byte for byte as that many swap() calls leave it (seeded, CAS entries included)', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = random(seed);
      const names = ['A', 'B', 'C', 'D', 'E'];
      const start = names.slice(0, 3).map((name) => rec(56, name, { timestamp: 1 }));
      const batched = await setup();
      const single = await setup();
      for (const ctx of [batched, single]) await ctx.store.putMany(start);
      const held = new Map<string, DeploymentRecord | null>(names.map((name, i) => [name, i < 3 ? rec(56, name, { timestamp: 1 }) : null]));
      const entries: SwapManyEntry[] = [];
      for (let i = 0; i < 8; i++) {
        const name = names[Math.floor(next() * names.length)] as string;
        const value = next() < 0.25 ? null : rec(56, name, { timestamp: 10 + i, address: `0x${String(i).repeat(40)}` });
        const roll = next();
        // No CAS, a CAS on what the name holds at that point (matches), or on something else (does not).
        const expected = roll < 0.4 ? undefined : roll < 0.7 ? (held.get(name) ?? null) : rec(56, name, { timestamp: 999 });
        entries.push({ contractName: name, next: value, ...(expected !== undefined && { expected }) });
        if (expected === undefined || JSON.stringify(expected) === JSON.stringify(held.get(name) ?? null)) held.set(name, value);
      }
      const result = await batched.store.swapMany(56, entries);
      const swapped: boolean[] = [];
      for (const e of entries) {
        swapped.push((await single.store.swap(56, e.contractName, e.next, e.expected === undefined ? {} : { expected: e.expected })).swapped);
      }
      expect({ seed, swapped: result.swapped }).toEqual({ seed, swapped });
      const [a, b] = await Promise.all([batched, single].map((ctx) => readFile(join(ctx.dir, 'bscmainnet.json'), 'utf8')));
      expect({ seed, bytes: a }).toEqual({ seed, bytes: b });
    }
  });

  // The undo of a batch whose other write failed: each name put back only while the file still
  // holds the batch's record there. Another process's write of one name since stands.
  it("as a per-name compare-and-swap leaves another process's write made since in place and undoes the rest", async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A', { timestamp: 1 }));
    const oursA = rec(56, 'A', { timestamp: 2 });
    const oursC = rec(56, 'C', { timestamp: 2 });
    const { previous } = await store.swapMany(56, [
      { contractName: 'A', next: oursA },
      { contractName: 'C', next: oursC },
    ]);
    // Another process puts C (timestamp 3, address 0xccc...).
    const { stdout } = await run(process.execPath, [OTHER, 'record', dir]);
    expect(stdout).toBe('done\n');
    const undo = await store.swapMany(56, [
      { contractName: 'A', next: previous.get('A') ?? null, expected: oursA },
      { contractName: 'C', next: previous.get('C') ?? null, expected: oursC },
    ]);
    expect(undo.swapped).toEqual([true, false]);
    expect(await store.get(56, 'A')).toEqual(rec(56, 'A', { timestamp: 1 }));
    expect(await store.get(56, 'C')).toMatchObject({ timestamp: 3, address: `0x${'c'.repeat(40)}` });
  });

  it('refuses the whole batch, writing nothing, when one name is not a record (CORRUPTED) or one record is of another key (INVALID_ARGUMENT)', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A', { timestamp: 1 }));
    const file = join(dir, 'bscmainnet.json');
    const text = (await readFile(file, 'utf8')).replace('"records": {', '"records": {\n    "Broken": { "chainId": "nope" },');
    await writeFile(file, text);
    await expect(
      store.swapMany(56, [
        { contractName: 'A', next: rec(56, 'A', { timestamp: 2 }) },
        { contractName: 'Broken', next: null },
      ]),
    ).rejects.toMatchObject({ code: ErrorCodes.CORRUPTED, file, key: '56-Broken' });
    expect(await readFile(file, 'utf8')).toBe(text);
    await expect(
      store.swapMany(56, [
        { contractName: 'A', next: rec(56, 'A', { timestamp: 2 }) },
        { contractName: 'B', next: rec(56, 'C') },
      ]),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, key: '56-B' });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('keepSwapMany: nothing while the file is as the batch left it; the batch set again on top of a version put in its place', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'Kept', { timestamp: 1 }));
    const file = join(dir, 'bscmainnet.json');
    const before = await readFile(file, 'utf8');
    const entries = [
      { contractName: 'A', next: checkRecord(rec(56, 'A', { timestamp: 2 })) },
      { contractName: 'B', next: checkRecord(rec(56, 'B', { timestamp: 2 })) },
    ];
    const { version } = await store.swapManyChecked(56, entries);
    expect(store.keepSwapMany(56, entries, version)).toBeUndefined();
    // A checkout puts the older version (with a record of its own) in place by rename.
    await writeFile(`${file}.git-tmp`, before.replace('"records": {', `"records": {\n    "FromGit": ${JSON.stringify(rec(56, 'FromGit'))},`));
    await rename(`${file}.git-tmp`, file);
    const kept = store.keepSwapMany(56, entries, version);
    expect(kept).toBeInstanceOf(Promise);
    const left = await kept;
    expect(left).not.toEqual(version);
    expect(store.keepSwapMany(56, entries, left as NonNullable<typeof left>)).toBeUndefined();
    for (const name of ['A', 'B']) expect(await store.get(56, name)).toEqual(rec(56, name, { timestamp: 2 }));
    expect(await store.get(56, 'FromGit')).toEqual(rec(56, 'FromGit'));
    expect(await store.get(56, 'Kept')).toEqual(rec(56, 'Kept', { timestamp: 1 }));
  });
});
