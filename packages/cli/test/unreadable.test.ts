// Entries a side cannot read (a LevelDB value that is not JSON): compare and verify list them with
// side, key, file and finding code, in text and --json, and exit 1 while any is not accounted for.
import { join } from 'node:path';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, useSample } from './helpers.js';

interface Unreadable {
  side: string;
  key: string;
  file?: string;
  finding: { code: string };
  known: boolean;
}

const fixture = useSample('deploystate-cli-unreadable-', { demo: false });
let dir: string;
let leveldb: string;
const run = (args: string[]) => deploystate(args, { cwd: dir });
const unreadableOf = (doc: Record<string, unknown>): Unreadable[] => doc.unreadable as Unreadable[];

beforeAll(async () => {
  dir = join(fixture.root, 'store');
  leveldb = join(dir, 'leveldb');
  // Two records and one value no JSON parser accepts, as a crashed or foreign writer leaves it.
  await writeLegacyStore(leveldb, [
    { key: '97-Token', value: sampleRecord(97, 'Token', 'bsctestnet') },
    { key: '97-Vault', value: sampleRecord(97, 'Vault', 'bsctestnet') },
    { key: '97-Broken', raw: '{not json' },
  ]);
});

describe('unreadable entries', () => {
  it('compare lists the undecodable value with side, key, folder and finding code (text and --json) and exits 1', async () => {
    const json = await run(['compare', '--json']);
    expect(json.code, json.stderr).toBe(1);
    expect(unreadableOf(onlyDocument(json))).toEqual([
      expect.objectContaining({
        side: 'leveldb',
        key: '97-Broken',
        finding: expect.objectContaining({ code: 'UNDECODABLE_VALUE' }),
        known: false,
      }),
    ]);
    const text = await run(['compare']);
    expect(text.code, text.stderr).toBe(1);
    const line = text.stdout.split('\n').find((l) => l.includes('97-Broken'));
    expect(line).toContain('unreadable leveldb');
    expect(line).toContain(leveldb);
    expect(line).toContain('UNDECODABLE_VALUE');
    expect(text.stdout).toContain('1 unreadable');
  });

  it('check names the key of an undecodable value once, and where its text stops parsing', async () => {
    const check = await run(['check']);
    expect(check.code).toBe(1);
    const line = check.stdout.split('\n').find((l) => l.includes('97-Broken')) ?? '';
    expect(line).toMatch(/UNDECODABLE_VALUE\s+97-Broken: invalid JSON at line 1, column \d+/);
    expect(line.split('97-Broken')).toHaveLength(2);
  });

  it('once the key is excluded it is listed as known and the equal stores pass; a new undecodable value fails them again', async () => {
    expect((await run(['dual-write', 'enable', '--yes'])).code).toBe(0);
    const copy = await run(['migrate', '--exclude', '97-Broken', '--yes']);
    expect(copy.code, copy.stderr).toBe(0);
    const known = await run(['compare', '--json']);
    expect(known.code, known.stderr).toBe(0);
    expect(unreadableOf(onlyDocument(known))).toEqual([expect.objectContaining({ key: '97-Broken', known: true })]);
    // Every record is equal on both sides now: the only thing wrong is the unknown unreadable value.
    await writeLegacyStore(leveldb, [{ key: '97-Garbled', raw: '\u0000\u0001' }]);
    const compare = await run(['compare', '--json']);
    expect(compare.code, compare.stderr).toBe(1);
    const doc = onlyDocument(compare);
    expect([doc.missingInJson, doc.missingInLeveldb, doc.differing]).toEqual([[], [], []]);
    expect(unreadableOf(doc).filter((u) => !u.known)).toEqual([
      expect.objectContaining({ side: 'leveldb', key: '97-Garbled', finding: expect.objectContaining({ code: 'UNDECODABLE_VALUE' }) }),
    ]);
    const verify = await run(['verify', '--json']);
    expect(verify.code, verify.stderr).toBe(1);
    const report = onlyDocument(verify) as { clean: boolean; comparison: Record<string, unknown> };
    expect(report.clean).toBe(false);
    expect(unreadableOf(report.comparison).map((u) => [u.key, u.known])).toEqual([
      ['97-Broken', true],
      ['97-Garbled', false],
    ]);
    const text = await run(['verify']);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/unreadable leveldb\s+97-Garbled .*UNDECODABLE_VALUE/);
  });

  // A mistyped --deployments read as an empty folder: "stores differ: N only in leveldb", exit 1,
  // which sends the operator the wrong way (terminal hunt). validate said STORE_NOT_FOUND.
  it('compare with --deployments naming no folder is STORE_NOT_FOUND naming it, not a difference', async () => {
    const typo = join(dir, 'deploymets');
    const json = await run(['compare', '--deployments', typo, '--json']);
    expect(json.code, json.stderr).toBe(4);
    expect(onlyDocument(json)).toMatchObject({ ok: false, error: { code: 'STORE_NOT_FOUND', file: typo } });
  });
});

