// A store whose chain's file is renamed under it (rename-network) follows the rename through its
// chainRenamed option: before, a running deploy script read the chain as empty (and deployed its
// contracts again) and wrote a second file under the old name.
import { existsSync } from 'node:fs';
import { link, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkRegistry } from '@deploystate/core';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();

/** A registry, and a chainRenamed that renames chain 56 to `bnb` once the test says the project did. */
function renamable(): { registry: NetworkRegistry; rename: () => void; chainRenamed: (chainId?: number) => boolean; asked: number[] } {
  const registry = new NetworkRegistry();
  let pending = false;
  const asked: number[] = [];
  return {
    registry,
    asked,
    rename: () => void (pending = true),
    chainRenamed: (chainId) => {
      asked.push(chainId ?? -1);
      if (!pending) return false;
      pending = false;
      registry.register({ chainId: 56, name: 'bnb', aliases: ['bscmainnet'], tier: 'mainnet' });
      return chainId === undefined || chainId === 56;
    },
  };
}

describe('a chain file renamed under a running store', () => {
  for (const first of ['get', 'put', 'list every chain'] as const) {
    it(`is followed by the first ${first} after it: nothing read as empty, no second file`, async () => {
      const follow = renamable();
      const { dir, open } = await setup();
      const store = await open({ registry: follow.registry, chainRenamed: follow.chainRenamed });
      await store.put(rec(56, 'Token'));
      expect(await store.get(56, 'Token')).toEqual(rec(56, 'Token'));
      // As rename-network does it: the new name linked, the config told, the old name removed.
      await link(join(dir, 'bscmainnet.json'), join(dir, 'bnb.json'));
      follow.rename();
      await unlink(join(dir, 'bscmainnet.json'));
      if (first === 'get') expect(await store.get(56, 'Token')).toEqual(rec(56, 'Token'));
      if (first === 'put') await store.put(rec(56, 'After'));
      if (first === 'list every chain') expect((await store.listStateFiles()).map((f) => f.file)).toEqual([join(dir, 'bnb.json')]);
      await store.put(rec(56, 'Later'));
      expect(existsSync(join(dir, 'bscmainnet.json'))).toBe(false);
      const fresh = await open({ registry: follow.registry });
      expect((await fresh.list(56)).map((r) => r.contractName).sort()).toEqual([...(first === 'put' ? ['After'] : []), 'Later', 'Token']);
    });
  }

  it('is followed once a load: a hook that always says renamed cannot loop', async () => {
    const { open } = await setup();
    let asked = 0;
    const store = await open({ chainRenamed: () => (asked++, true) });
    expect(await store.get(97, 'Nothing')).toBeNull();
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThan(5);
  });

  it('is not asked while the file is where the registry says', async () => {
    const follow = renamable();
    const { open } = await setup();
    const store = await open({ registry: follow.registry, chainRenamed: follow.chainRenamed });
    await store.put(rec(56, 'Token'));
    follow.asked.length = 0;
    for (let i = 0; i < 5; i++) await store.get(56, 'Token');
    await store.put(rec(56, 'Again'));
    expect(follow.asked).toEqual([]);
  });
});
