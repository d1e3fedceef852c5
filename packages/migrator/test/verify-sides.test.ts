// Verify takes the file's record for a LevelDB value whose text is exactly that record as printed,
// without parsing the value. It must find every difference the plain comparison finds, with the
// same digests: a byte difference that is the same state, an exact literal changed on one side,
// a record on one side only, a value that does not decode.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, writeLegacyStore, type LegacyEntry } from '@deploystate/backend-leveldb';
import type { StateFileModel } from '@deploystate/backend-json';
import { canonicalDigest, parseLossless, sampleRecord, stringifyLossless, type InvalidEntry, type StoreEntry } from '@deploystate/core';
import { Migration, resolvePaths } from '../src/index.js';
import { identical, PairedDigests } from '../src/file-digests.js';
import { ChainFiles, leveldbSide, sameAsFile } from '../src/verify-sides.js';
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
async function verifyAgainstPlain(dir: string) {
  const migration = await Migration.open({ cwd: dir });
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
    const files = new ChainFiles((chainId) => (chainId === 56 ? file : undefined));
    const model = (await files.read(56))?.model as StateFileModel;
    expect(model.records.size).toBe(3);
    const store = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await store.open();
    const invalid: InvalidEntry[] = [];
    const seen: StoreEntry[] = [];
    try {
      for await (const entry of leveldbSide(store, files, new PairedDigests(), (e) => invalid.push(e))) seen.push(entry);
    } finally {
      await store.close();
    }
    const byKey = new Map(seen.map((entry) => [entry.key, entry]));
    // Printed alike (an exact literal included): the file's own record object, nothing parsed.
    expect(byKey.get('56-Exact')?.record).toBe(model.records.get('Exact'));
    expect(byKey.get('56-Plain')?.record).toBe(model.records.get('Plain'));
    // Other bytes, the same state: decoded, not taken from the file, and the same digest.
    const decoded = byKey.get('56-Reordered')?.record;
    expect(decoded).not.toBe(model.records.get('Reordered'));
    expect(canonicalDigest(decoded)).toBe(canonicalDigest(model.records.get('Reordered')));
    // A chain without a file, and a value that does not decode, as the store reads them.
    expect(byKey.get('97-Alone')?.record).toEqual(sampleRecord(97, 'Alone', 'bsctestnet'));
    expect(invalid.map((e) => [e.key, e.finding.code])).toEqual([['56-Broken', 'UNDECODABLE_VALUE']]);
    for (const entry of seen) expect(entry.digest).toBe(canonicalDigest(entry.record));
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
  it('holds only where decoding the value would give a record identical to the file one', () => {
    const literals = ['1.0', '-0', '1e400', '1.5e-400', '0.1000000000000000055511151231257827', '18446744073709551617', '"\\u00e9\\ud83d\\ude00"', '"é"'];
    for (const literal of literals) {
      const fromFile = parseLossless(`{\n  "contractName": "X",\n  "odd": ${literal},\n  "__proto__": [${literal}]\n}`) as never;
      const printed = stringifyLossless(fromFile);
      expect(sameAsFile(printed, fromFile)).toBe(fromFile);
      expect(identical(parseLossless(printed), fromFile)).toBe(true);
      // Any other text for the same value decodes instead.
      expect(sameAsFile(` ${printed}`, fromFile)).toBeUndefined();
    }
    expect(sameAsFile('{"contractName":"X"}', undefined)).toBeUndefined();
  });
});
