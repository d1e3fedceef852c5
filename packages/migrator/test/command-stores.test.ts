// The stores a command opens itself (export, import, restore, the drills): each keeps the promise
// its name makes. The CLI's tests prove the commands built on them behave as before.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, NetworkRegistry, sampleRecord } from '@deploystate/core';
import { withFileLock } from '@deploystate/backend-json';
import { openSideForReading, readOnlyLevelDbStore, sideStore, uncachedJsonStore } from '../src/index.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-command-stores-');
const registry = new NetworkRegistry();
const folders = () => ({ leveldb: join(tempDir(), 'leveldb'), deployments: join(tempDir(), 'deployments') });

async function folderDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) {
    const file = join(dir, name);
    if ((await stat(file)).isFile()) hash.update(name).update(await readFile(file));
  }
  return hash.digest('hex');
}

/** One record written to `side` through a writing sideStore (which creates the side). */
async function seed(side: 'leveldb' | 'json'): Promise<void> {
  const writer = sideStore(folders(), side, { registry, write: true });
  await writer.open();
  await writer.put(sampleRecord(56, 'Token', 'bscmainnet'));
  await writer.close();
}

describe.each(['leveldb', 'json'] as const)('sideStore (%s)', (side) => {
  it('creates and writes the side with write: true, and refuses writes without it', async () => {
    const record = sampleRecord(56, 'Token', 'bscmainnet');
    await seed(side);
    const reader = sideStore(folders(), side, { registry });
    await reader.open();
    try {
      expect((await reader.get(56, 'Token'))?.address).toBe(record.address);
      if (side === 'leveldb') await expect(reader.put(record)).rejects.toMatchObject({ code: ErrorCodes.WRITES_REFUSED });
    } finally {
      await reader.close();
    }
  });
});

describe('openSideForReading', () => {
  it('reads LevelDB through a snapshot: the folder stays byte-identical and dispose lets it go', async () => {
    await seed('leveldb');
    const before = await folderDigest(folders().leveldb);
    const opened = await openSideForReading(folders(), 'leveldb', registry);
    expect(opened.location).toBe(folders().leveldb);
    expect((await opened.store.list(56)).map((r) => r.contractName)).toEqual(['Token']);
    await opened.dispose();
    expect(await folderDigest(folders().leveldb)).toBe(before);
  });
});

describe('uncachedJsonStore', () => {
  it('waits lockWaitMs for a file lock another holder keeps, then refuses with LOCKED', async () => {
    await seed('json');
    const store = uncachedJsonStore(folders().deployments, registry, { lockWaitMs: 50 });
    await store.open();
    try {
      await withFileLock(store.fileFor(56), async () => {
        await expect(store.put(sampleRecord(56, 'Vault', 'bscmainnet'))).rejects.toMatchObject({ code: ErrorCodes.LOCKED });
      });
      expect(await store.get(56, 'Vault')).toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('readOnlyLevelDbStore', () => {
  it('reads and refuses writes', async () => {
    await seed('leveldb');
    const store = readOnlyLevelDbStore(folders().leveldb, registry);
    await store.open();
    try {
      expect(await store.get(56, 'Token')).not.toBeNull();
      await expect(store.put(sampleRecord(56, 'Vault', 'bscmainnet'))).rejects.toMatchObject({ code: ErrorCodes.WRITES_REFUSED });
    } finally {
      await store.close();
    }
  });
});
