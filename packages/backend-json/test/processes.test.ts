// Real processes: a writer SIGKILLed at random moments, and several writers on one file at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLossless } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';
import { withClockAhead } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url));
let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

function startWriter(
  folder: string,
  prefix: string,
  start: number,
  count: number,
): { child: ChildProcess; acks: number[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [WRITER, folder, prefix, String(start), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: number[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(stderr);
      resolve(code);
    }),
  );
  return { child, acks, exited };
}

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 2));
};

describe('real processes', () => {
  it('a writer killed at random moments leaves the old or the new file, holding every acknowledged write', async () => {
    dir = await makeTempDir('deploystate-crash-');
    const file = join(dir, 'bscmainnet.json');
    const tmp = join(dir, '.deploystate', 'tmp');
    let acknowledged = 0; // records R0..R(acknowledged-1) were acknowledged
    let midWrite = 0; // kills that left a temp file: the writer died between creating it and the rename
    for (let round = 0; round < 20; round++) {
      const writer = startWriter(dir, 'R', acknowledged, 10_000);
      // Wait for the writer to be in its loop, then kill it at a random instant.
      await until(() => writer.acks.length > 0 || writer.child.exitCode !== null);
      await new Promise((r) => setTimeout(r, Math.random() * 25));
      // The writer has 10 000 puts to do: one that already exited was not killed at all.
      expect(writer.child.exitCode).toBeNull();
      writer.child.kill('SIGKILL');
      await writer.exited;
      expect(writer.child.signalCode).toBe('SIGKILL');
      if ((await readdir(tmp).catch(() => [])).some((name) => name.endsWith('.tmp'))) midWrite++;
      const acked = writer.acks.length === 0 ? acknowledged : Math.max(...writer.acks) + 1;
      const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, { deploymentArgs: unknown[] }> };
      const names = Object.keys(doc.records);
      // Old or new state: exactly the acknowledged records, or those plus the one in flight.
      expect([acked, acked + 1]).toContain(names.length);
      for (let i = 0; i < names.length; i++) {
        expect(doc.records[`R${i}`]?.deploymentArgs[0]).toBe(2n ** 80n + BigInt(i));
      }
      acknowledged = names.length;
    }
    expect(acknowledged).toBeGreaterThan(20);
    // Most kills land in a put's fsync (the temp file exists then); none in 20 would mean the test
    // only ever killed between writes and proved nothing about a torn write.
    console.log(`kills that left a temp file: ${midWrite} of 20`);
    expect(midWrite).toBeGreaterThan(0);
    // Leftover temp files of the killed writers are cleaned on the next open once old enough, and a lock they held does not block.
    const store = new JsonFileStore({ dir, lockWait: { timeoutMs: 5_000 } });
    await withClockAhead(() => store.open());
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
    await store.put({
      contractName: 'After',
      chainId: 56,
      networkName: 'bscmainnet',
      address: '0x' + '00'.repeat(20),
      factoryByteCodeHash: '',
      timestamp: 1,
    });
    expect((await store.list(56)).length).toBe(acknowledged + 1);
    await store.close();
  });

  it('four processes writing different records to one network file lose no update', async () => {
    dir = await makeTempDir('deploystate-multi-');
    const folder = dir;
    const writers = ['A', 'B', 'C', 'D'].map((prefix) => startWriter(folder, prefix, 0, 12));
    const codes = await Promise.all(writers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    const store = new JsonFileStore({ dir });
    await store.open();
    const names = (await store.list(56)).map((r) => r.contractName);
    expect(names.length).toBe(48);
    for (const prefix of ['A', 'B', 'C', 'D']) for (let i = 0; i < 12; i++) expect(names).toContain(`${prefix}${i}`);
    await store.close();
  });

  it('four processes writing one network file in tabs and CRLF lose no update, and the file keeps both', async () => {
    dir = await makeTempDir('deploystate-multi-styled-');
    const folder = dir;
    const file = join(dir, 'bscmainnet.json');
    // The project's own file, as a formatter in tabs and a Windows checkout keep it, with no line end after its last line.
    await writeFile(file, JSON.stringify({ network: 'bscmainnet', chainId: 56, deployer: '0xabc' }, null, '\t').replace(/\n/g, '\r\n'));
    const writers = ['A', 'B', 'C', 'D'].map((prefix) => startWriter(folder, prefix, 0, 12));
    expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('}')).toBe(true);
    for (const line of text.split('\r\n')) expect(line).toMatch(/^\t*[^\s]/);
    const store = new JsonFileStore({ dir });
    await store.open();
    expect((await store.list(56)).length).toBe(48);
    await store.close();
  });
});
