// The copy writes a chain that has no state file yet record by record, and takes the co-owned files
// baseline after it from the digests it computed while it read LevelDB, not from parsing every file
// it wrote again. The files must be byte for byte what the store's replaceChain writes, the baseline
// exactly what a parse of the files gives (big integers and exact literals included), and a file
// changed since the copy wrote it is read again, never taken from the copy's view.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { compareKeys, generateRecords, NetworkRegistry, parseLossless, type DeploymentRecord } from '@deploystate/core';
import { Migration } from '../src/index.js';
import { moveBaseline, type CoownedContext } from '../src/coowned-baseline.js';
import { WrittenRecords } from '../src/written-records.js';
import { Journal } from '../src/journal.js';
import { demoMigration, seedLevelDb, useTempDir } from './helpers.js';
import { parsedFiles, writtenEntries } from './written-helpers.js';

const tempDir = useTempDir('migrator-copy-baseline-');


describe('a chain copied into no file', () => {
  it("is written with the bytes the store's replaceChain writes for the same records", async () => {
    const dir = tempDir();
    const exact = parseLossless('[1.50, 1e400, -0, 340282366920938463463374607431768211457]') as unknown[];
    const records: DeploymentRecord[] = [
      ...generateRecords(300, [56, 97]),
      { ...generateRecords(1, [97])[0], contractName: '\u{1F600}Exact', deploymentArgs: exact } as DeploymentRecord,
    ];
    await seedLevelDb(dir, records);
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
      const report = await migration.migrate();
      expect(report.copied).toBe(records.length);
    } finally {
      await migration.close?.();
    }
    const reference = join(dir, 'reference');
    const store = new JsonFileStore({ dir: reference, create: true, cache: false });
    await store.open();
    try {
      for (const chainId of [56, 97]) {
        const chain = records.filter((r) => r.chainId === chainId).sort((a, b) => compareKeys(a.contractName, b.contractName));
        const { file } = await store.replaceChain(chainId, chain);
        const name = file.slice(reference.length + 1);
        expect(await readFile(join(dir, 'deployments', name), 'utf8')).toBe(await readFile(file, 'utf8'));
      }
    } finally {
      await store.close();
    }
    expect(await writtenEntries(dir)).toEqual(await parsedFiles(dir));
  });
});

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
      // A digest no parse could give: seen in the baseline only if the writer's record is used.
      const fromWriter = async (): Promise<WrittenRecords> => {
        const known = new WrittenRecords(join(dir, '.deploystate', 'tmp'));
        const seen = await known.begin(file, 56);
        await seen.spill.add('LookCoin', 'from-the-writer', '7');
        await seen.spill.close();
        seen.placed();
        return known;
      };
      const known = await fromWriter();
      await moveBaseline(ctx, new Set([56]), known);
      await known.remove();
      const taken = Object.entries(await writtenEntries(dir)).filter(([key]) => key.startsWith('56-'));
      expect(taken).toEqual([['56-LookCoin', { seq: 0, op: 'put', digest: 'from-the-writer', timestamp: '7' }]]);

      const stale = await fromWriter();
      await appendFile(file, '\n');
      await moveBaseline(ctx, new Set([56]), stale);
      await stale.remove();
      const parsed = Object.entries(await parsedFiles(dir)).filter(([key]) => key.startsWith('56-'));
      expect(Object.entries(await writtenEntries(dir)).filter(([key]) => key.startsWith('56-'))).toEqual(parsed);
      expect(parsed.length).toBeGreaterThan(1);
    } finally {
      await journal.close();
    }
  });
});
