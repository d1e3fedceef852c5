// The record-wise three-way merge of one state file (git's merge driver calls it): clean merges
// keep every side's work exactly, a true conflict keeps both whole versions in a file that still
// parses, and no merged record is ever one that neither side wrote.
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalEncode, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { JSON_ONLY_STAMP, JsonFileStore, mergeStateFiles, readConflicts, resolveConflicts } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();
const FILE = 'deployments/bscmainnet.json';

/** The text the store writes for a chain-56 file holding exactly these records (and these legacy keys). */
async function storeText(records: DeploymentRecord[], legacy?: Record<string, unknown>): Promise<string> {
  const { dir, store } = await setup();
  if (legacy) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'bscmainnet.json'), `${stringifyLossless(legacy, 2)}\n`);
    await store.close();
    const reopened = new JsonFileStore({ dir });
    await reopened.open();
    for (const r of records) await reopened.put(r);
    await reopened.close();
  } else {
    for (const r of records) await store.put(r);
  }
  return readFile(join(dir, 'bscmainnet.json'), 'utf8');
}

const records = (text: string): Record<string, unknown> => (parseLossless(text) as { records: Record<string, unknown> }).records;

describe('mergeStateFiles', () => {
  // Two branches past different cut-overs each mark the file with their own: the merge holds the
  // json-only writes of both, so it keeps the later mark, never a conflict on it.
  it('keeps the later of two json-only cut-over marks', async () => {
    const token = rec(56, 'Token');
    const marked = async (cutover: number, extra: DeploymentRecord[]): Promise<string> => {
      const { dir, store } = await setup({ fileFields: () => ({ [JSON_ONLY_STAMP]: cutover }) });
      for (const r of [token, ...extra]) await store.put(r);
      return readFile(join(dir, 'bscmainnet.json'), 'utf8');
    };
    const base = await storeText([token]);
    const ours = await marked(1, [rec(56, 'Ours')]);
    const theirs = await marked(2, [rec(56, 'Theirs')]);
    for (const [a, b] of [[ours, theirs], [theirs, ours]] as const) {
      const result = mergeStateFiles({ base, ours: a, theirs: b }, { file: FILE });
      expect(result.conflicts).toEqual([]);
      expect((parseLossless(result.text) as Record<string, unknown>)[JSON_ONLY_STAMP]).toBe(2);
      expect(Object.keys(records(result.text))).toEqual(['Ours', 'Theirs', 'Token']);
    }
  });

  it('two branches adding different contracts merge cleanly, both records exact, in the store format', async () => {
    const token = rec(56, 'Token');
    const vaultA = rec(56, 'NewVaultA', { address: '0x' + 'aa'.repeat(20), deploymentArgs: [2n ** 70n + 1n] });
    const vaultB = rec(56, 'NewVaultB', { address: '0x' + 'bb'.repeat(20), timestamp: 10n ** 20n });
    const base = await storeText([token]);
    const ours = await storeText([token, vaultA]);
    const theirs = await storeText([token, vaultB]);
    const result = mergeStateFiles({ base, ours, theirs }, { file: FILE });
    expect(result.conflicts).toEqual([]);
    expect(result.text).toBe(await storeText([token, vaultA, vaultB]));
    expect(records(result.text).NewVaultA).toEqual(vaultA);
    expect(records(result.text).NewVaultB).toEqual(vaultB);
    // The same merge the other way round gives the same bytes.
    expect(mergeStateFiles({ base, ours: theirs, theirs: ours }, { file: FILE }).text).toBe(result.text);
  });

  it('two branches changing different fields of one record merge by field', async () => {
    const base = rec(56, 'Vault', { proxyAddress: '0x' + '11'.repeat(20) });
    const ours = { ...base, deploymentArgs: ['ours'] };
    const theirs = { ...base, verified: true };
    const result = mergeStateFiles(
      { base: await storeText([base]), ours: await storeText([ours]), theirs: await storeText([theirs]) },
      { file: FILE },
    );
    expect(result.conflicts).toEqual([]);
    expect(result.records.mergedByField).toEqual(['Vault']);
    expect(records(result.text).Vault).toEqual({ ...base, deploymentArgs: ['ours'], verified: true });
  });

  it('two branches upgrading one contract differently stop with a conflict that keeps both whole versions', async () => {
    const base = rec(56, 'Vault');
    const ours = { ...base, address: '0x' + 'aa'.repeat(20), timestamp: Number(base.timestamp) + 1 };
    const theirs = { ...base, address: '0x' + 'bb'.repeat(20), timestamp: Number(base.timestamp) + 2 };
    const result = mergeStateFiles(
      { base: await storeText([base]), ours: await storeText([ours]), theirs: await storeText([theirs]) },
      { file: FILE },
    );
    expect(result.records.conflicting).toEqual(['Vault']);
    expect(readConflicts(result.text, FILE)).toEqual([{ section: 'records', name: 'Vault', base, ours, theirs }]);
    // The file still parses; the store refuses it until the conflict is resolved.
    expect(records(result.text).Vault).toEqual(ours);
    const { dir } = await setup();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'bscmainnet.json'), result.text);
    const store = new JsonFileStore({ dir });
    await store.open();
    await expect(store.get(56, 'Vault')).rejects.toMatchObject({ code: 'CORRUPTED' });
    // Named as an unfinished merge (to be finished, not repaired), with git's line markers too.
    const file = join(dir, 'bscmainnet.json');
    expect((await store.checkIntegrity()).findings.filter((f) => f.file === file).map((f) => f.code)).toEqual(['MERGE_CONFLICT']);
    await writeFile(file, `<<<<<<< ours\n${await storeText([ours])}=======\n${await storeText([theirs])}>>>>>>> theirs\n`);
    expect((await store.checkIntegrity()).findings.filter((f) => f.file === file).map((f) => f.code)).toEqual(['MERGE_CONFLICT']);
    await store.close();

    const resolved = resolveConflicts(result.text, { file: FILE, picks: new Map([['Vault', 'theirs']]) });
    expect(resolved.open).toEqual([]);
    expect(resolved.text).toBe(await storeText([theirs]));
  });

  it('a record deleted on one side and changed on the other is a conflict; deleted on one, untouched on the other, is deleted', async () => {
    const vault = rec(56, 'Vault');
    const token = rec(56, 'Token');
    const base = await storeText([token, vault]);
    const ours = await storeText([token]);
    const theirs = await storeText([token, { ...vault, address: '0x' + 'cc'.repeat(20) }]);
    const conflict = mergeStateFiles({ base, ours, theirs }, { file: FILE });
    expect(readConflicts(conflict.text, FILE)).toEqual([
      { section: 'records', name: 'Vault', base: vault, theirs: { ...vault, address: '0x' + 'cc'.repeat(20) } },
    ]);
    const clean = mergeStateFiles({ base, ours, theirs: base }, { file: FILE });
    expect(clean.conflicts).toEqual([]);
    expect(Object.keys(records(clean.text))).toEqual(['Token']);
  });

  it('legacy keys merge by the same rules and are never lost; contracts entries merge by name', async () => {
    const legacy = {
      network: 'bscmainnet',
      chainId: 56,
      deployer: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
      contracts: {
        Token: { proxy: '0x' + '01'.repeat(20), implementation: '0x' + '02'.repeat(20) },
        Old: { implementation: '0x' + '03'.repeat(20) },
      },
      config: { fee: 1 },
    };
    const base = await storeText([], legacy);
    const ours = await storeText([], {
      ...legacy,
      config: { fee: 2 },
      contracts: { ...legacy.contracts, Old: { implementation: '0x' + '04'.repeat(20) } },
    });
    const theirs = await storeText([], {
      ...legacy,
      extra: [1, 2n ** 64n],
      contracts: { ...legacy.contracts, Token: { proxy: '0x' + '01'.repeat(20), implementation: '0x' + '05'.repeat(20) } },
    });
    const merged = parseLossless(mergeStateFiles({ base, ours, theirs }, { file: FILE }).text) as Record<string, unknown>;
    expect(merged.config).toEqual({ fee: 2 });
    expect(merged.extra).toEqual([1, 2n ** 64n]);
    expect(merged.deployer).toBe(legacy.deployer);
    expect(merged.contracts).toEqual({
      Token: { proxy: '0x' + '01'.repeat(20), implementation: '0x' + '05'.repeat(20) },
      Old: { implementation: '0x' + '04'.repeat(20) },
    });
    const both = mergeStateFiles({ base, ours, theirs: await storeText([], { ...legacy, config: { fee: 3 } }) }, { file: FILE });
    expect(both.conflicts).toEqual([{ section: 'keys', name: 'config', base: { fee: 1 }, ours: { fee: 2 }, theirs: { fee: 3 } }]);
  });

  it('never yields a record that neither side wrote: each merged record, or each of its fields, is ours or theirs', () => {
    const variant = (name: string) =>
      fc.option(
        fc
          .record({
            address: fc.constantFrom('0x' + '11'.repeat(20), '0x' + '22'.repeat(20)),
            timestamp: fc.constantFrom(1, 2),
            note: fc.constantFrom('a', 'b'),
          })
          .map((v) => rec(56, name, { address: v.address, timestamp: v.timestamp, note: v.note } as Partial<DeploymentRecord>)),
        { nil: undefined },
      );
    const side = fc.tuple(variant('A'), variant('B'));
    const text = (recs: Array<DeploymentRecord | undefined>): string =>
      `${JSON.stringify({ schemaVersion: 1, network: 'bscmainnet', chainId: 56, records: Object.fromEntries(recs.filter((r) => r).map((r) => [r!.contractName, r])) })}\n`;
    fc.assert(
      fc.property(side, side, side, (b, o, t) => {
        const result = mergeStateFiles({ base: text(b), ours: text(o), theirs: text(t) }, { file: FILE });
        const merged = records(result.text);
        ['A', 'B'].forEach((name, i) => {
          const value = merged[name] as Record<string, unknown> | undefined;
          const [ov, tv] = [o[i], t[i]] as Array<Record<string, unknown> | undefined>;
          if (value === undefined) return;
          if (result.records.mergedByField.includes(name)) {
            for (const field of Object.keys(value))
              expect([ov?.[field], tv?.[field]].map((x) => canonicalEncode(x ?? null))).toContain(canonicalEncode(value[field]));
          } else {
            expect([ov, tv].map((x) => (x ? canonicalEncode(x) : ''))).toContain(canonicalEncode(value));
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
