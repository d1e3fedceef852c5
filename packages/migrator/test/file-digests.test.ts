// What verify learned from a network file's bytes is reused only while the file is unchanged: a
// rewrite between the comparison and the co-owned files check is read again, never trusted.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalDigest, generateRecords, parseLossless } from '@deploystate/core';
import { fileSignature, identical, KnownFileDigests, PairedDigests } from '../src/file-digests.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-file-digests-');

describe('KnownFileDigests', () => {
  it('keeps what was recorded while the file keeps its signature, and forgets it once the file is rewritten', async () => {
    const file = join(tempDir(), 'bscmainnet.json');
    await writeFile(file, '{"a":1}\n');
    const known = new KnownFileDigests();
    const seen = known.begin(file, fileSignature(file));
    expect(seen).toBeDefined();
    seen?.records.set('Token', { digest: 'd', timestamp: '1' });
    expect(known.get(file)?.records.get('Token')).toEqual({ digest: 'd', timestamp: '1' });
    await appendFile(file, ' ');
    expect(known.get(file)).toBeUndefined();
  });

  it('records nothing for a file that changed between the stat before its read and the one after', async () => {
    const file = join(tempDir(), 'bsctestnet.json');
    await writeFile(file, '{"a":1}\n');
    const before = fileSignature(file);
    await writeFile(file, '{"a":22}\n');
    const known = new KnownFileDigests();
    expect(known.begin(file, before)).toBeUndefined();
    expect(known.get(file)).toBeUndefined();
    expect(known.begin(join(tempDir(), 'missing.json'), undefined)).toBeUndefined();
  });
});

describe('PairedDigests', () => {
  it("gives each side its own record's canonical digest, whether the two sides agree or not", () => {
    const [a, b] = generateRecords(2, [56]);
    if (!a || !b) throw new Error('no sample records');
    const paired = new PairedDigests();
    const key = `56-${a.contractName}`;
    // Equal records (one holding a bigint where the other holds the same number): one digest.
    const left = paired.left({ key, record: { ...a, timestamp: BigInt(a.timestamp as number) } });
    const right = paired.right({ key, record: { ...a } });
    expect([left.digest, right.digest]).toEqual([canonicalDigest(a), canonicalDigest(a)]);
    // A differing record under the same key, and a record under another key, are hashed on their own.
    const changed = { ...a, address: b.address };
    const l2 = paired.left({ key, record: a });
    const r2 = paired.right({ key, record: changed });
    expect([l2.digest, r2.digest]).toEqual([canonicalDigest(a), canonicalDigest(changed)]);
    expect(paired.right({ key: `56-${b.contractName}`, record: a }).digest).toBe(canonicalDigest(a));
  });
});

describe('identical', () => {
  it('holds only for the same value of the same types', () => {
    const [a] = generateRecords(1, [56]);
    if (!a) throw new Error('no sample record');
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    expect(identical(a, reordered)).toBe(true);
    expect(identical(a, { ...a, address: `${a.address}0` })).toBe(false);
    expect(identical({ x: 5 }, { x: 5n })).toBe(false);
    expect(identical({ x: 0 }, { x: -0 })).toBe(false);
    expect(identical({ x: undefined }, {})).toBe(false);
    expect(identical([1, 2], [1, 2, 3])).toBe(false);
    expect(identical([1, , 3], [1, undefined, 3])).toBe(false);
    const [one, onePointZero, oneAgain] = parseLossless('[1.0, 1.00, 1.0]') as unknown[];
    expect(identical(one, onePointZero)).toBe(false);
    expect(identical(one, oneAgain)).toBe(true);
    expect(identical(one, 1)).toBe(false);
    expect(identical(null, {})).toBe(false);
  });

  it('lets PairedDigests give the canonical digest of each side, literals and numbers included', () => {
    const paired = new PairedDigests();
    const pairs: Array<[unknown, unknown]> = [
      [{ n: 5 }, { n: 5n }],
      [{ n: 0 }, { n: -0 }],
      [parseLossless('{"n": 1.0}'), parseLossless('{"n": 1.00}')],
      [parseLossless('{"n": 1e400}'), parseLossless('{"n": 1e400}')],
    ];
    pairs.forEach(([left, right], i) => {
      const key = `56-K${i}`;
      const l = paired.left({ key, record: left as never });
      const r = paired.right({ key, record: right as never });
      expect([l.digest, r.digest]).toEqual([canonicalDigest(left), canonicalDigest(right)]);
    });
  });
});
