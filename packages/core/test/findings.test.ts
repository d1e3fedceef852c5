import { describe, expect, it } from 'vitest';
import {
  addressProblem,
  countBySeverity,
  finding,
  FindingCodes,
  NetworkRegistry,
  numericFindings,
  recordFindings,
  sampleRecord,
  toChecksumAddress,
  type DeploymentRecord,
  type FindingCode,
} from '../src/index.js';

// The EIP-55 reference vector.
const CHECKSUMMED = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const HASH = `0x${'ab'.repeat(32)}`;

function clean(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    contractName: 'Token',
    chainId: 56,
    networkName: 'bscmainnet',
    address: CHECKSUMMED,
    proxyAddress: CHECKSUMMED.toLowerCase(),
    implementationHash: HASH,
    factoryByteCodeHash: HASH,
    deploymentArgs: [18, '1000'],
    timestamp: 1_723_000_000_000,
    ...overrides,
  };
}

const codes = (record: DeploymentRecord, key?: string): FindingCode[] =>
  recordFindings(record, key === undefined ? {} : { key })
    .map((f) => f.code)
    .sort();

describe('findings', () => {
  it('finds nothing on a clean record', () => {
    expect(recordFindings(clean())).toEqual([]);
  });

  it('checks EIP-55: the checksummed, all-lower and all-upper forms pass, a flipped case fails', () => {
    expect(toChecksumAddress(CHECKSUMMED.toLowerCase())).toBe(CHECKSUMMED);
    expect(addressProblem(CHECKSUMMED)).toBeNull();
    expect(addressProblem(CHECKSUMMED.toLowerCase())).toBeNull();
    expect(addressProblem(`0x${CHECKSUMMED.slice(2).toUpperCase()}`)).toBeNull();
    const flipped = CHECKSUMMED.replace('aA', 'Aa');
    expect(addressProblem(flipped)).toBe('ADDRESS_CHECKSUM');
    expect(codes(clean({ address: flipped }))).toEqual(['ADDRESS_CHECKSUM']);
    expect(codes(clean({ proxyAddress: flipped }))).toEqual(['ADDRESS_CHECKSUM']);
  });

  it('reports each problem with its code, field and severity', () => {
    const cases: Array<[Partial<DeploymentRecord>, FindingCode, string]> = [
      [{ address: '0xdead' }, 'INVALID_ADDRESS', 'address'],
      [{ address: '' }, 'INVALID_ADDRESS', 'address'],
      [{ proxyAddress: `0x${'g'.repeat(40)}` }, 'INVALID_ADDRESS', 'proxyAddress'],
      [{ factoryByteCodeHash: '0x1234' }, 'INVALID_HASH', 'factoryByteCodeHash'],
      [{ implementationHash: 'abc' }, 'INVALID_HASH', 'implementationHash'],
      [{ factoryByteCodeHash: '' }, 'EMPTY_HASH', 'factoryByteCodeHash'],
      [{ implementationHash: null }, 'MISSING_IMPLEMENTATION_HASH', 'implementationHash'],
      [{ networkName: 'bsc' }, 'NETWORK_ALIAS', 'networkName'],
      [{ networkName: 'BSCMainnet' }, 'NETWORK_ALIAS', 'networkName'],
      [{ networkName: 'bsctestnet' }, 'NETWORK_MISMATCH', 'networkName'],
      [{ networkName: 'mars' }, 'NETWORK_MISMATCH', 'networkName'],
      [{ deploymentArgs: [18446744073709551617n] }, 'BIG_NUMBER_LITERAL', 'deploymentArgs[0]'],
      [{ timestamp: 10n ** 20n }, 'BIG_NUMBER_LITERAL', 'timestamp'],
      [
        { deploymentArgs: [{ supply: '115792089237316195423570985008687907853269984665640564039457584007913129639935' }] },
        'BIG_NUMBER_STRING',
        'deploymentArgs[0].supply',
      ],
    ];
    for (const [overrides, code, field] of cases) {
      const found = recordFindings(clean(overrides));
      expect(
        found.map((f) => f.code),
        code,
      ).toEqual([code]);
      expect(found[0]).toMatchObject({
        code,
        field,
        severity: FindingCodes[code].severity,
        key: '56-Token',
        chainId: 56,
        contractName: 'Token',
      });
    }
  });

  it('flags dev chains and unknown chains (and skips the name check on an unknown one)', () => {
    expect(codes(clean({ chainId: 31337, networkName: 'hardhat' }))).toEqual(['DEV_CHAIN']);
    expect(codes(clean({ chainId: 31337, networkName: 'localhost' }))).toEqual(['DEV_CHAIN', 'NETWORK_ALIAS']);
    expect(codes(clean({ chainId: 999, networkName: 'anything' }))).toEqual(['UNKNOWN_CHAIN']);
    expect(codes(clean({ chainId: 1337, networkName: 'x' }))).toEqual(['DEV_CHAIN', 'UNKNOWN_CHAIN']);
    const registry = new NetworkRegistry().register({ chainId: 999, name: 'mychain', tier: 'testnet' });
    expect(recordFindings(clean({ chainId: 999, networkName: 'mychain' }), { registry })).toEqual([]);
  });

  it('reports a record stored under another key as KEY_MISMATCH, naming the field', () => {
    expect(recordFindings(clean(), { key: '97-Token' })).toMatchObject([{ code: 'KEY_MISMATCH', field: 'chainId', key: '97-Token' }]);
    expect(recordFindings(clean(), { key: '56-Other' })).toMatchObject([{ code: 'KEY_MISMATCH', field: 'contractName' }]);
    expect(codes(clean(), '56-Token')).toEqual([]);
  });

  it('keeps a big decimal string that is still safe out of the numeric audit', () => {
    expect(
      numericFindings(clean({ deploymentArgs: ['9007199254740991', '0000000000000000001', '18446744073709551617'] })).map((f) => f.field),
    ).toEqual(['deploymentArgs[2]']);
  });

  it('gives every code a severity and a summary, and counts by severity', () => {
    for (const [code, meta] of Object.entries(FindingCodes)) {
      expect(['error', 'warning', 'info'], code).toContain(meta.severity);
      expect(meta.summary.length).toBeGreaterThan(0);
    }
    const list = [
      finding('DEV_CHAIN', 'x'),
      finding('INVALID_ADDRESS', 'y'),
      finding('NETWORK_ALIAS', 'z'),
      finding('NETWORK_ALIAS', 'z', {}, 'error'),
    ];
    expect(countBySeverity(list)).toEqual({ error: 2, warning: 1, info: 1 });
  });

  it('finds the expected problems in the sample dev junk', () => {
    const junk = sampleRecord(31337, 'Junk', 'hardhat');
    junk.address = '0xdeadbeef';
    junk.factoryByteCodeHash = '';
    expect(codes(junk)).toEqual(['BIG_NUMBER_STRING', 'DEV_CHAIN', 'EMPTY_HASH', 'INVALID_ADDRESS']);
  });
});
