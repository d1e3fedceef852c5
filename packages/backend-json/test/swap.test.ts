// JsonFileStore.swap: a record set (or removed) together with what the file held before, under the
// file's lock, and with `expected` a compare-and-swap. Another process's write never lands between
// the read and the write: counters incremented by two processes at once lose no increment.
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@deploystate/core';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();
const COUNTER = fileURLToPath(new URL('./fixtures/swap-counter.mjs', import.meta.url));

/**
 * Two swap-counter children, `count` increments each (one with the cache, one without), started
 * together once both have opened their stores; each one's tries.
 */
function countingTogether(dir: string, count: number): Promise<number[]> {
  const children = [true, false].map((cache) =>
    spawn(process.execPath, [COUNTER, dir, String(count)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SWAP_CACHE: cache ? '1' : '0' },
    }),
  );
  let ready = 0;
  return Promise.all(
    children.map(
      (child) =>
        new Promise<number>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => {
            const before = out;
            out += chunk.toString();
            // Both ready: both told to go at once.
            if (!before.includes('ready\n') && out.includes('ready\n') && ++ready === children.length) for (const c of children) c.stdin.end('go\n');
          });
          child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
          child.on('error', reject);
          child.on('exit', (code) => {
            const tries = /done (\d+)/.exec(out)?.[1];
            if (code === 0 && tries !== undefined) resolve(Number(tries));
            else reject(new Error(`swap-counter exited ${String(code)}: ${err}`));
          });
        }),
    ),
  );
}

describe('JsonFileStore.swap', () => {
  it('sets or removes a record and says what the file held there before', async () => {
    const { store } = await setup();
    expect(await store.swap(56, 'A', rec(56, 'A', { timestamp: 1 }))).toEqual({ swapped: true, previous: null });
    expect(await store.swap(56, 'A', rec(56, 'A', { timestamp: 2 }))).toEqual({ swapped: true, previous: rec(56, 'A', { timestamp: 1 }) });
    expect(await store.swap(56, 'A', null)).toEqual({ swapped: true, previous: rec(56, 'A', { timestamp: 2 }) });
    expect(await store.get(56, 'A')).toBeNull();
    expect(await store.swap(56, 'A', null)).toEqual({ swapped: true, previous: null });
  });

  it('with `expected`, writes nothing unless the file holds exactly that: no byte changes and no backup is made', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A', { timestamp: 1 }));
    const file = join(dir, 'bscmainnet.json');
    const before = await readFile(file, 'utf8');
    const backups = await store.listBackups(56);
    const stale = await store.swap(56, 'A', rec(56, 'A', { timestamp: 3 }), { expected: rec(56, 'A', { timestamp: 2 }) });
    expect(stale).toEqual({ swapped: false, previous: rec(56, 'A', { timestamp: 1 }) });
    expect(await store.swap(56, 'A', null, { expected: null })).toMatchObject({ swapped: false });
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await store.listBackups(56)).toEqual(backups);
    // The expected record matches by content, whatever object holds it.
    expect(await store.swap(56, 'A', rec(56, 'A', { timestamp: 3 }), { expected: rec(56, 'A', { timestamp: 1 }) })).toMatchObject({ swapped: true });
    expect(await store.swap(56, 'B', rec(56, 'B'), { expected: null })).toEqual({ swapped: true, previous: null });
    expect((await store.get(56, 'A'))?.timestamp).toBe(3);
  });

  it('reads the file as another store left it, under the lock (its cache never stands in for the file)', async () => {
    const { store, open } = await setup();
    const other = await open();
    await store.put(rec(56, 'A', { timestamp: 1 }));
    await other.put(rec(56, 'A', { timestamp: 2 }));
    expect(await store.swap(56, 'A', rec(56, 'A', { timestamp: 9 }), { expected: rec(56, 'A', { timestamp: 1 }) })).toMatchObject({
      swapped: false,
      previous: { timestamp: 2 },
    });
  });

  it('two processes incrementing one counter by compare-and-swap lose no increment', async () => {
    const { dir, store } = await setup();
    const each = 40;
    // Every run must lose no increment. A run where neither swap ever found the other's write first
    // proved nothing of that (on a loaded machine one child can finish before the other is
    // scheduled): run again, up to three times, until one did.
    let contended = false;
    for (let run = 0; run < 3 && !contended; run++) {
      await store.put(rec(56, 'Counter', { timestamp: 0 }));
      await store.close();
      const tries = await countingTogether(dir, each);
      const check = JSON.parse(await readFile(join(dir, 'bscmainnet.json'), 'utf8')) as { records: Record<string, { timestamp: number }> };
      expect(check.records.Counter?.timestamp).toBe(2 * each);
      contended = tries.reduce((a, b) => a + b, 0) > 2 * each;
      await store.open();
    }
    expect(contended).toBe(true);
  });

  it('refuses a name whose entry is not a record (CORRUPTED naming file and key), and a record of another key (INVALID_ARGUMENT)', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A'));
    const file = join(dir, 'bscmainnet.json');
    const text = (await readFile(file, 'utf8')).replace('"records": {', '"records": {\n    "Broken": { "chainId": "nope" },');
    await writeFile(file, text);
    await expect(store.swap(56, 'Broken', rec(56, 'Broken'))).rejects.toMatchObject({ code: ErrorCodes.CORRUPTED, file, key: '56-Broken' });
    await expect(store.swap(56, 'Broken', null)).rejects.toMatchObject({ code: ErrorCodes.CORRUPTED });
    expect(await readFile(file, 'utf8')).toBe(text);
    await expect(store.swap(56, 'A', rec(56, 'B'))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, key: '56-A' });
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toEqual(['bscmainnet.json']);
  });

  it('is refused by a read-only store (WRITES_REFUSED)', async () => {
    const { dir, store, open } = await setup();
    await store.put(rec(56, 'A'));
    const reader = await open({ readOnly: true });
    await expect(reader.swap(56, 'A', null)).rejects.toMatchObject({ code: ErrorCodes.WRITES_REFUSED });
    // A restore replaces the file as a write does: refused too, the file as it was.
    await store.put(rec(56, 'A', { address: `0x${'ab'.repeat(20)}` }));
    const file = join(dir, 'bscmainnet.json');
    const before = await readFile(file, 'utf8');
    await expect(reader.restore(56)).rejects.toMatchObject({ code: ErrorCodes.WRITES_REFUSED });
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});
