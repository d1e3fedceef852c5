// Chain verification against a real hardhat node on loopback: code placed with hardhat_setCode,
// the proxy's EIP-1967 slot with hardhat_setStorageAt, nothing compiled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, type DeploymentRecord } from '@deploystate/core';
import { concat, keccak256, pad, type Hex } from 'viem';
import {
  assertSomeEndpointReachable,
  chainReportJson,
  EIP1967_IMPLEMENTATION_SLOT,
  formatChainReport,
  verifyChain,
  type ChainVerificationReport,
  type RecordChainResult,
} from '../src/chain/index.js';
import { freePort, startHardhatNode, type HardhatNode } from './fixtures/chain/hardhat-node.js';
import { startRelay } from './fixtures/chain/relay.js';

const CHAIN = 97;
const addr = (byte: string): Hex => `0x${byte.repeat(20)}`;
const IMPL = addr('11');
const IMPL_SELF = addr('12');
const IMPL_OTHER = addr('13');
const NO_CODE = addr('14');
const PROXY = addr('a1');
const PROXY_SELF = addr('a2');
const PROXY_DRIFT = addr('a3');
const PROXY_MISSING_IMPL = addr('a4');
const PROXY_HASH = addr('a5');

// A fake Solidity CBOR tail: map { "foo": h'010203' } (9 bytes) and its big-endian length.
const CBOR_TAIL: Hex = '0xa163666f6f430102030009';
const BODY: Hex = '0x608060405260006000f3fe';
// The artifact has zeros where the compiler put `address(this)` as an immutable (PUSH20 twice).
const SELF_BODY_ARTIFACT: Hex = concat([
  '0x6080604052',
  '0x73',
  pad('0x', { size: 20 }),
  '0x50',
  '0x73',
  pad('0x', { size: 20 }),
  '0x5000',
]);
const SELF_BODY_DEPLOYED: Hex = concat(['0x6080604052', '0x73', IMPL_SELF, '0x50', '0x73', IMPL_SELF, '0x5000']);
const PROXY_CODE: Hex = '0x363d3d373d3d3d363d73bebebebebebebebebebebebebebebebebebebebe5af43d82803e903d91602b57fd5bf3';

const record = (chainId: number, contractName: string, fields: Partial<DeploymentRecord>): DeploymentRecord => ({
  contractName,
  chainId,
  networkName: 'bscTestnet',
  address: IMPL,
  factoryByteCodeHash: `0x${'00'.repeat(32)}`,
  timestamp: 1_700_000_000_000,
  ...fields,
});

let node: HardhatNode;

beforeAll(async () => {
  node = await startHardhatNode(CHAIN);
  const setCode = (address: Hex, code: Hex): Promise<unknown> => node.rpc('hardhat_setCode', [address, code]);
  const setSlot = (proxy: Hex, implementation: Hex): Promise<unknown> =>
    node.rpc('hardhat_setStorageAt', [proxy, EIP1967_IMPLEMENTATION_SLOT, pad(implementation, { size: 32 })]);
  await setCode(IMPL, concat([BODY, CBOR_TAIL]));
  await setCode(IMPL_SELF, concat([SELF_BODY_DEPLOYED, CBOR_TAIL]));
  await setCode(IMPL_OTHER, concat(['0x60016001', CBOR_TAIL]));
  for (const proxy of [PROXY, PROXY_SELF, PROXY_DRIFT, PROXY_MISSING_IMPL, PROXY_HASH]) await setCode(proxy, PROXY_CODE);
  await setSlot(PROXY, IMPL);
  await setSlot(PROXY_SELF, IMPL_SELF);
  await setSlot(PROXY_DRIFT, IMPL_OTHER); // upgraded outside the tool: the record still says IMPL
  await setSlot(PROXY_MISSING_IMPL, NO_CODE);
  await setSlot(PROXY_HASH, IMPL);
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

const byKey = (report: ChainVerificationReport, key: string): RecordChainResult => {
  const found = report.records.find((r) => r.key === key);
  if (!found) throw new Error(`no result for ${key}`);
  return found;
};
const checkOf = (result: RecordChainResult, name: string) => result.checks.find((c) => c.name === name);

const GOOD = record(CHAIN, 'Token', { proxyAddress: PROXY, implementationHash: keccak256(BODY) });
const SELF = record(CHAIN, 'SelfRef', { address: IMPL_SELF, proxyAddress: PROXY_SELF, implementationHash: keccak256(SELF_BODY_ARTIFACT) });
const DRIFT = record(CHAIN, 'Drifted', { proxyAddress: PROXY_DRIFT, implementationHash: keccak256(BODY) });
const MISSING = record(CHAIN, 'Missing', { address: NO_CODE, proxyAddress: PROXY_MISSING_IMPL, implementationHash: keccak256(BODY) });
const NO_PROXY = record(CHAIN, 'NoProxyAtAll', { proxyAddress: addr('b0') });
const HASH = record(CHAIN, 'HashDiffers', { proxyAddress: PROXY_HASH, implementationHash: keccak256('0xdeadbeef') });
const PLAIN = record(CHAIN, 'Plain', { implementationHash: keccak256(BODY) });

describe('verifyChain against a hardhat node', () => {
  it('passes a proxy whose slot, code and runtime hash match the record', async () => {
    const report = await verifyChain([GOOD, PLAIN], { rpc: { [CHAIN]: node.url } });
    expect(report.ok).toBe(true);
    const good = byKey(report, '97-Token');
    expect(good.status).toBe('ok');
    expect(good.checks.map((c) => [c.name, c.status])).toEqual([
      ['implementation-code', 'ok'],
      ['proxy-code', 'ok'],
      ['eip1967-slot', 'ok'],
      ['implementation-hash', 'ok'],
    ]);
    expect(checkOf(byKey(report, '97-Plain'), 'eip1967-slot')?.status).toBe('skipped');
    expect(report.chains).toEqual([expect.objectContaining({ chainId: CHAIN, status: 'ok', reportedChainId: CHAIN, records: 2 })]);
  });

  it("zeroes the contract's own address where it sits as an immutable before hashing", async () => {
    const report = await verifyChain([SELF], { rpc: { [CHAIN]: node.url } });
    const result = byKey(report, '97-SelfRef');
    expect(checkOf(result, 'implementation-hash')).toMatchObject({ status: 'ok', actual: keccak256(SELF_BODY_ARTIFACT) });
    expect(result.status).toBe('ok');
  });

  it('reports missing code at the implementation or the proxy as an error', async () => {
    const report = await verifyChain([MISSING, NO_PROXY], { rpc: { [CHAIN]: node.url } });
    expect(report.ok).toBe(false);
    const missing = byKey(report, '97-Missing');
    expect(missing.status).toBe('error');
    expect(checkOf(missing, 'implementation-code')?.status).toBe('error');
    expect(checkOf(missing, 'proxy-code')?.status).toBe('ok');
    const noProxy = byKey(report, '97-NoProxyAtAll');
    expect(checkOf(noProxy, 'proxy-code')?.status).toBe('error');
    expect(checkOf(noProxy, 'implementation-code')?.status).toBe('ok');
  });

  it('reports a drifted EIP-1967 slot as an error naming both implementations', async () => {
    const report = await verifyChain([DRIFT], { rpc: { [CHAIN]: node.url } });
    const slot = checkOf(byKey(report, '97-Drifted'), 'eip1967-slot');
    expect(slot?.status).toBe('error');
    expect(slot?.expected?.toLowerCase()).toBe(IMPL);
    expect(slot?.actual?.toLowerCase()).toBe(IMPL_OTHER);
    expect(slot?.detail.toLowerCase()).toContain(IMPL);
    expect(slot?.detail.toLowerCase()).toContain(IMPL_OTHER);
    expect(report.ok).toBe(false);
  });

  it('reports a runtime hash that differs from implementationHash as a warning, not an error', async () => {
    const report = await verifyChain([HASH], { rpc: { [CHAIN]: node.url } });
    const result = byKey(report, '97-HashDiffers');
    expect(result.status).toBe('warn');
    expect(checkOf(result, 'implementation-hash')).toMatchObject({
      status: 'warn',
      expected: keccak256('0xdeadbeef'),
      actual: keccak256(BODY),
    });
    expect(checkOf(result, 'implementation-hash')?.detail).toMatch(/immutable/);
    expect(checkOf(result, 'implementation-hash')?.detail).toMatch(/librar/);
    expect(report.ok).toBe(true);
    expect(report.counts).toMatchObject({ warn: 1, error: 0 });
  });

  it('fails every record of a chain whose endpoint answers another chain id (CHAIN_MISMATCH)', async () => {
    const onBsc = [record(56, 'Token', { proxyAddress: PROXY, implementationHash: keccak256(BODY) }), record(56, 'Other', {})];
    const report = await verifyChain(onBsc, { rpc: { 56: node.url } });
    expect(report.ok).toBe(false);
    expect(report.chains[0]).toMatchObject({ chainId: 56, status: 'error', reportedChainId: CHAIN, error: { code: 'CHAIN_MISMATCH' } });
    for (const r of report.records) {
      expect(r.status).toBe('error');
      expect(r.checks).toEqual([expect.objectContaining({ name: 'chain-id', status: 'error', code: 'CHAIN_MISMATCH' })]);
    }
  });

  it('gives ENDPOINT_UNAVAILABLE for a closed loopback port, per chain, and lists chains without an endpoint as not checked', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const records = [GOOD, record(84532, 'Bridge', {}), record(11155420, 'Router', {})];
    const report = await verifyChain(records, { rpc: { [CHAIN]: node.url, 84532: dead }, retries: 1, retryDelayMs: 10, timeoutMs: 2000 });
    expect(report.chains.map((c) => [c.chainId, c.status, c.error?.code])).toEqual([
      [CHAIN, 'ok', undefined],
      [84532, 'error', 'ENDPOINT_UNAVAILABLE'],
      [11155420, 'not-configured', undefined],
    ]);
    expect(byKey(report, '84532-Bridge').checks[0]).toMatchObject({ name: 'endpoint', status: 'error', code: 'ENDPOINT_UNAVAILABLE' });
    expect(byKey(report, '11155420-Router').status).toBe('not-checked');
    expect(report.counts).toEqual({ records: 3, ok: 1, warn: 0, error: 1, notChecked: 1 });
    // One endpoint answered: the report stands, nothing is thrown.
    expect(() => assertSomeEndpointReachable(report)).not.toThrow();
  });

  it('throws ENDPOINT_UNAVAILABLE from assertSomeEndpointReachable when no configured endpoint answers', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const report = await verifyChain([GOOD], { rpc: { [CHAIN]: dead }, retries: 0 });
    expect(() => assertSomeEndpointReachable(report)).toThrow(expect.objectContaining({ code: 'ENDPOINT_UNAVAILABLE' }));
  });

  it('gives ENDPOINT_UNAVAILABLE when an endpoint never answers (timeout)', async () => {
    const relay = await startRelay(node.url, { hang: true });
    try {
      const report = await verifyChain([GOOD], { rpc: { [CHAIN]: relay.url }, timeoutMs: 200, retries: 1, retryDelayMs: 10 });
      expect(report.chains[0]?.error?.code).toBe('ENDPOINT_UNAVAILABLE');
      expect(relay.requests).toBe(2);
    } finally {
      await relay.close();
    }
  });

  it('retries a failing endpoint with backoff and then passes', async () => {
    const relay = await startRelay(node.url, { failFirst: 2 });
    try {
      const report = await verifyChain([GOOD], { rpc: { [CHAIN]: relay.url }, retries: 2, retryDelayMs: 10 });
      expect(report.chains[0]?.status).toBe('ok');
      expect(byKey(report, '97-Token').status).toBe('ok');
      expect(relay.requests).toBeGreaterThan(2);
    } finally {
      await relay.close();
    }
  });

  it('keeps at most `concurrency` requests in flight per endpoint', async () => {
    const relay = await startRelay(node.url, { delayMs: 2_000, releaseAt: 2 });
    try {
      const many = Array.from({ length: 8 }, (_, i) =>
        record(CHAIN, `Token${i}`, { proxyAddress: PROXY, implementationHash: keccak256(BODY) }),
      );
      const report = await verifyChain(many, { rpc: { [CHAIN]: relay.url }, concurrency: 2 });
      expect(report.counts.ok).toBe(8);
      expect(relay.maxInFlight).toBe(2);
    } finally {
      await relay.close();
    }
  });

  it('reads the records from a StateStore', async () => {
    const store = new MemoryStore();
    await store.open();
    await store.putMany([GOOD, DRIFT]);
    const report = await verifyChain(store, { rpc: { [CHAIN]: node.url } });
    expect(report.records.map((r) => [r.key, r.status])).toEqual([
      ['97-Drifted', 'error'],
      ['97-Token', 'ok'],
    ]);
    await store.close();
  });

  it('never prints credentials: userinfo, key-like path segments and query values are redacted', async () => {
    const deadPort = await freePort();
    const secretLive = `http://alice:s3cretPass@127.0.0.1:${node.port}/v3/9aa3d95b3bc440fa88ea12eaa4456161?apikey=TOPSECRETKEY`;
    const secretDead = `http://bob:hunter2word@127.0.0.1:${deadPort}/v2/AbCdEfGh1234567890xyz?token=ANOTHERSECRET`;
    const records = [GOOD, record(56, 'Token', {}), record(84532, 'Bridge', {})];
    const report = await verifyChain(records, { rpc: { [CHAIN]: secretLive, 56: secretLive, 84532: secretDead }, retries: 0 });
    expect(report.chains.map((c) => c.status)).toEqual(['error', 'ok', 'error']);
    const printed = [chainReportJson(report), formatChainReport(report).join('\n')].join('\n');
    for (const secret of [
      's3cretPass',
      'alice',
      '9aa3d95b3bc440fa88ea12eaa4456161',
      'TOPSECRETKEY',
      'hunter2word',
      'bob',
      'AbCdEfGh1234567890xyz',
      'ANOTHERSECRET',
    ]) {
      expect(printed).not.toContain(secret);
    }
    expect(report.chains[1]?.endpoint).toBe(`http://***@127.0.0.1:${node.port}/v3/***?apikey=***`);
    expect(printed).toContain('ENDPOINT_UNAVAILABLE');
    const unreachable = await verifyChain([record(84532, 'Bridge', {})], { rpc: { 84532: secretDead }, retries: 0 });
    const secrets = /hunter2word|ANOTHERSECRET|AbCdEfGh1234567890xyz/;
    expect(() => assertSomeEndpointReachable(unreachable)).toThrow(
      expect.objectContaining({
        code: 'ENDPOINT_UNAVAILABLE',
        message: expect.not.stringMatching(secrets),
        hint: expect.not.stringMatching(secrets),
      }),
    );
  });

  it('prints a table with one row per record and the problems in full', async () => {
    const report = await verifyChain([GOOD, DRIFT, HASH, record(84532, 'Bridge', {})], { rpc: { [CHAIN]: node.url } });
    const text = formatChainReport(report).join('\n');
    expect(text).toMatch(/97-Token\s+ok/);
    expect(text).toMatch(/ERROR 97-Drifted eip1967-slot/);
    expect(text).toMatch(/WARN +97-HashDiffers implementation-hash/);
    expect(text).toMatch(/84532-Bridge\s+not-checked/);
    expect(JSON.parse(chainReportJson(report))).toEqual(JSON.parse(JSON.stringify(report)));
  });
});
