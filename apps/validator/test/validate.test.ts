import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore, toChecksumAddress, type Finding, type FindingCode } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { validateDeployments, exitCodeFor, type ValidationResult } from '../src/index.js';
import { cleanRecord, positionOfText, put, render, stateDocument, writeValidFolder } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('validator-');
  await writeValidFolder(dir);
});
afterEach(async () => removeTempDir(dir));

function withCode(result: ValidationResult, code: FindingCode): Finding[] {
  return result.findings.filter((f) => f.code === code);
}

/** The one finding of `code`, which must sit at `needle` in `name`. */
async function expectOneAt(result: ValidationResult, code: FindingCode, name: string, needle: string): Promise<Finding> {
  const found = withCode(result, code);
  expect(found, `${code} findings`).toHaveLength(1);
  const f = found[0] as Finding;
  expect(f.file).toBe(join(dir, name));
  const text = await readFile(join(dir, name), 'utf8');
  expect({ line: f.line, column: f.column }).toEqual(positionOfText(text, needle));
  return f;
}

describe('validateDeployments on a valid folder', () => {
  it('is clean, judges the state files and lists every other file as skipped with its reason', async () => {
    const result = await validateDeployments(dir);
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(exitCodeFor(result)).toBe(0);
    expect(result.files.map((f) => [f.file, f.chainId, f.records])).toEqual([
      [join(dir, 'basesepolia.json'), 84532, 1],
      [join(dir, 'bscmainnet.json'), 56, 2],
    ]);
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { file: join(dir, '.history'), reason: 'hidden folder' },
        { file: join(dir, 'README.md'), reason: 'not a .json file' },
        { file: join(dir, 'bsc-config.json'), reason: 'not a state file name and no schemaVersion' },
      ]),
    );
    expect(result.skipped).toHaveLength(3);
    expect(result.summary).toEqual({ errors: 0, warnings: 0, info: 0, files: 2, acknowledged: 0 });
  });

  it('throws STORE_NOT_FOUND naming a missing folder', async () => {
    await expect(validateDeployments(join(dir, 'nope'))).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', file: join(dir, 'nope') });
  });
});

describe('validateDeployments finds each problem where it is', () => {
  it('SCHEMA_VIOLATION: every schema error (not the first), at the offending value', async () => {
    const record = cleanRecord(56, 'LookCoin') as Record<string, unknown>;
    record.chainId = '56';
    record.timestamp = 1.5;
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [record as never])));
    const result = await validateDeployments(dir);
    const found = withCode(result, 'SCHEMA_VIOLATION');
    expect(found.map((f) => f.pointer).sort()).toEqual(['/records/LookCoin/chainId', '/records/LookCoin/timestamp']);
    const text = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    expect(found.find((f) => f.pointer === '/records/LookCoin/chainId')).toMatchObject({
      file: join(dir, 'bscmainnet.json'),
      ...positionOfText(text, '"56"'),
    });
    expect(found.find((f) => f.pointer === '/records/LookCoin/timestamp')).toMatchObject(positionOfText(text, '1.5'));
    expect(exitCodeFor(result)).toBe(1);
  });

  it('SCHEMA_VIOLATION: a missing required field points at the record that lacks it', async () => {
    const record = cleanRecord(56, 'LookCoin') as Record<string, unknown>;
    delete record.address;
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [record as never])));
    const f = await expectOneAt(
      await validateDeployments(dir),
      'SCHEMA_VIOLATION',
      'bscmainnet.json',
      '{\n      "contractName": "LookCoin"',
    );
    expect(f.pointer).toBe('/records/LookCoin/address');
  });

  it('CHAIN_MISMATCH: a chainId that is not the chain of the file name', async () => {
    await put(dir, 'bscmainnet.json', render({ ...stateDocument(56, []), chainId: 97 }));
    const f = await expectOneAt(await validateDeployments(dir), 'CHAIN_MISMATCH', 'bscmainnet.json', '97');
    expect(f.pointer).toBe('/chainId');
  });

  it('PLACE_MISMATCH: a record under another name or of another chain', async () => {
    const renamed = cleanRecord(56, 'LookCoin');
    const foreign = cleanRecord(97, 'Oracle');
    const doc = stateDocument(56, [renamed, foreign]);
    (doc.records as Record<string, unknown>).LookCoin = { ...renamed, contractName: 'LookCoinV2' };
    await put(dir, 'bscmainnet.json', render(doc));
    const result = await validateDeployments(dir);
    const found = withCode(result, 'PLACE_MISMATCH');
    expect(found.map((f) => f.pointer).sort()).toEqual(['/records/LookCoin/contractName', '/records/Oracle/chainId']);
    const text = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    expect(found.find((f) => f.pointer === '/records/LookCoin/contractName')).toMatchObject(positionOfText(text, '"LookCoinV2"'));
    expect(found.find((f) => f.pointer === '/records/Oracle/chainId')).toMatchObject(positionOfText(text, '97'));
  });

  it('DUPLICATE_CHAIN_FILE: a second file declaring a chain the registry file holds', async () => {
    await put(dir, 'bsc-copy.json', render(stateDocument(56, [cleanRecord(56, 'LookCoin')])));
    const result = await validateDeployments(dir);
    const f = await expectOneAt(result, 'DUPLICATE_CHAIN_FILE', 'bsc-copy.json', '56');
    expect(f.message).toContain('bscmainnet.json');
    expect(withCode(result, 'CHAIN_MISMATCH').map((x) => x.file)).toEqual([join(dir, 'bsc-copy.json')]);
  });

  it('NOT_JSON: a truncated state file, at the place the text breaks', async () => {
    const text = render(stateDocument(56, [cleanRecord(56, 'LookCoin')]));
    await put(dir, 'bscmainnet.json', text.slice(0, 120));
    const result = await validateDeployments(dir);
    const [f] = withCode(result, 'NOT_JSON');
    expect(f).toMatchObject({ file: join(dir, 'bscmainnet.json'), pointer: '' });
    expect(f?.line).toBeGreaterThan(1);
    expect(result.ok).toBe(false);
  });

  it('EMPTY_FILE: an empty state file', async () => {
    await put(dir, 'basesepolia.json', '');
    const result = await validateDeployments(dir);
    expect(withCode(result, 'EMPTY_FILE')).toEqual([
      expect.objectContaining({ file: join(dir, 'basesepolia.json'), line: 1, column: 1, pointer: '' }),
    ]);
  });

  it("LEFTOVER_TEMP_FILE: the JSON backend's temp files of a dead writer, and stray *.tmp files", async () => {
    // pid 4194305 is above the largest pid_max Linux allows, so no process can have it.
    await put(dir, '.deploystate/tmp/bscmainnet.json.4194305.0123456789ab.tmp', '{');
    await put(dir, 'bscmainnet.json.tmp', '{');
    // A live writer's temp file (this process) is a write in progress, not a leftover.
    await put(dir, `.deploystate/tmp/basesepolia.json.${process.ppid}.0123456789ab.tmp`, '{');
    const result = await validateDeployments(dir);
    expect(withCode(result, 'LEFTOVER_TEMP_FILE').map((f) => [f.file, f.line, f.column, f.severity])).toEqual(
      [
        [join(dir, 'bscmainnet.json.tmp'), 1, 1, 'warning'],
        [join(dir, '.deploystate/tmp/bscmainnet.json.4194305.0123456789ab.tmp'), 1, 1, 'warning'],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    expect(result.skipped.map((s) => s.reason)).toContain(`temp file of a write in progress (process ${process.ppid})`);
    expect(exitCodeFor(result)).toBe(0);
    expect(exitCodeFor(result, { warningsAsErrors: true })).toBe(1);
  });

  it('legacy v0 files: reported as not yet adopted (info), their addresses and hashes checked', async () => {
    const legacy = {
      network: 'optimismsepolia',
      chainId: 11155420,
      deployer: '0x1111111111111111111111111111111111111111',
      contracts: { LookCoin: { proxy: '0x2222222222222222222222222222222222222222', implementation: '0xnothex' } },
      implementationHashes: { LookCoin: '0x1234' },
      config: { anything: [1, 2, 3] },
    };
    await put(dir, 'optimismsepolia.json', render(legacy));
    const result = await validateDeployments(dir);
    const report = result.files.find((f) => f.file === join(dir, 'optimismsepolia.json'));
    expect(report).toMatchObject({ kind: 'legacy', chainId: 11155420, records: 0 });
    await expectOneAt(result, 'LEGACY_FILE', 'optimismsepolia.json', '{');
    expect(withCode(result, 'LEGACY_FILE')[0]?.severity).toBe('info');
    await expectOneAt(result, 'INVALID_ADDRESS', 'optimismsepolia.json', '"0xnothex"');
    await expectOneAt(result, 'INVALID_HASH', 'optimismsepolia.json', '"0x1234"');
    expect(withCode(result, 'SCHEMA_VIOLATION')).toEqual([]);
  });

  it('LEGACY_MISMATCH: an adopted file whose contracts / implementationHashes disagree with records', async () => {
    const record = cleanRecord(56, 'LookCoin');
    const doc = stateDocument(56, [record], {
      contracts: { LookCoin: { proxy: '0x3333333333333333333333333333333333333333', implementation: record.address } },
      implementationHashes: { LookCoin: record.implementationHash },
    });
    await put(dir, 'bscmainnet.json', render(doc));
    const f = await expectOneAt(
      await validateDeployments(dir),
      'LEGACY_MISMATCH',
      'bscmainnet.json',
      '"0x3333333333333333333333333333333333333333"',
    );
    expect(f).toMatchObject({ pointer: '/contracts/LookCoin/proxy', field: 'proxyAddress', key: '56-LookCoin' });
  });

  it('DEV_CHAIN_FILE: a state file of a development chain, once for the file', async () => {
    await put(dir, 'hardhat.json', render(stateDocument(31337, [cleanRecord(31337, 'A'), cleanRecord(31337, 'B')])));
    const result = await validateDeployments(dir);
    await expectOneAt(result, 'DEV_CHAIN_FILE', 'hardhat.json', '31337');
    expect(withCode(result, 'DEV_CHAIN')).toEqual([]);
  });

  it('DUPLICATE_PROXY: one proxy address for two contracts on a chain', async () => {
    const a = cleanRecord(56, 'A');
    const b = { ...cleanRecord(56, 'B'), proxyAddress: (a.proxyAddress as string).toUpperCase().replace('0X', '0x') };
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [a, b])));
    const text = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    const f = await expectOneAt(await validateDeployments(dir), 'DUPLICATE_PROXY', 'bscmainnet.json', `"${b.proxyAddress}"`);
    expect(f.pointer).toBe('/records/B/proxyAddress');
    expect(text).toContain(b.proxyAddress);
  });

  it('MISSING_IMPLEMENTATION_HASH: a proxy without an implementation hash', async () => {
    const record = cleanRecord(56, 'LookCoin');
    delete record.implementationHash;
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [record])));
    const f = await expectOneAt(
      await validateDeployments(dir),
      'MISSING_IMPLEMENTATION_HASH',
      'bscmainnet.json',
      '{\n      "contractName": "LookCoin"',
    );
    expect(f).toMatchObject({ severity: 'warning', pointer: '/records/LookCoin/implementationHash' });
  });

  it('ADDRESS_CHECKSUM: mixed case that fails EIP-55; a correct checksum passes', async () => {
    const good = cleanRecord(56, 'Good');
    good.address = toChecksumAddress(good.address);
    const bad = cleanRecord(56, 'Bad');
    const checksummed = toChecksumAddress(bad.address);
    // Flip the case of the first letter so the mix no longer matches the checksum.
    const i = checksummed.slice(2).search(/[a-fA-F]/) + 2;
    const flipped =
      checksummed.slice(0, i) +
      (checksummed[i] === checksummed[i]?.toUpperCase() ? checksummed[i]?.toLowerCase() : checksummed[i]?.toUpperCase()) +
      checksummed.slice(i + 1);
    bad.address = flipped;
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [good, bad])));
    const f = await expectOneAt(await validateDeployments(dir), 'ADDRESS_CHECKSUM', 'bscmainnet.json', `"${flipped}"`);
    expect(f.pointer).toBe('/records/Bad/address');
  });

  it('UNSUPPORTED_SCHEMA_VERSION: a newer file is not judged by version 1 rules', async () => {
    await put(dir, 'bscmainnet.json', render({ ...stateDocument(56, [cleanRecord(56, 'A')]), schemaVersion: 2, records: [] }));
    const result = await validateDeployments(dir);
    await expectOneAt(result, 'UNSUPPORTED_SCHEMA_VERSION', 'bscmainnet.json', '2');
    expect(withCode(result, 'SCHEMA_VIOLATION')).toEqual([]);
  });

  it('big number literals: exact, as info findings at their place', async () => {
    const record = cleanRecord(56, 'LookCoin');
    record.deploymentArgs = [18446744073709551617n];
    await put(dir, 'bscmainnet.json', render(stateDocument(56, [record])));
    const result = await validateDeployments(dir);
    const f = await expectOneAt(result, 'BIG_NUMBER_LITERAL', 'bscmainnet.json', '18446744073709551617');
    expect(f.pointer).toBe('/records/LookCoin/deploymentArgs/0');
    expect(f.message).toContain('18446744073709551617');
    expect(result.ok).toBe(true);
  });
});

describe('validateDeployments with options', () => {
  it('files: judges only the given files, yet still sees the registry file of a duplicated chain', async () => {
    await put(dir, 'bsc-copy.json', render(stateDocument(56, [cleanRecord(56, 'LookCoin')])));
    await put(dir, 'basesepolia.json', '');
    const result = await validateDeployments(dir, { files: ['bsc-copy.json', join(dir, 'README.md'), '../elsewhere.json'] });
    expect(result.files.map((f) => f.file)).toEqual([join(dir, 'bsc-copy.json')]);
    expect(withCode(result, 'DUPLICATE_CHAIN_FILE')).toHaveLength(1);
    expect(withCode(result, 'EMPTY_FILE')).toEqual([]);
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { file: '../elsewhere.json', reason: `outside ${dir}` },
        { file: join(dir, 'README.md'), reason: 'not a .json file' },
      ]),
    );
  });

  it('compareWith: records missing on either side and differing records, with their places', async () => {
    const store = new MemoryStore();
    await store.open();
    const [lookCoin, router] = [cleanRecord(56, 'LookCoin', 0), cleanRecord(56, 'contracts/xchain/Router.sol:Router', 1)];
    await store.put({ ...lookCoin, address: '0x4444444444444444444444444444444444444444' });
    await store.put(router);
    await store.put(cleanRecord(97, 'OnlyInStore'));
    const result = await validateDeployments(dir, { compareWith: store });
    expect(result.comparison?.equal).toBe(false);
    const text = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    expect(withCode(result, 'RECORD_DIFFERS')).toEqual([
      expect.objectContaining({
        key: '56-LookCoin',
        field: 'address',
        file: join(dir, 'bscmainnet.json'),
        ...positionOfText(text, `"${lookCoin.address}"`),
      }),
    ]);
    expect(
      withCode(result, 'MISSING_RECORD')
        .map((f) => [f.key, f.file])
        .sort(),
    ).toEqual([
      ['84532-LookCoin', join(dir, 'basesepolia.json')],
      ['97-OnlyInStore', join(dir, 'bsctestnet.json')],
    ]);
    expect(result.ok).toBe(false);
    await store.close();
  });

  it('compareWith: an equal store adds no findings', async () => {
    const store = new MemoryStore();
    await store.open();
    await store.putMany([
      cleanRecord(56, 'LookCoin', 0),
      cleanRecord(56, 'contracts/xchain/Router.sol:Router', 1),
      cleanRecord(84532, 'LookCoin', 2),
    ]);
    const result = await validateDeployments(dir, { compareWith: store });
    expect(result.comparison).toMatchObject({ equal: true, left: { count: 3 }, right: { count: 3 } });
    expect(result.findings).toEqual([]);
  });
});

describe('validateDeployments network names', () => {
  it('CHAIN_MISMATCH: a network name that belongs to another chain', async () => {
    await put(dir, 'bscmainnet.json', render({ ...stateDocument(56, []), network: 'bsctestnet' }));
    const f = await expectOneAt(await validateDeployments(dir), 'CHAIN_MISMATCH', 'bscmainnet.json', '"bsctestnet"');
    expect(f.pointer).toBe('/network');
  });
});
