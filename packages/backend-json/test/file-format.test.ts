import { readFile, readdir, writeFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkRegistry, parseLossless, type DeploymentRecord } from '@deploystate/core';
import { parseStateFile, SCHEMA_URL, validateStateFile } from '../src/index.js';
import { rec, storePerTest, withStore } from './helpers.js';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';

const setup = storePerTest();

const LEGACY = `{
  "network": "bscmainnet",
  "chainId": 56,
  "deployer": "0x1111111111111111111111111111111111111111",
  "timestamp": "2024-01-01T00:00:00.000Z",
  "contracts": {
    "LookCoin": {
      "proxy": "0x2222222222222222222222222222222222222222",
      "implementation": "0x3333333333333333333333333333333333333333",
      "note": "kept"
    },
    "Router": {
      "proxy": "0x4444444444444444444444444444444444444444",
      "implementation": "0x5555555555555555555555555555555555555555"
    }
  },
  "implementationHashes": {
    "LookCoin": "0x${'aa'.repeat(32)}"
  },
  "config": {
    "supply": 123456789012345678901234567890,
    "nested": [1, -0, 18446744073709551617, "str"]
  },
  "zeta": true
}
`;

describe('file format', () => {
  it('writes a new file with $schema, version, network, chainId and sorted records, deterministically', async () => {
    const { dir, store } = await setup();
    await store.putMany([rec(56, 'Zeta'), rec(56, 'Alpha', { extra: 1, aField: [2n ** 70n] })]);
    const first = await readFile(join(dir, 'bscmainnet.json'), 'utf8');
    const doc = parseLossless(first) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['$schema', 'schemaVersion', 'network', 'chainId', 'records']);
    expect(doc.$schema).toBe(SCHEMA_URL);
    expect(Object.keys(doc.records as object)).toEqual(['Alpha', 'Zeta']);
    expect(Object.keys((doc.records as Record<string, object>).Alpha ?? {})).toEqual([
      'contractName',
      'chainId',
      'networkName',
      'address',
      'proxyAddress',
      'implementationHash',
      'factoryByteCodeHash',
      'deploymentArgs',
      'timestamp',
      'aField',
      'extra',
    ]);
    expect(first.endsWith('}\n')).toBe(true);
    expect(first).toContain('\n  "records": {\n    "Alpha": {');
    expect(first).toContain('1180591620717411303424');
    expect(validateStateFile(doc, 'bscmainnet.json')).toEqual([]);

    // The same state written in another order into another folder gives the same bytes.
    const other = await withStore();
    try {
      await other.store.put(rec(56, 'Alpha', { extra: 1, aField: [2n ** 70n] }));
      await other.store.put(rec(56, 'Zeta'));
      expect(await readFile(join(other.dir, 'bscmainnet.json'), 'utf8')).toBe(first);
    } finally {
      await other.done();
    }
  });

  it('says a file is plain only without exact numbers, and validates it the same either way', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'Alpha'));
    await store.put(rec(56, 'Beta', { aField: [1, 2] }));
    const file = join(dir, 'bscmainnet.json');
    const plainText = await readFile(file, 'utf8');
    // A record the schema refuses (a timestamp that is no number), and the same with exact numbers
    // (a timestamp beyond 2^53 is an integer to the schema, as the exact value is).
    const broken = plainText.replace(/"timestamp": \d+/, '"timestamp": "soon"');
    const exact = broken
      .replace('"aField": [\n        1,', '"aField": [\n        1180591620717411303424,')
      .replace(/"timestamp": \d+/, '"timestamp": 1180591620717411303424');
    expect(exact.match(/1180591620717411303424/g)).toHaveLength(2);
    for (const [text, plain, found] of [
      [plainText, true, 0],
      [broken, true, 1],
      [exact, false, 1],
    ] as const) {
      const model = parseStateFile(text, file, 56);
      expect(model.plain === true).toBe(plain);
      const findings = validateStateFile(model.document, file, { plain: model.plain === true });
      expect(findings).toEqual(validateStateFile(model.document, file));
      expect(findings.map((f) => f.code)).toEqual(Array(found).fill('SCHEMA_VIOLATION'));
    }
  });

  it('skips the write when the bytes would not change', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'A'));
    const before = await stat(join(dir, 'bscmainnet.json'), { bigint: true });
    await store.put(rec(56, 'A'));
    const result = await store.replaceChain(56, [rec(56, 'A')]);
    expect(result).toMatchObject({ changed: false, removed: [] });
    const after = await stat(join(dir, 'bscmainnet.json'), { bigint: true });
    expect(after.ino).toBe(before.ino);
  });

  it('adopts a legacy file: other keys keep value and order, contracts and implementationHashes follow the records they list', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await writeFile(file, LEGACY);
    expect(await store.list(56)).toEqual([]);
    const lookcoin = rec(56, 'LookCoin', {
      proxyAddress: '0x' + '66'.repeat(20),
      address: '0x' + '77'.repeat(20),
      implementationHash: '0x' + 'bb'.repeat(32),
    });
    await store.put(lookcoin);
    await store.put(rec(56, 'NotListed'));
    const text = await readFile(file, 'utf8');
    const doc = parseLossless(text) as Record<string, Record<string, unknown>>;
    const legacy = parseLossless(LEGACY) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc)).toEqual(['$schema', 'schemaVersion', ...Object.keys(legacy), 'records']);
    for (const key of ['network', 'chainId', 'deployer', 'timestamp', 'config', 'zeta']) expect(doc[key]).toEqual(legacy[key]);
    expect(text).toContain('123456789012345678901234567890');
    expect(text).toContain('18446744073709551617');
    expect(text).toContain('-0');
    expect(doc.contracts?.LookCoin).toEqual({ proxy: lookcoin.proxyAddress, implementation: lookcoin.address, note: 'kept' });
    expect(doc.contracts?.Router).toEqual(legacy.contracts?.Router);
    expect(Object.keys(doc.contracts ?? {})).toEqual(['LookCoin', 'Router']);
    expect(doc.implementationHashes).toEqual({ LookCoin: lookcoin.implementationHash });
    expect(Object.keys(doc.records ?? {})).toEqual(['LookCoin', 'NotListed']);
    expect(validateStateFile(doc)).toEqual([]);
  });

  it('refuses a legacy file whose chainId disagrees with its name, and writes nothing', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    const text = LEGACY.replace('"chainId": 56', '"chainId": 97');
    await writeFile(file, text);
    await expect(store.get(56, 'A')).rejects.toMatchObject({ code: 'CHAIN_MISMATCH' });
    await expect(store.put(rec(56, 'A'))).rejects.toMatchObject({ code: 'CHAIN_MISMATCH' });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('refuses a schemaVersion from the future and leaves the file alone', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    const text = JSON.stringify({ schemaVersion: 2, network: 'bscmainnet', chainId: 56, records: {} });
    await writeFile(file, text);
    await expect(store.get(56, 'A')).rejects.toMatchObject({ code: 'UNSUPPORTED_SCHEMA_VERSION' });
    await expect(store.put(rec(56, 'A'))).rejects.toMatchObject({ code: 'UNSUPPORTED_SCHEMA_VERSION' });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it.each([
    ['empty', ''],
    ['truncated', '{\n  "schemaVersion": 1,\n  "network": "bscmainnet",\n  "chainId": 56,\n  "records": {\n    "A": {"contractName": "A"'],
    ['garbage', 'not json at all'],
    ['an array', '[]'],
    ['records not an object', '{"schemaVersion":1,"chainId":56,"records":[1]}'],
  ])('reports a %s file as CORRUPTED naming the file, and never writes over it', async (_label, text) => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await writeFile(file, text);
    const error = await store.get(56, 'A').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CORRUPTED', file });
    if (text.startsWith('{\n')) expect((error as { position?: { line: number } }).position?.line).toBeGreaterThan(1);
    await expect(store.put(rec(56, 'A'))).rejects.toMatchObject({ code: 'CORRUPTED' });
    await expect(store.replaceChain(56, [rec(56, 'A')])).rejects.toMatchObject({ code: 'CORRUPTED' });
    expect(await readFile(file, 'utf8')).toBe(text);
    const report = await store.checkIntegrity();
    expect(report.ok).toBe(false);
    expect(report.findings.some((f) => f.file === file)).toBe(true);
  });

  it('reports a records entry that is not a record with its key, and refuses to rewrite it until replaced', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    const good = rec(56, 'Good');
    const text = JSON.stringify(
      {
        schemaVersion: 1,
        network: 'bscmainnet',
        chainId: 56,
        records: { Bad: { contractName: 'Bad', chainId: 56 }, Good: good, Moved: rec(56, 'Other') },
      },
      null,
      2,
    );
    await writeFile(file, text);
    expect(await store.get(56, 'Good')).toEqual(good);
    await expect(store.get(56, 'Bad')).rejects.toMatchObject({ code: 'CORRUPTED', key: '56-Bad' });
    await expect(store.list(56)).rejects.toMatchObject({ code: 'CORRUPTED' });
    const invalid: string[] = [];
    const keys: string[] = [];
    for await (const entry of store.iterate({ onInvalid: (e) => invalid.push(`${e.key}:${e.finding.code}`) })) keys.push(entry.key);
    expect(keys).toEqual(['56-Good']);
    expect(invalid).toEqual(['56-Bad:INVALID_RECORD', '56-Moved:PLACE_MISMATCH']);
    const report = await store.checkIntegrity();
    expect(report.findings.filter((f) => f.key === '56-Bad').map((f) => f.code)).toEqual(['INVALID_RECORD']);
    await expect(store.put(rec(56, 'New'))).rejects.toMatchObject({ code: 'CORRUPTED' });
    expect(await readFile(file, 'utf8')).toBe(text);
    const replaced = await store.replaceChain(56, [good]);
    expect(replaced.removed).toEqual(['56-Bad', '56-Moved']);
    // The backup is the file as it was before the replacement, so the removed entries can be recovered.
    expect(await readFile(replaced.backup as string, 'utf8')).toBe(text);
    expect((await store.list(56)).map((r) => r.contractName)).toEqual(['Good']);
  });

  it('never touches or chokes on foreign files and hidden folders', async () => {
    const { dir, store } = await setup();
    const foreign = {
      'bscmainnet-config.json': '{"chainId": 56, "rpc": "x"}',
      'notes.txt': 'hello',
      'broken.json': '{{{',
      'bsc.json': '{"chainId":56}',
    };
    for (const [name, text] of Object.entries(foreign)) await writeFile(join(dir, name), text);
    await mkdir(join(dir, '.history'));
    await writeFile(join(dir, '.history', 'bscmainnet_20240101.json'), '{"old": true');
    await store.putMany([rec(56, 'A'), rec(97, 'B')]);
    const keys: string[] = [];
    for await (const entry of store.iterate()) keys.push(entry.key);
    expect(keys).toEqual(['56-A', '97-B']);
    expect((await store.checkIntegrity()).findings.filter((f) => f.severity === 'error')).toEqual([]);
    for (const [name, text] of Object.entries(foreign)) expect(await readFile(join(dir, name), 'utf8')).toBe(text);
    expect(await readFile(join(dir, '.history', 'bscmainnet_20240101.json'), 'utf8')).toBe('{"old": true');
    expect((await readdir(dir)).sort()).toEqual(
      [
        '.deploystate',
        '.history',
        'bsc.json',
        'bscmainnet-config.json',
        'bscmainnet.json',
        'broken.json',
        'bsctestnet.json',
        'notes.txt',
      ].sort(),
    );
    expect(await readFile(join(dir, '.deploystate', '.gitignore'), 'utf8')).toBe('*\n');
    expect((await store.listStateFiles()).map((f) => f.chainId)).toEqual([56, 97]);
  });

  it('keeps a chain stored as chain-<id>.json under that name after it is registered: a new list never renames a file', async () => {
    const { dir, store, open } = await setup();
    await store.put(rec(777, 'Early', { networkName: 'chain-777' }));
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual(['chain-777.json']);
    await store.close();
    const registry = new NetworkRegistry().register({ chainId: 777, name: 'newnet', tier: 'testnet' });
    const later = await open({ registry });
    expect((await later.get(777, 'Early'))?.contractName).toBe('Early');
    expect((await later.listStateFiles()).map((f) => f.file)).toEqual([join(dir, 'chain-777.json')]);
    await later.put(rec(777, 'Late', { networkName: 'newnet' }));
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual(['chain-777.json']);
    expect((await later.list(777)).map((r: DeploymentRecord) => r.contractName)).toEqual(['Early', 'Late']);
  });

  it('cannot be made to write outside its folder by anything in a record', async () => {
    // The store sits four folders deep in a temp root of its own, so every `..` in the record stays
    // inside the root and the whole root can be listed (a shared temp folder changes under other tests).
    const root = await makeTempDir('deploystate-escape-');
    try {
      const dir = join(root, 'a', 'b', 'c', 'deployments');
      await mkdir(dir, { recursive: true });
      const { JsonFileStore } = await import('../src/index.js');
      const store = new JsonFileStore({ dir });
      await store.open();
      const before = await readdir(root, { recursive: true });
      await store.put(rec(56, '../../escape', { networkName: '../../../tmp/evil', contractName: '../../escape' }));
      await store.put(rec(56, '/etc/passwd', { networkName: '/etc' }));
      expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual(['bscmainnet.json']);
      const added = (await readdir(root, { recursive: true })).filter((n) => !before.includes(n));
      expect(added.filter((n) => !n.startsWith(join('a', 'b', 'c', 'deployments')))).toEqual([]);
      expect((await store.get(56, '../../escape'))?.contractName).toBe('../../escape');
      await store.close();
    } finally {
      await removeTempDir(root);
    }
  });

  it('refuses a missing folder unless asked to create it', async () => {
    const { dir } = await setup();
    const { JsonFileStore } = await import('../src/index.js');
    const missing = join(dir, 'nope', 'deployments');
    await expect(new JsonFileStore({ dir: missing }).open()).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    const created = new JsonFileStore({ dir: missing, create: true });
    await created.open();
    await created.put(rec(56, 'A'));
    await created.close();
    expect((await stat(join(missing, 'bscmainnet.json'))).isFile()).toBe(true);
  });
});
