// Sample deployment state: the production-shaped sample that `demo` builds (five chains, 26
// contracts plus 2 dev-chain junk records, aliases, qualified names, big numbers) and a generator
// for benches.
import type { DeploymentRecord } from './record.js';
import { NetworkRegistry } from './registry.js';

const HEX = '0123456789abcdef';

/** A deterministic pseudo-random hex string of `length` digits from a seed text. */
export function seededHex(seed: string, length: number): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  let out = '';
  for (let i = 0; i < length; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ Math.imul(h ^ (h >>> 13), 3266489909);
    out += HEX[(h >>> 0) % 16];
  }
  return out;
}

export function sampleRecord(chainId: number, contractName: string, networkName: string, index = 0): DeploymentRecord {
  const seed = `${chainId}-${contractName}`;
  return {
    contractName,
    chainId,
    networkName,
    address: `0x${seededHex(`${seed}/impl`, 40)}`,
    proxyAddress: `0x${seededHex(`${seed}/proxy`, 40)}`,
    implementationHash: `0x${seededHex(`${seed}/implhash`, 64)}`,
    factoryByteCodeHash: `0x${seededHex(`${seed}/factory`, 64)}`,
    deploymentArgs: [`0x${seededHex(`${seed}/owner`, 40)}`, '1000000000000000000000000', 18],
    timestamp: 1_723_000_000_000 + index * 60_000,
  };
}

const PRODUCTION_LAYOUT: Array<{ chainId: number; names: string[]; networkNames: string[] }> = [
  {
    chainId: 56,
    networkNames: ['bscmainnet', 'bsc'],
    names: [
      'LookCoin',
      'CelerIMModule',
      'LayerZeroModule',
      'SupplyOracle',
      'CrossChainRouter',
      'FeeManager',
      'SecurityManager',
      'ProtocolRegistry',
    ],
  },
  {
    chainId: 97,
    networkNames: ['bsctestnet', 'bscTestnet'],
    names: [
      'LookCoin',
      'CelerIMModule',
      'LayerZeroModule',
      'HyperlaneModule',
      'SupplyOracle',
      'contracts/xchain/CrossChainRouter.sol:CrossChainRouter',
      'FeeManager',
      'SecurityManager',
      'ProtocolRegistry',
    ],
  },
  { chainId: 84532, networkNames: ['basesepolia', 'baseSepolia'], names: ['LookCoin', 'LayerZeroModule', 'SupplyOracle'] },
  { chainId: 11155420, networkNames: ['optimismsepolia', 'opSepolia'], names: ['LookCoin', 'LayerZeroModule', 'SupplyOracle'] },
  { chainId: 23295, networkNames: ['sapphiretestnet', 'sapphireTestnet'], names: ['LookCoin', 'CelerIMModule', 'SupplyOracle'] },
];

/**
 * The production-shaped sample: 26 contracts on five chains (8, 9, 3, 3, 3, the runbook's table;
 * with the two `devJunk` records that makes the runbook's total of 28) with network-name
 * aliases, a fully qualified name, big-integer arguments (as strings and as bare bigint
 * literals), a big timestamp, unknown extra fields; plus `devJunk` records on chain 31337 with
 * invalid addresses and empty hashes.
 */
export function productionSample(): { records: DeploymentRecord[]; devJunk: DeploymentRecord[] } {
  const records: DeploymentRecord[] = [];
  let index = 0;
  for (const chain of PRODUCTION_LAYOUT) {
    chain.names.forEach((name, i) => {
      const networkName = chain.networkNames[i % 3 === 2 ? 1 : 0] as string;
      const record = sampleRecord(chain.chainId, name, networkName, index++);
      if (name === 'LookCoin') {
        record.deploymentArgs = [
          'LookCoin',
          'LOOK',
          18446744073709551617n,
          '115792089237316195423570985008687907853269984665640564039457584007913129639935',
          -9007199254740993n,
        ];
      }
      if (name === 'SupplyOracle') {
        record.deploymentArgs = [{ reconciliationInterval: 900, tolerance: '1000000000000000000000', signers: 3 }];
        record.protocolConfig = { layerZero: { eid: 30102 + i }, constructorArgsNote: 'kept as-is' };
      }
      if (name === 'FeeManager') delete record.implementationHash;
      if (name === 'SecurityManager') delete record.deploymentArgs;
      records.push(record);
    });
  }
  const devJunk: DeploymentRecord[] = [
    {
      contractName: 'LookCoin',
      chainId: 31337,
      networkName: 'hardhat',
      address: '0xdeadbeef',
      factoryByteCodeHash: '',
      timestamp: 1_700_000_000_000,
    },
    {
      contractName: 'TestToken',
      chainId: 31337,
      networkName: 'localhost',
      address: '',
      factoryByteCodeHash: '',
      implementationHash: '',
      timestamp: 1_700_000_000_001,
      deploymentArgs: [],
    },
  ];
  return { records, devJunk };
}

/** `count` records spread over `chains`, deterministic, for benches and load tests. */
export function generateRecords(count: number, chains: readonly number[] = [56, 97, 84532, 11155420, 23295]): DeploymentRecord[] {
  const registry = new NetworkRegistry();
  const out: DeploymentRecord[] = [];
  for (let i = 0; i < count; i++) {
    const chainId = chains[i % chains.length] as number;
    out.push(sampleRecord(chainId, `Contract${String(i).padStart(6, '0')}`, registry.get(chainId).name, i));
  }
  return out;
}
