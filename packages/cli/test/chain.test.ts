// verify-chain and --chain through the built binary, against a real hardhat node on loopback: a
// proxy and its implementation placed with hardhat_setCode / hardhat_setStorageAt, nothing compiled.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { EIP1967_IMPLEMENTATION_SLOT, runtimeCodeHash, type ChainVerificationReport } from '@deploystate/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, runSteps, useSample, type Run } from './helpers.js';

// The migrator's hardhat fixture: hardhat is its devDependency and runs only from a project inside
// packages/migrator. Loaded by path at run time (a helper file, not a package export).
interface HardhatNode {
  url: string;
  port: number;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}
interface HardhatFixture {
  startHardhatNode(chainId: number): Promise<HardhatNode>;
  freePort(): Promise<number>;
}
const HARDHAT_FIXTURE = new URL('../../migrator/test/fixtures/chain/hardhat-node.ts', import.meta.url).pathname;

const CHAIN = 97;
type Hex = `0x${string}`;
const addr = (byte: string): Hex => `0x${byte.repeat(20)}`;
const IMPL = addr('11');
const IMPL_OTHER = addr('13');
const PROXY = addr('a1');
const PROXY_DRIFT = addr('a3');
// Runtime code with a Solidity-style CBOR metadata tail; a minimal proxy's code at the proxies.
const IMPL_CODE: Hex = '0x608060405260006000f3fea163666f6f430102030009';
const PROXY_CODE: Hex = '0x363d3d373d3d3d363d73bebebebebebebebebebebebebebebebebebebebe5af43d82803e903d91602b57fd5bf3';

const fixture = useSample('deploystate-cli-chain-', { demo: false });
let hardhat: HardhatFixture;
let node: HardhatNode;

const record = (contractName: string, fields: Partial<DeploymentRecord>): DeploymentRecord => ({
  ...sampleRecord(CHAIN, contractName, 'bsctestnet'),
  address: IMPL,
  implementationHash: runtimeCodeHash(IMPL_CODE, IMPL).hash,
  ...fields,
});

/** A folder with ./leveldb holding `records`, as the deploy scripts wrote them. */
async function project(name: string, records: DeploymentRecord[]): Promise<string> {
  const dir = join(fixture.root, name);
  await writeLegacyStore(
    join(dir, 'leveldb'),
    records.map((r) => ({ key: `${r.chainId}-${r.contractName}`, value: r })),
  );
  return dir;
}

let matching: string;
let drifted: string;
const rpcFlag = (url: string): string[] => ['--rpc', `${CHAIN}=${url}`];
const chainDoc = (run: Run): ChainVerificationReport => onlyDocument(run) as unknown as ChainVerificationReport;

beforeAll(async () => {
  hardhat = (await import(HARDHAT_FIXTURE)) as HardhatFixture;
  node = await hardhat.startHardhatNode(CHAIN);
  const slot = (implementation: Hex): string => `0x${'00'.repeat(12)}${implementation.slice(2)}`;
  await node.rpc('hardhat_setCode', [IMPL, IMPL_CODE]);
  await node.rpc('hardhat_setCode', [IMPL_OTHER, '0x60016001a163666f6f430102030009']);
  for (const proxy of [PROXY, PROXY_DRIFT]) await node.rpc('hardhat_setCode', [proxy, PROXY_CODE]);
  await node.rpc('hardhat_setStorageAt', [PROXY, EIP1967_IMPLEMENTATION_SLOT, slot(IMPL)]);
  // Upgraded outside the tool: the slot points elsewhere while the record still says IMPL.
  await node.rpc('hardhat_setStorageAt', [PROXY_DRIFT, EIP1967_IMPLEMENTATION_SLOT, slot(IMPL_OTHER)]);
  matching = await project('matching', [record('Token', { proxyAddress: PROXY })]);
  drifted = await project('drifted', [record('Drifted', { proxyAddress: PROXY_DRIFT })]);
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

describe('verify-chain against a hardhat node', () => {
  it('matching records: exit 0, one JSON document with every check ok', async () => {
    const run = await deploystate(['verify-chain', ...rpcFlag(node.url), '--json'], { cwd: matching });
    expect(run.code, run.stderr).toBe(0);
    const report = chainDoc(run);
    expect(report.ok).toBe(true);
    expect(report.counts).toMatchObject({ records: 1, ok: 1, error: 0 });
    const checks = Object.fromEntries((report.records[0]?.checks ?? []).map((c) => [c.name, c.status]));
    expect(report.chains).toEqual([expect.objectContaining({ chainId: CHAIN, status: 'ok', reportedChainId: CHAIN })]);
    expect(checks).toMatchObject({ 'implementation-code': 'ok', 'proxy-code': 'ok', 'eip1967-slot': 'ok', 'implementation-hash': 'ok' });
  });

  it('leaves the records the migration excluded out of the LevelDB side, listed as excluded, as verify does', async () => {
    // A dev-chain record with no contract on any chain, excluded (as analyze proposes) before the copy.
    const dir = await project('excluded', [record('Token', { proxyAddress: PROXY }), record('DevJunk', { address: addr('0d') })]);
    await runSteps(dir, [['exclude', `${CHAIN}-DevJunk`], ['dual-write', 'enable'], ['migrate']]);
    const run = await deploystate(['verify-chain', '--from', 'leveldb', ...rpcFlag(node.url), '--json'], { cwd: dir });
    expect(run.code, run.stdout).toBe(0);
    const report = chainDoc(run);
    expect(report.records.map((r) => r.key)).toEqual([`${CHAIN}-Token`]);
    expect(report.excluded).toEqual([`${CHAIN}-DevJunk`]);
    const text = await deploystate(['verify-chain', '--from', 'leveldb', ...rpcFlag(node.url)], { cwd: dir });
    expect(text.stdout).toContain(`excluded from the migration (as verify leaves them out): ${CHAIN}-DevJunk`);
  });

  it('a drifted EIP-1967 slot: exit 1, naming both implementations', async () => {
    const run = await deploystate(['verify-chain', ...rpcFlag(node.url), '--json'], { cwd: drifted });
    expect(run.code, run.stderr).toBe(1);
    const report = chainDoc(run);
    expect(report.ok).toBe(false);
    const slot = report.records[0]?.checks.find((c) => c.name === 'eip1967-slot');
    expect(slot?.status).toBe('error');
    expect(slot?.detail.toLowerCase()).toContain(IMPL_OTHER);
    expect(slot?.detail.toLowerCase()).toContain(IMPL);
  });

  it('a closed port: ENDPOINT_UNAVAILABLE, exit 1 (the check could not pass), in the --json error document', async () => {
    const dead = `http://127.0.0.1:${await hardhat.freePort()}`;
    const run = await deploystate(['verify-chain', ...rpcFlag(dead), '--retries', '0', '--timeout', '2000', '--json'], { cwd: matching });
    expect(run.code, run.stderr).toBe(1);
    expect(onlyDocument(run)).toMatchObject({ ok: false, error: { code: 'ENDPOINT_UNAVAILABLE' } });
  });

  it('an endpoint with credentials never prints them, on stdout or stderr, live or dead', async () => {
    const live = await deploystate(['verify-chain', ...rpcFlag(`http://user:secret@127.0.0.1:${node.port}`)], { cwd: matching });
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain('***@127.0.0.1');
    const liveJson = await deploystate(['verify-chain', ...rpcFlag(`http://user:secret@127.0.0.1:${node.port}`), '--json'], {
      cwd: drifted,
    });
    expect(liveJson.code).toBe(1);
    const dead = await deploystate(
      ['verify-chain', ...rpcFlag(`http://user:secret@127.0.0.1:${await hardhat.freePort()}`), '--retries', '0', '--debug'],
      { cwd: matching },
    );
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain('ENDPOINT_UNAVAILABLE');
    for (const run of [live, liveJson, dead]) expect(run.stdout + run.stderr).not.toContain('secret');
  });
});

describe('credentials in an RPC URL', () => {
  // Each credential form the README names: user info, a query value, and a key in the path as
  // short as 13 characters (a path segment that is no known public route).
  const SECRETS = ['s3cretUser', 'p4ssWord', 'abcdefghijklm', 'QUERYSECRET1'];
  const withSecrets = (port: number): string => `http://s3cretUser:p4ssWord@127.0.0.1:${port}/abcdefghijklm?apikey=QUERYSECRET1`;

  it('are hidden in text, --json, --debug logs, the evidence file and the migration report, live or dead', async () => {
    const dir = await project('secrets', [record('Token', { proxyAddress: PROXY })]);
    const dead = withSecrets(await hardhat.freePort());
    const evidenceFile = join(dir, '.deploystate', 'chain-verification.json');
    const texts: string[] = [];
    const live = await deploystate(['verify-chain', ...rpcFlag(withSecrets(node.port)), '--debug'], { cwd: dir });
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain('http://***@127.0.0.1');
    const liveJson = await deploystate(['verify-chain', ...rpcFlag(withSecrets(node.port)), '--json'], { cwd: dir });
    expect(liveJson.code, liveJson.stderr).toBe(0);
    expect(chainDoc(liveJson).chains[0]?.endpoint).toBe(`http://***@127.0.0.1:${node.port}/***?apikey=***`);
    texts.push(await readFile(evidenceFile, 'utf8'));
    const deadText = await deploystate(['verify-chain', ...rpcFlag(dead), '--retries', '0', '--debug'], { cwd: dir });
    const deadJson = await deploystate(['verify-chain', ...rpcFlag(dead), '--retries', '0', '--json'], { cwd: dir });
    for (const run of [deadText, deadJson]) expect(run.code).toBe(1);
    expect(onlyDocument(deadJson)).toMatchObject({ ok: false, error: { code: 'ENDPOINT_UNAVAILABLE' } });
    const evidence = await readFile(evidenceFile, 'utf8');
    expect(evidence).toContain('/***?apikey=***');
    texts.push(evidence);
    const report = await deploystate(['report', '--json'], { cwd: dir });
    expect(report.code, report.stderr).toBe(0);
    const files = (onlyDocument(report) as { files: { markdown: string; json: string } }).files;
    texts.push(await readFile(files.markdown, 'utf8'), await readFile(files.json, 'utf8'));
    for (const run of [live, liveJson, deadText, deadJson, report]) texts.push(run.stdout, run.stderr);
    for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});

describe('--chain', () => {
  it('analyze --chain passes on matching records and exits 1 on drift, with the result under `chain`', async () => {
    const good = await deploystate(['analyze', '--chain', ...rpcFlag(node.url), '--json'], { cwd: matching });
    expect(good.code, good.stderr).toBe(0);
    expect((onlyDocument(good).chain as ChainVerificationReport).ok).toBe(true);
    const bad = await deploystate(['analyze', '--chain', ...rpcFlag(node.url), '--json'], { cwd: drifted });
    expect(bad.code).toBe(1);
    const doc = onlyDocument(bad) as { ok: boolean; chain: ChainVerificationReport };
    // The inventory itself is fine: the exit code comes from the chain check alone.
    expect(doc.ok).toBe(true);
    expect(doc.chain.counts.error).toBe(1);
  });
});

describe('merge-resolve --chain', () => {
  it('shows which version of a conflicting record the chain agrees with', async () => {
    const { mergeStateFiles } = await import('@deploystate/backend-json');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { stringifyLossless } = await import('@deploystate/core');
    const file = (token: DeploymentRecord): string =>
      `${stringifyLossless({ schemaVersion: 1, network: 'bsctestnet', chainId: CHAIN, records: { Token: token } }, 2)}\n`;
    const base = record('Token', { proxyAddress: PROXY, timestamp: 1 });
    const onChain = record('Token', { proxyAddress: PROXY, timestamp: 2 });
    const elsewhere = record('Token', { proxyAddress: PROXY, address: IMPL_OTHER, timestamp: 3 });
    const merged = mergeStateFiles({ base: file(base), ours: file(onChain), theirs: file(elsewhere) }, { file: 'bsctestnet.json' });
    const dir = join(fixture.root, 'conflicted');
    await mkdir(join(dir, 'deployments'), { recursive: true });
    await writeFile(join(dir, 'deployments', 'bsctestnet.json'), merged.text);
    const run = await deploystate(['merge-resolve', '--chain', ...rpcFlag(node.url), '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(1);
    expect(onlyDocument(run)).toMatchObject({
      open: 1,
      files: [{ open: [{ section: 'records', name: 'Token', chain: { ours: 'ok', theirs: expect.stringMatching(/^error/) } }] }],
    });
  });
});
