// The co-owned files baseline after a copy comes from the digests the copy computed while it read
// LevelDB, not from parsing every file it wrote again. It must be exactly what a parse of the files
// gives (big integers and exact literals included), and a file changed since the copy wrote it is
// read again, never taken from the copy's view.
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest, NetworkRegistry } from '@deploystate/core';
import { moveBaseline, type CoownedContext, type WrittenEntry } from '../src/coowned-baseline.js';
import { fileSignature, KnownFileDigests } from '../src/file-digests.js';
import { Journal } from '../src/journal.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-copy-baseline-');

async function writtenEntries(dir: string): Promise<Record<string, WrittenEntry>> {
  return (JSON.parse(await readFile(join(dir, '.deploystate', 'written.json'), 'utf8')) as { written: Record<string, WrittenEntry> }).written;
}

/** What a parse of every network file gives: per key, the record's digest and timestamp. */
async function parsedFiles(dir: string): Promise<Record<string, WrittenEntry>> {
  const registry = new NetworkRegistry();
  const out: Record<string, WrittenEntry> = {};
  const deployments = join(dir, 'deployments');
  for (const name of (await readdir(deployments)).sort()) {
    const chainId = registry.chainIdOfFile(name);
    if (chainId === undefined || !name.endsWith('.json')) continue;
    const file = join(deployments, name);
    for (const [contract, record] of parseStateFile(await readFile(file, 'utf8'), file, chainId).records) {
      out[`${chainId}-${contract}`] = { seq: 0, op: 'put', digest: canonicalDigest(record), timestamp: String(record.timestamp) };
    }
  }
  return out;
}

describe('the co-owned files baseline after a copy', () => {
  it('holds, for every record the copy wrote, the digest and timestamp a parse of its file gives', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    await migration.close?.();
    const expected = await parsedFiles(dir);
    expect(Object.keys(expected).length).toBeGreaterThan(10);
    expect(await writtenEntries(dir)).toEqual(expected);
  });

  it('takes a file from the writer only while it is exactly as written; a changed file is parsed', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    await migration.close?.();
    const journal = new Journal(join(dir, '.deploystate', 'journal.ndjson'));
    const ctx: CoownedContext = { stateDir: join(dir, '.deploystate'), deployments: join(dir, 'deployments'), registry: new NetworkRegistry(), journal };
    try {
      const file = join(dir, 'deployments', 'bscmainnet.json');
      const known = new KnownFileDigests();
      // A digest no parse could give: seen in the baseline only if the writer's record is used.
      known.begin(file, fileSignature(file))?.records.set('LookCoin', { digest: 'from-the-writer', timestamp: '7' });
      await moveBaseline(ctx, new Set([56]), known);
      const taken = Object.entries(await writtenEntries(dir)).filter(([key]) => key.startsWith('56-'));
      expect(taken).toEqual([['56-LookCoin', { seq: 0, op: 'put', digest: 'from-the-writer', timestamp: '7' }]]);

      await appendFile(file, '\n');
      await moveBaseline(ctx, new Set([56]), known);
      const parsed = Object.entries(await parsedFiles(dir)).filter(([key]) => key.startsWith('56-'));
      expect(Object.entries(await writtenEntries(dir)).filter(([key]) => key.startsWith('56-'))).toEqual(parsed);
      expect(parsed.length).toBeGreaterThan(1);
    } finally {
      await journal.close();
    }
  });
});
