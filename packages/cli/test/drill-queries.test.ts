// drill cross-network looked every contract name up by query, each query reading every record (a
// store that keeps no file): minutes at 4,000 records (95 s), and it did not finish at 45,000. It now
// queries through a store that keeps the files it read, every name held on two or more chains (what a
// query across chains must keep apart) and a spread of the rest, at most MAX_QUERIED_NAMES.
import { describe, expect, it } from 'vitest';
import { MAX_QUERIED_NAMES, namesToQuery } from '../src/drill/cross-network.js';

const chains = (entries: Array<[string, number[]]>): Map<string, number[]> => new Map(entries);

describe('the names drill cross-network looks up by query', () => {
  it('are every name when there are few', () => {
    const few = chains([['Token', [56, 97]], ['Router', [56]], ['Vault', [97]]]);
    expect(namesToQuery(few)).toEqual(['Router', 'Token', 'Vault']);
  });

  it('are every name on two or more chains and a spread of the rest, at most the limit', () => {
    const many = new Map<string, number[]>();
    for (let i = 0; i < 45_000; i++) many.set(`B${String(i).padStart(5, '0')}`, [56]);
    for (const name of ['LookCoin', 'Router', 'SupplyOracle']) many.set(name, [56, 97, 84532]);
    const picked = namesToQuery(many);
    expect(picked).toHaveLength(MAX_QUERIED_NAMES);
    for (const name of ['LookCoin', 'Router', 'SupplyOracle']) expect(picked).toContain(name);
    // Spread over the key order, not the first names only.
    expect(picked).toContain('B00000');
    expect(picked.some((name) => name > 'B40000' && name.startsWith('B'))).toBe(true);
    expect(new Set(picked).size).toBe(picked.length);
  });
});
