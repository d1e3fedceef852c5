// updateDeploymentFile: the project's own scripts change the keys they own in a network file under
// the store's lock, losslessly, and never change `records`.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLossless, stringifyLossless } from '@deploystate/core';
import { updateDeploymentFile } from '../src/index.js';
import { rec, withStore, type StoreContext } from './helpers.js';

const BIG = 18446744073709551617n;
let ctx: StoreContext | undefined;
afterEach(async () => {
  await ctx?.done();
  ctx = undefined;
});

const fileDoc = async (dir: string): Promise<Record<string, unknown>> =>
  parseLossless(await readFile(join(dir, 'bscmainnet.json'), 'utf8')) as Record<string, unknown>;

describe('updateDeploymentFile', () => {
  it('writes what the callback set, exactly, and keeps records as the file holds them (big numbers too)', async () => {
    ctx = await withStore();
    await ctx.store.put(rec(56, 'Token', { deploymentArgs: [BIG] }));
    const before = await readFile(join(ctx.dir, 'bscmainnet.json'), 'utf8');
    const result = await updateDeploymentFile(
      'bscmainnet',
      (doc) => {
        doc.contracts = { Token: { proxy: '0x1', implementation: '0x2' } };
        doc.config = { fee: 123456789012345678901234567890n };
      },
      { dir: ctx.dir },
    );
    expect(result).toMatchObject({ changed: true, recordsIgnored: false });
    const after = await fileDoc(ctx.dir);
    expect(after.contracts).toEqual({ Token: { proxy: '0x1', implementation: '0x2' } });
    expect((after.config as { fee: bigint }).fee).toBe(123456789012345678901234567890n);
    expect(stringifyLossless(after.records)).toBe(stringifyLossless((parseLossless(before) as Record<string, unknown>).records));
    expect((await ctx.store.get(56, 'Token'))?.deploymentArgs).toEqual([BIG]);
  });

  it('a loaded-early object handed back whole: its stale records are not written, and the store’s record stays', async () => {
    ctx = await withStore();
    await ctx.store.put(rec(56, 'Old'));
    const early = JSON.parse(await readFile(join(ctx.dir, 'bscmainnet.json'), 'utf8')) as Record<string, unknown>;
    await ctx.store.put(rec(56, 'New', { deploymentArgs: [BIG] }));
    early.deployer = '0xdead';
    const result = await updateDeploymentFile('bscmainnet', () => early, { dir: ctx.dir });
    expect(result.recordsIgnored).toBe(true);
    const after = await fileDoc(ctx.dir);
    expect(after.deployer).toBe('0xdead');
    expect(Object.keys(after.records as object).sort()).toEqual(['New', 'Old']);
    expect((await ctx.store.get(56, 'New'))?.deploymentArgs).toEqual([BIG]);
  });

  it('interleaved with the store’s puts (same file, same lock), neither side loses a write', async () => {
    ctx = await withStore({ lockLeaseMs: 50 });
    await ctx.store.put(rec(56, 'Seed'));
    const store = ctx.store;
    const dir = ctx.dir;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => [
        store.put(rec(56, `C${i}`)),
        updateDeploymentFile(
          'bscmainnet',
          (doc) => {
            doc.contracts = { ...(doc.contracts as object), [`C${i}`]: { implementation: `0x${i}` } };
          },
          { dir },
        ),
      ]).flat(),
    );
    const after = await fileDoc(dir);
    const names = Array.from({ length: 8 }, (_, i) => `C${i}`);
    expect(Object.keys(after.records as object).sort()).toEqual(['Seed', ...names].sort());
    expect(Object.keys(after.contracts as object).sort()).toEqual(names);
  });

  it('creates a missing file with the callback’s keys, takes a chainId, and refuses a name that is a path', async () => {
    ctx = await withStore();
    await updateDeploymentFile(97, (doc) => ({ ...doc, network: 'bsctestnet', contracts: {} }), { dir: ctx.dir });
    expect(parseLossless(await readFile(join(ctx.dir, 'bsctestnet.json'), 'utf8'))).toEqual({ network: 'bsctestnet', contracts: {} });
    await expect(updateDeploymentFile('../outside', () => undefined, { dir: ctx.dir })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await writeFile(join(ctx.dir, 'bscmainnet.json'), '[1]\n');
    await expect(updateDeploymentFile('bscmainnet', () => undefined, { dir: ctx.dir })).rejects.toMatchObject({ code: 'CORRUPTED' });
    expect(await readFile(join(ctx.dir, 'bscmainnet.json'), 'utf8')).toBe('[1]\n');
  });

  // Before, -1, 1.5 and NaN made chain--1.json, chain-1.5.json and chain-NaN.json, and 'chain-56'
  // a second file for chain 56 beside bscmainnet.json (listed twice, read from one).
  it('refuses a chainId that is none, and names a chain only by the file the store writes it to', async () => {
    ctx = await withStore();
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(updateDeploymentFile(bad, () => undefined, { dir: ctx?.dir })).rejects.toMatchObject({ code: 'INVALID_KEY' });
    }
    await ctx.store.put(rec(56, 'Token'));
    await updateDeploymentFile('chain-56', (doc) => void (doc.config = { fee: 1 }), { dir: ctx.dir });
    await updateDeploymentFile('bscmainnet.json', (doc) => void (doc.owner = 'me'), { dir: ctx.dir });
    expect((await readdir(ctx.dir)).filter((name) => name.endsWith('.json'))).toEqual(['bscmainnet.json']);
    expect(await fileDoc(ctx.dir)).toMatchObject({ config: { fee: 1 }, owner: 'me' });
    expect(await ctx.store.get(56, 'Token')).toEqual(rec(56, 'Token'));

    // A chain still in chain-<id>.json (written before its name was registered) is updated there,
    // by its chainId or its registry name, as the store's next write would take it.
    await writeFile(join(ctx.dir, 'chain-97.json'), '{"mine": true}\n');
    await updateDeploymentFile(97, (doc) => void (doc.seen = 1), { dir: ctx.dir });
    await updateDeploymentFile('bsctestnet', (doc) => void (doc.seen = 2), { dir: ctx.dir });
    expect((await readdir(ctx.dir)).filter((name) => name.endsWith('.json')).sort()).toEqual(['bscmainnet.json', 'chain-97.json']);
    expect(parseLossless(await readFile(join(ctx.dir, 'chain-97.json'), 'utf8'))).toEqual({ mine: true, seen: 2 });
  });
});
