// Chain verification wired into the migration: analyze, verify and cut-over take a `chain` option,
// cut-over refuses on chain errors, and the report carries the last chain verification.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import type { DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { concat, keccak256, pad, type Hex } from 'viem';
import { EIP1967_IMPLEMENTATION_SLOT, formatChainReport, Migration } from '../src/index.js';
import { startHardhatNode, type HardhatNode } from './fixtures/chain/hardhat-node.js';

const IMPL: Hex = `0x${'21'.repeat(20)}`;
const OTHER: Hex = `0x${'22'.repeat(20)}`;
const PROXY: Hex = `0x${'b1'.repeat(20)}`;
const BODY: Hex = '0x6080604052348015600f57600080fd5b50';
const TAIL: Hex = '0xa1636b6579420a0b0008';

const record = (chainId: number, networkName: string, contractName: string, fields: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  contractName,
  chainId,
  networkName,
  address: IMPL,
  factoryByteCodeHash: `0x${'ab'.repeat(32)}`,
  implementationHash: keccak256(BODY),
  timestamp: 1_700_000_000_000,
  ...fields,
});

let node: HardhatNode;
let dir: string;
const setSlot = (implementation: Hex): Promise<unknown> =>
  node.rpc('hardhat_setStorageAt', [PROXY, EIP1967_IMPLEMENTATION_SLOT, pad(implementation, { size: 32 })]);

beforeAll(async () => {
  node = await startHardhatNode(97);
  await node.rpc('hardhat_setCode', [IMPL, concat([BODY, TAIL])]);
  await node.rpc('hardhat_setCode', [OTHER, concat(['0x60ff', TAIL])]);
  await node.rpc('hardhat_setCode', [PROXY, '0x6080604052366000803760008036600073']);
  await setSlot(IMPL);
  dir = await makeTempDir('migrator-chain-');
  const leveldb = new LevelDbStore({ path: `${dir}/leveldb`, create: true, idleCloseMs: 0 });
  await leveldb.open();
  await leveldb.putMany([
    record(97, 'bsctestnet', 'Token', { proxyAddress: PROXY }),
    record(97, 'bsctestnet', 'Vault'),
    record(56, 'bscmainnet', 'Token'),
  ]);
  await leveldb.close();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (dir) await removeTempDir(dir);
});

describe('chain verification in the migration', () => {
  it('runs through analyze, verify, cut-over and the report', async () => {
    const chain = { rpc: { 97: node.url }, retries: 0 };
    const migration = await Migration.open({ cwd: dir });

    const analysis = await migration.analyze({ chain });
    expect(analysis.chain).toMatchObject({ ok: true, source: 'leveldb', counts: { records: 3, ok: 2, notChecked: 1, error: 0 } });

    const standalone = await migration.verifyChain({ ...chain });
    expect(standalone.source).toBe('leveldb');

    await migration.enableDualWrite();
    await migration.migrate();
    const verify = await migration.verify({ chain });
    expect(verify.clean).toBe(true);
    expect(verify.chain).toMatchObject({ ok: true, source: 'leveldb' });
    await migration.promote();

    // An upgrade made outside the tool: the JSON side no longer matches the chain.
    await setSlot(OTHER);
    await expect(migration.cutover({ chain })).rejects.toMatchObject({ code: 'GATE_FAILED' });
    expect((await migration.status()).phase).toBe('json-primary');
    const failedReport = await migration.report();
    expect(failedReport.json.chainVerification).toMatchObject({ ok: false, source: 'json', counts: { error: 1 } });
    expect(failedReport.markdown).toMatch(/Chain verification: ERRORS/);

    await setSlot(IMPL);
    const cut = await migration.cutover({ chain });
    expect(cut.phase).toBe('json-only');
    expect(cut.chain).toMatchObject({ ok: true, source: 'json', counts: { ok: 2 } });
    const report = await migration.report();
    expect(report.json.chainVerification).toMatchObject({ ok: true, source: 'json' });
    expect(report.markdown).toMatch(/Chain verification: no errors .*2 ok, 0 warning, 0 error, 1 not checked/);

    // A network file the JSON side cannot read hid its chain's records: the check passed them by.
    const file = `${dir}/deployments/bsctestnet.json`;
    await writeFile(file, (await readFile(file, 'utf8')).slice(0, 40));
    const hidden = await migration.verifyChain({ ...chain });
    expect(hidden.source).toBe('json');
    expect(hidden.ok).toBe(false);
    expect(hidden.unreadable).toEqual([expect.objectContaining({ file, code: 'NOT_JSON' })]);
    expect(formatChainReport(hidden).join('\n')).toContain(`ERROR ${file} [NOT_JSON]`);
  });
});
