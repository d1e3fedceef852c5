// Verify writes the co-owned files baseline (written.json) again only when its check changed it:
// a write folded from the journal, or a key moved out as changed elsewhere. A verify that changed
// nothing leaves the file as it was (at 100k records its rewrite is a large part of a verify).
import { stat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareKeys, NetworkRegistry, parseKey, parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';
import { writtenEntries, writtenPath } from './written-helpers.js';

const tempDir = useTempDir('migrator-verify-baseline-');

async function identity(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.ino}:${s.mtimeNs}:${s.ctimeNs}`;
}

describe('verify and the co-owned files baseline', () => {
  it('leaves written.json as it was when nothing was folded, and writes it when a journalled put is', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    try {
      expect((await migration.verify()).clean).toBe(true);
      const file = writtenPath(dir);
      const [before, text] = [await identity(file), await readFile(file, 'utf8')];
      expect((await migration.verify()).clean).toBe(true);
      expect(await identity(file)).toBe(before);
      expect(await readFile(file, 'utf8')).toBe(text);

      // A put through the factory is journalled: the next verify folds it into the baseline.
      const store = createStateStore({ cwd: dir, env: {} });
      try {
        await store.put(sampleRecord(56, 'AfterCopy', 'bscmainnet'));
      } finally {
        await store.close();
      }
      expect((await writtenEntries(dir))['56-AfterCopy']).toBeUndefined();
      expect((await migration.verify()).clean).toBe(true);
      expect(await identity(file)).not.toBe(before);
      expect((await writtenEntries(dir))['56-AfterCopy']?.seq).toBeGreaterThan(0);
    } finally {
      await migration.close();
    }
  });

  it("checks every chain's records where the baseline lists a chain's keys in more than one run", async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    try {
      // The keys ordered by contract name, so the chains take turns (a baseline folded over time lists them so).
      const file = writtenPath(dir);
      const baseline = JSON.parse(await readFile(file, 'utf8')) as { written: Record<string, unknown> };
      const byName = (a: string, b: string): number => compareKeys(parseKey(a).contractName, parseKey(b).contractName) || compareKeys(a, b);
      const keys = Object.keys(baseline.written).sort(byName);
      const chains = [...new Set(keys.map((key) => parseKey(key).chainId))];
      expect(chains.length).toBeGreaterThan(1);
      baseline.written = Object.fromEntries(keys.map((key) => [key, baseline.written[key]]));
      await writeFile(file, JSON.stringify(baseline));
      // In each chain, the record its last key names, past the other chains' runs, changed in its file.
      const changed = chains.map((chainId) => keys.filter((key) => parseKey(key).chainId === chainId).at(-1) as string);
      const registry = new NetworkRegistry();
      for (const key of changed) {
        const { chainId, contractName } = parseKey(key);
        const network = join(dir, 'deployments', registry.fileName(chainId));
        const doc = parseLossless(await readFile(network, 'utf8')) as { records: Record<string, Record<string, unknown>> };
        (doc.records[contractName] as Record<string, unknown>).address = `0x${'ab'.repeat(20)}`;
        await writeFile(network, `${stringifyLossless(doc, 2)}\n`);
      }
      const verify = await migration.verify();
      expect(verify.files?.findings.map((f) => [f.key, f.kind])).toEqual(changed.sort().map((key) => [key, 'changed']));
      expect(verify.files?.checked).toBe(keys.length);
    } finally {
      await migration.close();
    }
  });
});
