// Verify takes the file's record for a LevelDB value whose text is exactly that record as printed,
// without parsing the value. It must find every difference the plain comparison finds, with the
// same digests: a byte difference that is the same state, an exact literal changed on one side,
// a record on one side only, a value that does not decode.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, writeLegacyStore, type LegacyEntry } from '@deploystate/backend-leveldb';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest, parseLossless, sampleRecord, stringifyLossless, type InvalidEntry, type StoreEntry } from '@deploystate/core';
import { Migration, resolvePaths } from '../src/index.js';
import { chainFileFacts } from '../src/chain-file-facts.js';
import { chainFileReader } from '../src/chain-file-reader.js';
import { ChainFiles, fileEntry, leveldbSide, sameAsFile, type ReadChainFile } from '../src/verify-sides.js';
import { compareDirect, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-sides-');

/** A record's compact text with `extra` spliced in before its closing brace (another writer's literal). */
const withExtra = (name: string, extra: string): string => `${stringifyLossless(sampleRecord(56, name, 'bscmainnet')).slice(0, -1)},${extra}}`;

/** The same record with its fields in reverse order and spaces after the separators: other bytes, the same state. */
function reordered(name: string): string {
  const record = sampleRecord(56, name, 'bscmainnet');
  return `{ ${Object.keys(record)
    .reverse()
    .map((field) => `${JSON.stringify(field)}: ${stringifyLossless(record[field])}`)
    .join(', ')} }`;
}

/** A LevelDB of `entries` copied to JSON by `migrate`; the migration is closed so either side can be edited. */
async function copied(entries: LegacyEntry[]): Promise<{ dir: string; paths: ReturnType<typeof resolvePaths> }> {
  const dir = tempDir();
  const paths = resolvePaths({ cwd: dir });
  await writeLegacyStore(paths.leveldb, entries);
  const migration = await Migration.open({ cwd: dir });
  try {
    await migration.enableDualWrite();
    await migration.migrate();
  } finally {
    await migration.close();
  }
  return { dir, paths };
}

/** verify, then the plain comparison of the live stores (every value parsed) as the reference it must agree with. */
async function verifyAgainstPlain(dir: string, migrations: Pick<typeof Migration, 'open'> = Migration) {
  const migration = await migrations.open({ cwd: dir });
  let verify;
  try {
    verify = await migration.verify();
  } finally {
    await migration.close();
  }
  const plain = await compareDirect(dir);
  expect(verify.evidence.leveldb).toEqual(plain.left);
  expect(verify.evidence.json).toEqual(plain.right);
  expect(verify.comparison.equal).toBe(plain.equal);
  return verify;
}

const entries = (): LegacyEntry[] => [
  { key: '56-Exact', raw: withExtra('Exact', '"big":18446744073709551617,"fee":1.0') },
  { key: '56-Plain', raw: stringifyLossless(sampleRecord(56, 'Plain', 'bscmainnet')) },
  { key: '56-Reordered', raw: reordered('Reordered') },
];

describe('verify: LevelDB values read as the file records they print as', () => {
  it('takes the file record for a value printed alike and decodes any other, with the digests decoding gives', async () => {
    const { paths } = await copied([...entries(), { key: '97-Alone', value: sampleRecord(97, 'Alone', 'bsctestnet') }]);
    await writeLegacyStore(paths.leveldb, [{ key: '56-Broken', raw: '{"contractName":' }]);
    const file = join(paths.deployments, 'bscmainnet.json');
    const files = new ChainFiles((chainId) => (chainId === 56 ? file : undefined), chainFileReader({ threads: false }));
    const facts = (await files.read(56)) as ReadChainFile;
    expect(facts.names).toEqual(['Exact', 'Plain', 'Reordered']);
    const model = parseStateFile(await readFile(file, 'utf8'), file, 56);
    const store = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await store.open();
    const invalid: InvalidEntry[] = [];
    const seen: StoreEntry[] = [];
    try {
      for await (const entry of leveldbSide(store, files, (e) => invalid.push(e))) seen.push(entry);
    } finally {
      await store.close();
    }
    const byKey = new Map(seen.map((entry) => [entry.key, entry]));
    // Printed alike (an exact literal included): the file's record and the digest computed from it, the value not parsed.
    for (const name of ['Exact', 'Plain']) {
      const entry = byKey.get(`56-${name}`);
      expect(entry?.digest).toBe(facts.digests[facts.names.indexOf(name)]);
      expect(entry?.record).toStrictEqual(model.records.get(name));
    }
    // Other bytes, the same state: decoded, not taken from the file, and the same digest.
    const reordered = byKey.get('56-Reordered');
    expect(reordered?.digest).toBeUndefined();
    expect(canonicalDigest(reordered?.record)).toBe(canonicalDigest(model.records.get('Reordered')));
    // A chain without a file, and a value that does not decode, as the store reads them.
    expect(byKey.get('97-Alone')?.record).toEqual(sampleRecord(97, 'Alone', 'bsctestnet'));
    expect(invalid.map((e) => [e.key, e.finding.code])).toEqual([['56-Broken', 'UNDECODABLE_VALUE']]);
    for (const entry of seen) expect(entry.digest ?? canonicalDigest(entry.record)).toBe(canonicalDigest(entry.record));
  });

  it('is clean where the bytes differ but the state is the same', async () => {
    const { dir } = await copied(entries());
    const verify = await verifyAgainstPlain(dir);
    expect(verify.clean).toBe(true);
    expect(verify.evidence.leveldb.count).toBe(3);
  });

  it('finds an exact literal changed in the file, where the texts were byte-equal', async () => {
    const { dir, paths } = await copied(entries());
    const file = join(paths.deployments, 'bscmainnet.json');
    const text = await readFile(file, 'utf8');
    // 1.0 and 1 are different state: a literal is compared as written.
    await writeFile(file, text.replace('"fee": 1.0', '"fee": 1'));
    expect(await readFile(file, 'utf8')).not.toBe(text);
    const verify = await verifyAgainstPlain(dir);
    expect(verify.clean).toBe(false);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['56-Exact', ['fee']]]);
  });

  it('finds an exact literal changed in LevelDB, the file unchanged', async () => {
    const { dir, paths } = await copied(entries());
    await writeLegacyStore(paths.leveldb, [{ key: '56-Exact', raw: withExtra('Exact', '"big":18446744073709551617,"fee":1.00') }]);
    const verify = await verifyAgainstPlain(dir);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['56-Exact', ['fee']]]);
  });

  it('lists a record on one side only, on either side', async () => {
    const { dir, paths } = await copied(entries());
    await writeLegacyStore(paths.leveldb, [{ key: '56-OnlyInLevelDb', value: sampleRecord(56, 'OnlyInLevelDb', 'bscmainnet') }]);
    // A record only in the file: LevelDB's Plain deleted.
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    expect(await db.delete(56, 'Plain')).toBe(true);
    await db.close();
    const verify = await verifyAgainstPlain(dir);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['56-OnlyInLevelDb']);
    expect(verify.comparison.onlyRight.map((e) => e.key)).toEqual(['56-Plain']);
    expect(verify.comparison.differing).toEqual([]);
  });
});

describe('sameAsFile', () => {
  it('holds only where decoding the value would give a record identical to the file one', async () => {
    const literals = ['1.0', '-0', '1e400', '1.5e-400', '0.1000000000000000055511151231257827', '18446744073709551617', '"\\u00e9\\ud83d\\ude00"', '"é"'];
    const file = join(tempDir(), 'bscmainnet.json');
    const records = literals.map((literal, i) => `"X${i}": ${withExtra(`X${i}`, `"odd": ${literal}, "__proto__": [${literal}]`)}`);
    await writeFile(file, `{ "schemaVersion": 1, "chainId": 56, "records": { ${records.join(', ')} } }`);
    const facts = (await new ChainFiles(() => file, chainFileReader({ threads: false })).read(56)) as ReadChainFile;
    const model = parseStateFile(await readFile(file, 'utf8'), file, 56);
    literals.forEach((_, i) => {
      const fromFile = model.records.get(`X${i}`);
      const printed = stringifyLossless(fromFile);
      const at = sameAsFile(printed, facts, `X${i}`) as number;
      expect(facts.names[at]).toBe(`X${i}`);
      // The value printed alike decodes to the file's record exactly, with its digest.
      expect(parseLossless(printed)).toStrictEqual(fromFile);
      expect(fileEntry(`56-X${i}`, facts, at).record).toStrictEqual(fromFile);
      expect(facts.digests[at]).toBe(canonicalDigest(fromFile));
      // Any other text for the same value decodes instead, and so does a name the file does not hold.
      expect(sameAsFile(` ${printed}`, facts, `X${i}`)).toBeUndefined();
      expect(sameAsFile(printed, facts, 'Other')).toBeUndefined();
    });
  });
});

describe('chain file facts on a worker thread', () => {
  const built = new URL('../dist/chain-file-reader.js', import.meta.url);

  it('are the facts read on this thread, invalid entries and exact literals included', async () => {
    const { paths } = await copied(entries());
    const file = join(paths.deployments, 'bscmainnet.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"records": {', '"records": {\n    "NotARecord": 5,'));
    // The package as built (the worker runs compiled code): the tests run after the build.
    const { chainFileReader: builtReader } = (await import(built.href)) as typeof import('../src/chain-file-reader.js');
    const worker = builtReader();
    try {
      expect(worker.parallel).toBe(true);
      const [there, here] = await Promise.all([worker.read(file, 56), chainFileFacts(file, 56)]);
      expect(there).toEqual(here);
      expect(there.invalid.map(([name, f]) => [name, f.code])).toEqual([['NotARecord', 'INVALID_RECORD']]);
      expect(there.names).toEqual(['Exact', 'NotARecord', 'Plain', 'Reordered']);
    } finally {
      await worker.close();
    }
    // A reader whose thread is gone reads on this thread, with the same result.
    expect(await worker.read(file, 56)).toEqual(await chainFileFacts(file, 56));
  });

  it('verify as built, files read ahead on the worker, finds a difference in a chain the worker read and agrees with the plain comparison', async () => {
    const chains: Array<[number, string]> = [[56, 'bscmainnet'], [97, 'bsctestnet'], [84532, 'basesepolia'], [11155420, 'optimismsepolia']];
    const { dir, paths } = await copied(chains.flatMap(([chainId, network]) => [
      { key: `${chainId}-A`, value: sampleRecord(chainId, 'A', network) },
      { key: `${chainId}-B`, value: sampleRecord(chainId, 'B', network) },
    ]));
    // The last chain's file is one the worker reads ahead: its record changed there.
    const file = join(paths.deployments, 'optimismsepolia.json');
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    (doc.records.B as Record<string, unknown>).address = `0x${'ab'.repeat(20)}`;
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);
    const { Migration: Built } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('../src/index.js');
    const verify = await verifyAgainstPlain(dir, Built);
    expect(verify.evidence.json.count).toBe(8);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['11155420-B', ['address']]]);
    expect(verify.schema.files).toBe(4);
  });
});
