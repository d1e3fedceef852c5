import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalDigest,
  canonicalDigests,
  canonicalEncode,
  canonicalEncodeAll,
  canonicalEqual,
  cloneRecord,
  compactTextsAndDigests,
  compareKeys,
  ErrorCodes,
  generateRecords,
  isJsonNumber,
  StoreDigest,
  textDigest,
} from '../src/index.js';
import { SEPARATOR } from '../src/print-together.js';
import { jsonValue, objectOf, trickyKey } from './arbitraries.js';
import { stringifyLossless } from '../src/index.js';

const digestOf = (entries: Array<[string, unknown]>): string => {
  const digest = new StoreDigest();
  for (const [key, record] of entries) digest.add(key, record);
  return digest.digest();
};

describe('canonical form', () => {
  it('encodes 5 and 5n, and an unsafe double and its bigint, as one value', () => {
    expect(canonicalEncode(5)).toBe(canonicalEncode(5n));
    expect(canonicalEncode({ a: [5] })).toBe(canonicalEncode({ a: [5n] }));
    expect(canonicalEncode(1e21)).toBe(canonicalEncode(10n ** 21n));
    expect(canonicalEqual(-0, 0)).toBe(false);
    expect(canonicalEqual('5', 5)).toBe(false);
  });

  it('ignores key order and sorts keys in UTF-8 byte order', () => {
    expect(canonicalEncode({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalEncode({ '\u{1f600}': 1, '\uff5e': 2 })).toBe('{"\uff5e":2,"\u{1f600}":1}');
    expect(
      canonicalEncode(
        objectOf([
          ['__proto__', 1],
          ['a', 2],
        ]),
      ),
    ).toBe('{"__proto__":1,"a":2}');
  });

  it('drops undefined members like JSON does and refuses what has no JSON form', () => {
    expect(canonicalEncode({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(() => canonicalEncode(Number.NaN)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
    expect(() => canonicalEncode(() => 1)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
  });

  it('is the same for any key order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'binary' }), jsonValue), { maxLength: 8 }), (entries) => {
        const unique = [...new Map(entries).entries()];
        expect(canonicalEncode(objectOf(unique))).toBe(canonicalEncode(objectOf([...unique].reverse())));
      }),
      { numRuns: 1000 },
    );
  });

  it('has equal digests exactly when the canonical forms are equal (property)', () => {
    fc.assert(
      fc.property(jsonValue, jsonValue, (a, b) => {
        expect(canonicalDigest(a) === canonicalDigest(b)).toBe(canonicalEncode(a) === canonicalEncode(b));
        expect(canonicalDigest(a)).toBe(canonicalDigest(cloneRecord(a)));
      }),
      { numRuns: 3000 },
    );
  });
});

/** The encoding as first written (sorted keys, arrays joined): the fast one must print byte for byte the same. */
function referenceEncode(value: unknown): string {
  if (value === null || typeof value !== 'object' || isJsonNumber(value)) return canonicalEncode(value);
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : referenceEncode(item))).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort(compareKeys)) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${referenceEncode(item)}`);
  }
  return `{${parts.join(',')}}`;
}

describe('canonical form, as fast as it is exact', () => {
  it('prints exactly what the reference encoding prints, keys in or out of order (property)', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(canonicalEncode(value)).toBe(referenceEncode(value));
      }),
      { numRuns: 3000 },
    );
    const odd = { z: [1, , 3], y: undefined, é: 1, '\u{1f600}': 2, '\ue000': 3, a: { b: [{ d: 1, c: 2 }] } };
    expect(canonicalEncode(odd)).toBe(referenceEncode(odd));
  });

  it('prints records of plain leaves (the engine prints those) exactly as the reference does (property)', () => {
    const leaf = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-0, 0, 2 ** 53, -(2 ** 53), 1e21, 1e-7, true, false, null, undefined),
    );
    const flat = fc.oneof(leaf, fc.sparseArray(leaf, { maxLength: 4 }), fc.array(fc.array(leaf, { maxLength: 3 }), { maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(trickyKey, flat), { maxLength: 10 }), (entries) => {
        const record = objectOf(entries);
        expect(canonicalEncode(record)).toBe(referenceEncode(record));
      }),
      { numRuns: 3000 },
    );
    // Records from one source share a field order: the second and later are printed from the kept sort.
    for (const record of [{ b: 1, a: -0 }, { b: 2, a: 1 }, { b: [2 ** 60], a: 'x' }, { b: '\ud800', a: [1, , 2] }])
      expect(canonicalEncode(record)).toBe(referenceEncode(record));
  });

  it('prints many values at once exactly as it prints each alone, whatever mix of shapes (property)', () => {
    const leaf = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.maxSafeInteger(), fc.constantFrom(-0, 2 ** 60, 1e21, 5n, null, undefined));
    const record = fc.array(fc.tuple(trickyKey, fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }))), { maxLength: 6 }).map(objectOf);
    fc.assert(
      fc.property(fc.array(fc.oneof(record, jsonValue), { maxLength: 12 }), (values) => {
        expect(canonicalEncodeAll(values)).toEqual(values.map((v) => referenceEncode(v)));
      }),
      { numRuns: 1000 },
    );
    // Records of one shape out of byte order (printed from copies), in order, with an index key or
    // __proto__ (printed alone), a string that looks like a separator, and values that are no record.
    const mixed: unknown[] = [
      ...generateRecords(4),
      { a: 1, b: [2, 'x'] },
      objectOf([
        ['b', 1],
        ['10', 2],
      ]),
      objectOf([
        ['__proto__', 1],
        ['a', 2],
      ]),
      { b: ',"\\u0000canonical-x#",', a: '\u0000' },
      5n,
      'text',
      [{ b: 1, a: 2 }],
      ...generateRecords(3),
    ];
    expect(canonicalEncodeAll(mixed)).toEqual(mixed.map((v) => referenceEncode(v)));
    expect(canonicalDigests(mixed)).toEqual(mixed.map((v) => canonicalDigest(v)));
    expect(canonicalEncodeAll([])).toEqual([]);
  });

  it('gives each value both texts, compact and digested, exactly as printed one way at a time (property)', () => {
    const leaf = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.maxSafeInteger(), fc.constantFrom(-0, 2 ** 60, 1e21, 5n, null, undefined));
    const record = fc.array(fc.tuple(trickyKey, fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }))), { maxLength: 6 }).map(objectOf);
    const both = (values: unknown[]): { texts: string[]; digests: string[] } => ({
      texts: values.map((v) => stringifyLossless(v)),
      digests: values.map((v) => canonicalDigest(v)),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(record, jsonValue), { maxLength: 12 }), (values) => {
        expect(compactTextsAndDigests(values)).toEqual(both(values));
      }),
      { numRuns: 1000 },
    );
    // Past one run of records, with values printed alone among them: an index key, a bigint, -0, and
    // the marker itself (which sends its whole run to be printed alone).
    const mixed: unknown[] = generateRecords(300);
    mixed.splice(
      7,
      0,
      objectOf([
        ['b', 1],
        ['10', 2],
      ]),
      { b: 2n ** 70n, a: 1 },
      { a: -0 },
    );
    mixed.splice(200, 0, { a: ['x', SEPARATOR] });
    expect(compactTextsAndDigests(mixed)).toEqual(both(mixed));
    expect(compactTextsAndDigests([])).toEqual({ texts: [], digests: [] });
  });

  it('prints an own key that is not enumerable as canonicalEncode does (not at all), beside a record that lists it', () => {
    const listed = { a: 1, zz: 'x' };
    const hidden = { a: 2 };
    Object.defineProperty(hidden, 'zz', { value: 'hidden', enumerable: false });
    const values = [listed, hidden];
    expect(canonicalEncodeAll(values)).toEqual(['{"a":1,"zz":"x"}', '{"a":2}']);
    expect(canonicalDigests(values)).toEqual(values.map((v) => canonicalDigest(v)));
  });

  it('keeps the digests of the generated records (pinned)', () => {
    expect(generateRecords(3).map((r) => canonicalDigest(r))).toEqual(generateRecords(3).map((r) => textDigest(referenceEncode(r))));
    expect(textDigest('{}')).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('StoreDigest', () => {
  const a: [string, unknown] = ['56-A', { v: 1 }];
  const b: [string, unknown] = ['56-B', { v: 2 }];
  const c: [string, unknown] = ['97-C', { v: 3 }];

  it('is the same for the same records and counts them', () => {
    const digest = new StoreDigest().add(...a).add(...b);
    expect(digest.size).toBe(2);
    expect(digest.digest()).toBe(digestOf([a, b]));
    expect(digest.digest()).toBe(digest.digest());
  });

  it('differs when a record moves to another key, is duplicated, or changes compensate', () => {
    const base = digestOf([a, b, c]);
    expect(digestOf([['56-A', { v: 2 }], ['56-B', { v: 1 }], c])).not.toBe(base);
    expect(digestOf([a, ['56-A2', { v: 1 }], b, c])).not.toBe(base);
    // A sum of per-record values would not see +1 on one record and -1 on another.
    expect(digestOf([['56-A', { v: 0 }], ['56-B', { v: 3 }], c])).not.toBe(base);
    expect(digestOf([a, b])).not.toBe(base);
    expect(digestOf([])).not.toBe(digestOf([a]));
  });

  it('matches records by canonical form: 5 and 5n, any key order', () => {
    expect(digestOf([['1-X', { x: 5, y: 'z' }]])).toBe(digestOf([['1-X', { y: 'z', x: 5n }]]));
  });

  it('is sha256 over each line as added, whatever it gathers before hashing (past its batch size, non-ASCII keys, read midway)', () => {
    const reference = createHash('sha256');
    const digest = new StoreDigest();
    // Enough lines to pass the gathered size several times; names with accents, emoji and a lone surrogate.
    const names = Array.from({ length: 3000 }, (_, i) => `${String(i).padStart(5, '0')}-\u00e9\u{1f600}${i % 7 === 0 ? '\ud800' : ''}`);
    names.forEach((name, i) => {
      const key = `56-${name}`;
      const recordDigest = canonicalDigest({ i });
      digest.addDigest(key, recordDigest);
      reference.update(`${key}\u0000${recordDigest}\n`);
      if (i === 1234) expect(digest.digest()).toBe(reference.copy().digest('hex'));
    });
    expect(digest.digest()).toBe(reference.copy().digest('hex'));
    expect(digest.size).toBe(3000);
  });

  it('throws INVALID_ARGUMENT on keys out of order or repeated', () => {
    expect(() => new StoreDigest().add(...b).add(...a)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => new StoreDigest().add(...a).add(...a)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    // JavaScript's sort puts U+1F600 before U+FF5E; key order (UTF-8) does not.
    expect(() => new StoreDigest().add('1-\u{1f600}', 1).add('1-\uff5e', 1)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    expect(() => new StoreDigest().add('1-\uff5e', 1).add('1-\u{1f600}', 1)).not.toThrow();
  });
});
