// The network registry: chainId -> canonical network name, its file, known aliases and tier.
// Registered chains (the defaults, then the project's config) come first; a chain nobody
// registered takes its name and tier from the maintained chain catalog (generated from viem's
// chain definitions); only a chain nobody knows works under `chain-<id>`.
import { CHAIN_CATALOG } from './chain-catalog.js';
import { ErrorCodes, StateError } from './errors.js';

export type NetworkTier = 'mainnet' | 'testnet' | 'dev';

export interface NetworkInfo {
  chainId: number;
  /** Canonical name; also the state file's base name. */
  name: string;
  aliases: string[];
  tier: NetworkTier;
  /** False for chains nobody registered (named `chain-<id>`). */
  known: boolean;
}

export interface NetworkDefinition {
  chainId: number;
  name: string;
  aliases?: string[];
  tier: NetworkTier;
}

export const DEFAULT_NETWORKS: readonly NetworkDefinition[] = [
  { chainId: 1, name: 'ethereum', aliases: ['mainnet', 'eth', 'ethereummainnet'], tier: 'mainnet' },
  { chainId: 10, name: 'optimismmainnet', aliases: ['optimism', 'op', 'opMainnet'], tier: 'mainnet' },
  { chainId: 56, name: 'bscmainnet', aliases: ['bsc', 'bscMainnet', 'bnb', 'binance'], tier: 'mainnet' },
  { chainId: 97, name: 'bsctestnet', aliases: ['bscTestnet', 'bsc-testnet', 'chapel'], tier: 'testnet' },
  { chainId: 8453, name: 'basemainnet', aliases: ['base', 'baseMainnet'], tier: 'mainnet' },
  { chainId: 84532, name: 'basesepolia', aliases: ['baseSepolia', 'base-sepolia'], tier: 'testnet' },
  { chainId: 11155420, name: 'optimismsepolia', aliases: ['optimismSepolia', 'opSepolia', 'op-sepolia'], tier: 'testnet' },
  { chainId: 23294, name: 'sapphiremainnet', aliases: ['sapphire', 'sapphireMainnet'], tier: 'mainnet' },
  { chainId: 23295, name: 'sapphiretestnet', aliases: ['sapphireTestnet', 'sapphire-testnet'], tier: 'testnet' },
  { chainId: 31337, name: 'hardhat', aliases: ['localhost', 'hardhatNetwork'], tier: 'dev' },
];

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const UNKNOWN_PREFIX = 'chain-';

const isDevChainId = (chainId: number): boolean => chainId === 31337 || chainId === 1337;

/** The catalog by chainId and by name, built once. */
const catalog = {
  byChain: new Map(CHAIN_CATALOG.map(([chainId, name, testnet]) => [chainId, { name, testnet: testnet === 1 }])),
  byName: new Map(CHAIN_CATALOG.map(([chainId, name]) => [name, chainId])),
};

/** Why `name` cannot name a network (its state file is `<name>.json`), or undefined when it can. */
export function networkNameProblem(name: string): string | undefined {
  return NAME_PATTERN.test(name) && !name.startsWith(UNKNOWN_PREFIX)
    ? undefined
    : `network name ${JSON.stringify(name)} must be lower case letters, digits, '-' or '_' and not start with "${UNKNOWN_PREFIX}"`;
}

export class NetworkRegistry {
  private readonly byChain = new Map<number, NetworkInfo>();
  private readonly byName = new Map<string, number>();

  private readonly useCatalog: boolean;

  /** `catalog: false` leaves out the maintained chain catalog: only registered chains are known. */
  constructor(definitions: readonly NetworkDefinition[] = DEFAULT_NETWORKS, options: { catalog?: boolean } = {}) {
    this.useCatalog = options.catalog ?? true;
    for (const definition of definitions) this.register(definition);
  }

  /** Adds or replaces a chain. Names must be safe file names; an alias may name one chain only. */
  register(definition: NetworkDefinition): this {
    const { chainId, name, tier } = definition;
    if (!Number.isSafeInteger(chainId) || chainId < 0)
      throw new StateError(ErrorCodes.INVALID_CONFIG, `network ${name}: chainId must be a non-negative integer`);
    const problem = networkNameProblem(name);
    if (problem !== undefined) throw new StateError(ErrorCodes.INVALID_CONFIG, problem);
    if (!['mainnet', 'testnet', 'dev'].includes(tier))
      throw new StateError(ErrorCodes.INVALID_CONFIG, `network ${name}: tier must be mainnet, testnet or dev`);
    const aliases = [...new Set((definition.aliases ?? []).filter((a) => a !== name))];
    for (const label of [name, ...aliases]) {
      const owner = this.byName.get(label.toLowerCase());
      if (owner !== undefined && owner !== chainId) {
        throw new StateError(ErrorCodes.INVALID_CONFIG, `network name ${JSON.stringify(label)} already belongs to chain ${owner}`);
      }
    }
    const previous = this.byChain.get(chainId);
    if (previous) for (const label of [previous.name, ...previous.aliases]) this.byName.delete(label.toLowerCase());
    this.byChain.set(chainId, { chainId, name, aliases, tier, known: true });
    for (const label of [name, ...aliases]) this.byName.set(label.toLowerCase(), chainId);
    return this;
  }

  get(chainId: number): NetworkInfo {
    const info = this.byChain.get(chainId);
    if (info) return { ...info, aliases: [...info.aliases] };
    const listed = this.catalogName(chainId);
    if (listed !== undefined) {
      const testnet = catalog.byChain.get(chainId)?.testnet === true;
      return { chainId, name: listed, aliases: [], tier: isDevChainId(chainId) ? 'dev' : testnet ? 'testnet' : 'mainnet', known: true };
    }
    return {
      chainId,
      name: `${UNKNOWN_PREFIX}${chainId}`,
      aliases: [],
      tier: isDevChainId(chainId) ? 'dev' : 'testnet',
      known: false,
    };
  }

  isKnown(chainId: number): boolean {
    return this.byChain.has(chainId) || this.catalogName(chainId) !== undefined;
  }

  /** The catalog's name for a chain nobody registered, unless a registered chain already uses that name. */
  private catalogName(chainId: number): string | undefined {
    if (!this.useCatalog || this.byChain.has(chainId)) return undefined;
    const name = catalog.byChain.get(chainId)?.name;
    if (name === undefined) return undefined;
    const owner = this.byName.get(name);
    return owner === undefined || owner === chainId ? name : undefined;
  }

  /** The state file for a chain, relative to the deployments folder. */
  fileName(chainId: number): string {
    // Asked on every read of a JSON store: a registered chain's name without copying its info.
    return `${this.byChain.get(chainId)?.name ?? this.get(chainId).name}.json`;
  }

  /** The chainId a name or alias (case-insensitive), or a `chain-<id>` name, belongs to. */
  chainIdOf(networkName: string): number | undefined {
    const known = this.byName.get(networkName.toLowerCase());
    if (known !== undefined) return known;
    const listed = catalog.byName.get(networkName.toLowerCase());
    if (listed !== undefined && this.catalogName(listed) === networkName.toLowerCase()) return listed;
    const match = /^chain-(0|[1-9][0-9]{0,15})$/.exec(networkName);
    return match ? Number(match[1]) : undefined;
  }

  /** The chainId whose state file this is (`bscmainnet.json`, `chain-999.json`), if any. */
  chainIdOfFile(fileName: string): number | undefined {
    if (!fileName.endsWith('.json')) return undefined;
    const base = fileName.slice(0, -5);
    const chainId = this.chainIdOf(base);
    if (chainId === undefined) return undefined;
    const canonical = this.get(chainId).name;
    return base === canonical || base === `${UNKNOWN_PREFIX}${chainId}` ? chainId : undefined;
  }

  list(): NetworkInfo[] {
    return [...this.byChain.values()].sort((a, b) => a.chainId - b.chainId).map((info) => ({ ...info, aliases: [...info.aliases] }));
  }
}

export const defaultRegistry = (): NetworkRegistry => new NetworkRegistry();

export { CHAIN_CATALOG, CHAIN_CATALOG_SOURCE } from './chain-catalog.js';
