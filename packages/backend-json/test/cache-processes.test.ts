// The read cache against other processes: every write another process completes is seen by the
// next read here, whether it came from another store, from a legacy script that renames a new file
// over the old one, or from one that writes the file in place keeping its inode and size, and
// however soon after this store's own read or write it lands (the same-tick race).
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';

const FOREIGN = fileURLToPath(new URL('./fixtures/foreign-writer.mjs', import.meta.url));
let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

function startForeignWriter(folder: string, file: string) {
  const child = spawn(process.execPath, [FOREIGN, folder, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async write(kind: 'store' | 'rename' | 'inplace', name: string, address: string): Promise<void> {
      child.stdin.write(`${kind} ${name} ${address}\n`);
      const reply = await replies.next();
      expect(reply.value).toBe('done');
    },
    async stop(): Promise<void> {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

const address = (n: number): string => `0x${n.toString(16).padStart(40, '0')}`;

describe('the stat-checked cache across processes', () => {
  it('sees every completed write of another store, a renaming legacy script and an in-place legacy script', async () => {
    dir = await makeTempDir('deploystate-cache-');
    const file = join(dir, 'bscmainnet.json');
    const store = new JsonFileStore({ dir, cache: true });
    await store.open();
    const base = { chainId: 56, networkName: 'bscmainnet', factoryByteCodeHash: `0x${'ab'.repeat(32)}`, timestamp: 1 };
    await store.put({ ...base, contractName: 'Vault', address: address(0) });
    await store.put({ ...base, contractName: 'Router', address: address(0) });
    const foreign = startForeignWriter(dir, file);
    try {
      let n = 1;
      const missed: string[] = [];
      // Bounded: 3 kinds x 2 orders x 15 rounds. Each write lands right after this store's own read
      // or own write of the same file, the moment a stale stat is most likely to look unchanged.
      for (const kind of ['store', 'rename', 'inplace'] as const) {
        for (let round = 0; round < 15; round++) {
          // After our read: the cache holds a freshly read entry.
          expect((await store.get(56, 'Vault'))?.address).toBeDefined();
          const afterRead = address(n++);
          await foreign.write(kind, 'Vault', afterRead);
          const seen = (await store.get(56, 'Vault'))?.address;
          if (seen !== afterRead) missed.push(`${kind} after read, round ${round}: ${seen} instead of ${afterRead}`);

          // After our own write: the cache holds what this store renamed into place.
          await store.put({ ...base, contractName: 'Router', address: address(n++) });
          const afterWrite = address(n++);
          await foreign.write(kind, 'Vault', afterWrite);
          const seenAfterWrite = (await store.get(56, 'Vault'))?.address;
          if (seenAfterWrite !== afterWrite)
            missed.push(`${kind} after own write, round ${round}: ${seenAfterWrite} instead of ${afterWrite}`);
        }
      }
      expect(missed).toEqual([]);
    } finally {
      await foreign.stop();
      await store.close();
    }
  });

  it('drops an entry served from memory (its file long unchanged) at the first write another process completes', async () => {
    dir = await makeTempDir('deploystate-cache-');
    const file = join(dir, 'bscmainnet.json');
    const store = new JsonFileStore({ dir, cache: true });
    await store.open();
    const base = { chainId: 56, networkName: 'bscmainnet', factoryByteCodeHash: `0x${'ab'.repeat(32)}`, timestamp: 1 };
    await store.put({ ...base, contractName: 'Vault', address: address(0) });
    const foreign = startForeignWriter(dir, file);
    try {
      let n = 1;
      const missed: string[] = [];
      for (const kind of ['store', 'rename', 'inplace'] as const) {
        for (let round = 0; round < 3; round++) {
          // Until the file's last write is well past the racy window, so the next read keeps an
          // entry that later reads take from memory after one stat.
          while (Date.now() - (await stat(file)).mtimeMs < 60) await sleep(10);
          const before = (await store.get(56, 'Vault'))?.address;
          expect((await store.get(56, 'Vault'))?.address).toBe(before);
          const written = address(n++);
          await foreign.write(kind, 'Vault', written);
          const seen = (await store.get(56, 'Vault'))?.address;
          if (seen !== written) missed.push(`${kind}, round ${round}: ${seen} instead of ${written}`);
        }
      }
      expect(missed).toEqual([]);
    } finally {
      await foreign.stop();
      await store.close();
    }
  });
});
