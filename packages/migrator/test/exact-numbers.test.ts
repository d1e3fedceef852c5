// Number literals no double holds as written, through every phase: migrate, verify, cut-over,
// rollback and migrate again leave each literal byte-exact in JSON and in LevelDB; and the
// round-trip proof fails, naming key and field, when a lossy codec is swapped in.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isJsonNumber, numberLiteralValue, sampleRecord, stringifyLossless } from '@deploystate/core';
import { LevelDbStore, writeLegacyStore } from '@deploystate/backend-leveldb';
import { DIGEST_FORMAT } from '@deploystate/core';
import { Migration, stateFiles, type RoundTripCodec } from '../src/index.js';
import { updateState } from '../src/state.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-exact-');

// The literals, plus generated ones of each kind (long fractions, exponents beyond the
// double range, non-shortest forms), seeded so a failure is reproducible.
function literals(): string[] {
  const fixed = [
    '0.1000000000000000055511151231257827',
    '1.5e-400',
    '1e400',
    '-2.5E+999',
    '1e21',
    '1.0',
    '2.50',
    '-0.0',
    '-0',
    '18446744073709551617',
    '-18446744073709551617',
    '115792089237316195423570985008687907853269984665640564039457584007913129639935',
  ];
  let seed = 17;
  const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const digits = (n: number): string => Array.from({ length: n }, () => String(next(10))).join('');
  const generated: string[] = [];
  for (let i = 0; i < 12; i++) {
    generated.push(`${next(2) ? '-' : ''}${next(1000)}.${digits(18 + next(20))}${1 + next(9)}`);
    generated.push(`${1 + next(9)}.${digits(1 + next(5))}e${next(2) ? '-' : ''}${400 + next(4000)}`);
    generated.push(`${next(10_000)}.${'0'.repeat(1 + next(3))}`);
  }
  return [...fixed, ...generated];
}

/** The raw LevelDB text of a record holding `values` under `exact`, as another writer left it. */
function rawRecord(name: string, values: readonly string[]): string {
  const record = stringifyLossless(sampleRecord(56, name, 'bscmainnet'));
  return `${record.slice(0, -1)},"exact":[${values.join(',')}],"when":1.723e12}`;
}

async function levelDbTexts(path: string, key: string): Promise<string> {
  const store = new LevelDbStore({ path, idleCloseMs: 0 });
  await store.open();
  try {
    const [chainId, name] = [56, key.slice(3)];
    return stringifyLossless(await store.get(chainId, name));
  } finally {
    await store.close();
  }
}

describe('exact number literals through the migration', () => {
  it('keeps every literal byte-exact in JSON and LevelDB through migrate, verify, cut-over, rollback and migrate again', async () => {
    const values = literals();
    const leveldb = join(tempDir(), 'leveldb');
    await writeLegacyStore(leveldb, [
      { key: '56-Exact', raw: rawRecord('Exact', values) },
      { key: '56-Plain', value: sampleRecord(56, 'Plain', 'bscmainnet') },
    ]);
    const migration = await Migration.open({ cwd: tempDir() });
    const analysis = await migration.analyze();
    expect(analysis.roundTrip.failures).toEqual([]);
    // Every literal the number model keeps as a JsonNumber (not -0, a number; not the plain big
    // integers, bigints), plus `when`.
    const exact = values.filter((v) => isJsonNumber(numberLiteralValue(v))).length;
    expect(exact).toBe(values.length - 4);
    expect(analysis.findings.filter((f) => f.code === 'EXACT_NUMBER_LITERAL').length).toBe(exact + 1);
    expect(analysis.findings.filter((f) => f.code === 'BIG_NUMBER_LITERAL').length).toBe(3);

    const json = join(tempDir(), 'deployments', 'bscmainnet.json');
    const expectJsonExact = async (): Promise<void> => {
      const text = await readFile(json, 'utf8');
      expect(text).toContain(`"exact": [\n        ${values.join(',\n        ')}\n      ]`);
      expect(text).toContain('"when": 1.723e12');
    };
    const expectLevelDbExact = async (): Promise<void> => {
      const text = await levelDbTexts(leveldb, '56-Exact');
      expect(text).toContain(`"exact":[${values.join(',')}]`);
    };

    await migration.enableDualWrite();
    await migration.migrate();
    await expectJsonExact();
    expect((await migration.verify()).clean).toBe(true);
    await migration.promote();
    await migration.cutover();
    await expectJsonExact();
    expect((await migration.status()).phase).toBe('json-only');
    await migration.rollback();
    expect((await migration.status()).phase).toBe('leveldb-only');
    await expectLevelDbExact();
    await migration.enableDualWrite();
    await migration.migrate();
    await expectJsonExact();
    await expectLevelDbExact();
    expect((await migration.verify()).clean).toBe(true);
  });

  it("fails the round-trip proof naming key and field when a lossy codec is swapped in", async () => {
    await writeLegacyStore(join(tempDir(), 'leveldb'), [
      { key: '56-Exact', raw: rawRecord('Exact', ['0.1000000000000000055511151231257827']) },
      // -0 and a big integer alone in their field: each must fail the proof on its own.
      { key: '56-NegZero', raw: rawRecord('NegZero', ['-0']) },
      { key: '56-Big', raw: rawRecord('Big', ['18446744073709551617']) },
      { key: '56-Plain', value: sampleRecord(56, 'Plain', 'bscmainnet') },
    ]);
    // What a plain JSON codec does: every number through a double.
    const lossy: RoundTripCodec = {
      parse: (text) => JSON.parse(text) as unknown,
      stringify: (value) => JSON.stringify(value, (_key, v: unknown) => (isJsonNumber(v) || typeof v === 'bigint' ? Number(v) : v)),
    };
    const migration = await Migration.open({ cwd: tempDir() });
    const report = await migration.analyze({ roundTripCodec: lossy });
    expect(report.ok).toBe(false);
    expect(report.roundTrip.failures.map((f) => [f.key, f.field]).sort()).toEqual([
      ['56-Big', 'exact'],
      ['56-Big', 'when'],
      ['56-Exact', 'exact'],
      ['56-Exact', 'when'],
      ['56-NegZero', 'exact'],
      ['56-NegZero', 'when'],
    ]);
    // The same store with the toolkit's codec passes.
    expect((await migration.analyze()).roundTrip.failures).toEqual([]);
  });

  it('treats verify evidence in another digest format as stale: promote asks for a fresh verify', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const verify = await migration.verify();
    expect(verify.evidence.digestFormat).toBe(DIGEST_FORMAT);
    // Evidence as an earlier version recorded it: no digest format.
    await updateState(stateFiles(migration.paths), (s) => {
      if (s.lastVerify) delete s.lastVerify.digestFormat;
    });
    await expect(migration.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    expect((await migration.status()).phase).toBe('dual-write');
    await migration.verify();
    await migration.promote();
    expect((await migration.status()).phase).toBe('json-primary');
  });
});
