// A put that costs the change, not the file, and loses nothing for it: it starts from the file as
// it is now (other processes' writes between two puts are kept), skips a write that changes
// nothing (no backup rotated), and a kill mid-write leaves the old or the new file whole.
import { execFile, spawn } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLossless, stringifyLossless } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

const OTHER = fileURLToPath(new URL('./fixtures/other-writer.mjs', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url));
const run = promisify(execFile);
const setup = storePerTest();

const LEGACY = `{
  "network": "bscmainnet",
  "chainId": 56,
  "deployer": "0x${'1'.repeat(40)}",
  "contracts": { "A": { "proxy": "0x${'2'.repeat(40)}", "implementation": "0x${'3'.repeat(40)}" } },
  "config": { "limit": 1e400, "fee": 1.50 }
}
`;

async function other(command: string, target: string): Promise<void> {
  const { stdout } = await run(process.execPath, [OTHER, command, target]);
  expect(stdout).toBe('done\n');
}

describe('a put splices into the file as it is now', () => {
  it("keeps every write another process made between two puts: the project's keys, a record, a legacy rename", async () => {
    const { dir, store } = await setup();
    const file = store.fileFor(56);
    await writeFile(file, LEGACY);
    await store.put(rec(56, 'A', { timestamp: 1 }));
    await store.put(rec(56, 'A', { timestamp: 2 })); // a splice from now on: the store printed this file
    await other('script', dir); // locked: waits out this store's lease
    await store.put(rec(56, 'B', { timestamp: 1 }));
    await other('record', dir);
    await other('legacy', file); // no lock, a new inode
    await store.put(rec(56, 'B', { timestamp: 2 }));
    const text = await readFile(file, 'utf8');
    const doc = parseLossless(text) as Record<string, any>;
    expect(Object.keys(doc.records)).toEqual(['A', 'B', 'C']);
    expect(doc.records.A.timestamp).toBe(2);
    expect(doc.records.B.timestamp).toBe(2);
    expect(doc.deployer).toBe(`0x${'e'.repeat(40)}`);
    expect(doc.config.added).toBe('by-legacy');
    // Numbers of keys the store does not own keep their literal.
    expect(stringifyLossless(doc.config.limit)).toBe('1e400');
    expect(stringifyLossless(doc.config.fee)).toBe('1.50');
    // The legacy section still follows the record.
    expect(doc.contracts.A.implementation).toBe(rec(56, 'A').address);
    // And the bytes are those of a full render of what the file holds.
    const fresh = new JsonFileStore({ dir, cache: false });
    await fresh.open();
    expect((await fresh.replaceChain(56, await fresh.list(56))).changed).toBe(false);
    await fresh.close();
  });

  it.each([
    ['a file this store printed', false],
    ['a file read from disk', true],
  ])('writes nothing for a put that changes nothing (%s): same inode, no backup rotated', async (_label, reopen) => {
    const { store, open } = await setup({ backups: 2 });
    await store.put(rec(56, 'A', { deploymentArgs: [2n ** 90n], timestamp: 1 }));
    await store.put(rec(56, 'B', { timestamp: 1 }));
    await store.put(rec(56, 'B', { timestamp: 2 }));
    const writer = reopen ? await open() : store;
    const before = await stat(store.fileFor(56), { bigint: true });
    const backups = await store.listBackups(56);
    expect(backups.length).toBe(2);
    // Equal content in new objects, one at a time and as a batch.
    await writer.put(rec(56, 'A', { deploymentArgs: [2n ** 90n], timestamp: 1 }));
    await writer.putMany([rec(56, 'B', { timestamp: 2 }), rec(56, 'A', { deploymentArgs: [2n ** 90n], timestamp: 1 })]);
    expect(await writer.delete(56, 'Missing')).toBe(false);
    const after = await stat(store.fileFor(56), { bigint: true });
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(await store.listBackups(56)).toEqual(backups);
    // A change is still written.
    await writer.put(rec(56, 'A', { deploymentArgs: [2n ** 90n + 1n], timestamp: 1 }));
    expect((await stat(store.fileFor(56), { bigint: true })).ino).not.toBe(before.ino);
  });
});

describe('a writer killed while overwriting one record', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await removeTempDir(dir);
    dir = undefined;
  });

  it('leaves the old or the new file whole, the other records untouched', async () => {
    dir = await makeTempDir('deploystate-splice-crash-');
    const seed = new JsonFileStore({ dir });
    await seed.open();
    const others = Array.from({ length: 30 }, (_, i) => rec(56, `Other${i}`, { deploymentArgs: [2n ** 70n + BigInt(i)], timestamp: i }));
    await seed.putMany(others);
    await seed.close();
    const expected = others.map((r) => stringifyLossless(r));
    let acknowledged = -1; // the last deploymentArgs offset acknowledged
    let midWrite = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [WRITER, dir, 'Hot', String(acknowledged + 1), '100000'], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, WRITER_OVERWRITE: '1' },
      });
      const acks: number[] = [];
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => {
        // Whole lines only: a line can arrive split across two chunks.
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
      });
      // 'close', not 'exit': every line the writer printed before the kill has been read by then.
      const exited = new Promise((resolve) => child.once('close', resolve));
      // Let it overwrite a few times (each a splice of its own last write), then kill it anywhere.
      while (acks.length < 3 && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      child.kill('SIGKILL');
      await exited;
      if ((await readdir(join(dir, '.deploystate', 'tmp'))).some((name) => name.endsWith('.tmp'))) midWrite++;
      const last = Math.max(...acks);
      const doc = parseLossless(await readFile(join(dir, 'bscmainnet.json'), 'utf8')) as { records: Record<string, { deploymentArgs: bigint[] }> };
      const hot = Number((doc.records.Hot?.deploymentArgs[0] as bigint) - 2n ** 80n);
      // The last acknowledged write, or the one in flight when the kill came.
      expect([last, last + 1]).toContain(hot);
      const store = new JsonFileStore({ dir, cache: false });
      await store.open();
      for (const [i, r] of others.entries()) expect(stringifyLossless(await store.get(56, r.contractName))).toBe(expected[i]);
      await store.close();
      acknowledged = hot;
    }
    expect(acknowledged).toBeGreaterThan(8 * 3 - 2);
    console.log(`overwrite kills that left a temp file: ${midWrite} of 8`);
  });
});
