// verifyChain over a store: a whole network file it cannot read hides its chain's records, so it
// fails the check (chain-migration.test.ts); a single value that is not a record (a legacy key in
// LevelDB such as `lastDeployment`) is analysis's business and neither listed nor failing.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, writeLegacyStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { verifyChain } from '../src/index.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-chain-unreadable-');

describe('verifyChain over a store with values that are not records', () => {
  it('does not take a LevelDB key that is not a record key for an unreadable file', async () => {
    const path = join(tempDir(), 'leveldb');
    await writeLegacyStore(path, [
      { key: '97-Token', value: sampleRecord(97, 'Token', 'bsctestnet') },
      { key: 'lastDeployment', raw: '"97-Token"' },
    ]);
    const store = new LevelDbStore({ path, idleCloseMs: 0 });
    const report = await verifyChain(store, { rpc: {} });
    expect(report.unreadable).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.counts).toMatchObject({ records: 1, notChecked: 1 });
  });
});
