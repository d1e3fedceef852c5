import { describe, expect, it } from 'vitest';
import { DEFAULT_NETWORKS, defaultRegistry, ErrorCodes, NetworkRegistry } from '../src/index.js';

describe('network registry', () => {
  const registry = defaultRegistry();

  it('names every chain of the runbook canonically, with tier', () => {
    const expected: Array<[number, string, string]> = [
      [56, 'bscmainnet', 'mainnet'],
      [97, 'bsctestnet', 'testnet'],
      [84532, 'basesepolia', 'testnet'],
      [11155420, 'optimismsepolia', 'testnet'],
      [23295, 'sapphiretestnet', 'testnet'],
      [23294, 'sapphiremainnet', 'mainnet'],
      [8453, 'basemainnet', 'mainnet'],
      [10, 'optimismmainnet', 'mainnet'],
      [1, 'ethereum', 'mainnet'],
      [31337, 'hardhat', 'dev'],
    ];
    for (const [chainId, name, tier] of expected) {
      expect(registry.get(chainId)).toMatchObject({ chainId, name, tier, known: true });
      expect(registry.fileName(chainId)).toBe(`${name}.json`);
    }
    expect(registry.list().map((n) => n.chainId)).toEqual([...DEFAULT_NETWORKS].map((n) => n.chainId).sort((a, b) => a - b));
  });

  it('resolves aliases case-insensitively', () => {
    for (const [alias, chainId] of [
      ['bsc', 56],
      ['bscTestnet', 97],
      ['baseSepolia', 84532],
      ['opSepolia', 11155420],
      ['sapphireTestnet', 23295],
      ['BSCMAINNET', 56],
      ['localhost', 31337],
    ] as const) {
      expect(registry.chainIdOf(alias), alias).toBe(chainId);
    }
    expect(registry.chainIdOf('mars')).toBeUndefined();
    expect(registry.chainIdOf('chain-999')).toBe(999);
  });

  it('gives an unregistered chain a working name: chain-<id>', () => {
    expect(registry.get(424242)).toEqual({ chainId: 424242, name: 'chain-424242', aliases: [], tier: 'testnet', known: false });
    expect(registry.isKnown(424242)).toBe(false);
    expect(registry.fileName(424242)).toBe('chain-424242.json');
    expect(registry.get(1337).tier).toBe('dev');
  });

  it('maps state file names to chains, and nothing else', () => {
    expect(registry.chainIdOfFile('bscmainnet.json')).toBe(56);
    expect(registry.chainIdOfFile('chain-424242.json')).toBe(424242);
    expect(registry.chainIdOfFile('bsc.json')).toBeUndefined();
    expect(registry.chainIdOfFile('bscmainnet.config.json')).toBeUndefined();
    expect(registry.chainIdOfFile('bscmainnet.txt')).toBeUndefined();
    expect(registry.chainIdOfFile('mars.json')).toBeUndefined();
  });

  it('lets users add and replace chains', () => {
    const mine = new NetworkRegistry().register({ chainId: 424242, name: 'mychain', aliases: ['myChain', 'mc'], tier: 'testnet' });
    expect(mine.get(424242)).toMatchObject({ name: 'mychain', aliases: ['myChain', 'mc'], known: true });
    expect(mine.chainIdOf('MC')).toBe(424242);
    expect(mine.chainIdOfFile('mychain.json')).toBe(424242);
    mine.register({ chainId: 424242, name: 'renamed', tier: 'mainnet' });
    expect(mine.get(424242).name).toBe('renamed');
    expect(mine.chainIdOf('mc')).toBeUndefined();
    expect(new NetworkRegistry([], { catalog: false }).isKnown(56)).toBe(false);
  });

  it('names every chain the maintained catalog knows, mainnet and testnet right; chain-<id> only for chains nobody knows', () => {
    expect(registry.get(137)).toMatchObject({ name: 'polygon', tier: 'mainnet', known: true });
    expect(registry.get(42161)).toMatchObject({ name: 'arbitrum', tier: 'mainnet', known: true });
    expect(registry.get(11155111)).toMatchObject({ name: 'sepolia', tier: 'testnet', known: true });
    expect(registry.fileName(137)).toBe('polygon.json');
    expect(registry.chainIdOfFile('polygon.json')).toBe(137);
    expect(registry.chainIdOf('Sepolia')).toBe(11155111);
    // Registered chains keep their names; a catalog name another chain already uses is not taken.
    expect(registry.get(56).name).toBe('bscmainnet');
    expect(registry.get(1337)).toMatchObject({ name: 'chain-1337', tier: 'dev', known: false });
    expect(registry.get(424242).name).toBe('chain-424242');
    // The project's config comes before the catalog.
    const mine = new NetworkRegistry().register({ chainId: 137, name: 'matic', tier: 'mainnet' });
    expect(mine.fileName(137)).toBe('matic.json');
    expect(mine.chainIdOf('polygon')).toBeUndefined();
  });

  it('hands out copies, so a caller cannot change the registry', () => {
    const info = registry.get(56);
    info.aliases.push('hijack');
    expect(registry.chainIdOf('hijack')).toBeUndefined();
    expect(registry.get(56).aliases).not.toContain('hijack');
  });

  it('refuses conflicting or malformed definitions with INVALID_CONFIG', () => {
    const bad = [
      { chainId: 999, name: 'bscmainnet', tier: 'testnet' },
      { chainId: 999, name: 'fresh', aliases: ['bsc'], tier: 'testnet' },
      { chainId: 999, name: 'fresh', aliases: ['BSC'], tier: 'testnet' },
      { chainId: 999, name: 'Upper', tier: 'testnet' },
      { chainId: 999, name: 'chain-5', tier: 'testnet' },
      { chainId: 999, name: '../evil', tier: 'testnet' },
      { chainId: -1, name: 'neg', tier: 'testnet' },
      { chainId: 1.5, name: 'frac', tier: 'testnet' },
      { chainId: 999, name: 'fresh', tier: 'staging' },
    ] as const;
    for (const definition of bad) {
      expect(() => new NetworkRegistry().register(definition as never), JSON.stringify(definition)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
      );
    }
  });
});
