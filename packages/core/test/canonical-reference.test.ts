// The canonical text is evidence (journals, written.json, cutover digests) compared across
// versions: the encoder must print every byte as the reference below does. The reference is the
// encoding as first written: the engine's printer for every string and key, keys sorted, no batch.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalDigest,
  canonicalDigests,
  canonicalEncode,
  canonicalEncodeAll,
  compactTextsAndDigests,
  compareKeys,
  generateRecords,
  isJsonNumber,
  JsonNumber,
  productionSample,
  sampleRecord,
  stringifyLosslessAll,
} from '../src/index.js';
import { jsonNumberText } from '../src/json-number.js';
import { jsonValue, objectOf, trickyKey } from './arbitraries.js';

function reference(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return jsonNumberText(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (isJsonNumber(value)) return value.text;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(!(i in value) ? '' : value[i] === undefined ? 'null' : reference(value[i]));
        return `[${items.join(',')}]`;
      }
      const parts: string[] = [];
      for (const key of Object.keys(value).sort(compareKeys)) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${reference(item)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new Error(`no JSON form for ${typeof value}`);
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const STRINGS = [
  '',
  'plain',
  'quote " in',
  'back\\slash',
  'tab\tnew\nline\r',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028\u2029',
  'é ü 中文',
  '😀 pair',
  '\ud800 lone high',
  'lone low \udfff',
  '\udfff\ud800',
  '0x' + 'ab'.repeat(32),
  '/',
  '<script>',
];
const KEYS = ['__proto__', 'constructor', '0', '10', '2', '-1', '1e3', '', 'a', 'B', 'é', '😀', '"', '\\', '\n', 'toString'];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 1e300, 3.141592653589793, 5e-324];
const EXACT = ['1.0', '1e400', '-0', '-0.0', '0.10000000000000000000001', '123456789012345678901234567890.5', '1E+2', '2e-400'];
const BIGINTS = [2n ** 64n + 1n, -(2n ** 256n), 10n ** 21n, 5n, 0n, -1n];

/** Values an encoder might print differently: each string, key and number above, alone and nested. */
function corpus(): unknown[] {
  const leaves: unknown[] = [...STRINGS, ...NUMBERS, ...EXACT.map((t) => new JsonNumber(t)), ...BIGINTS, true, false, null];
  const out: unknown[] = [...leaves, {}, [], [[]], [{}], { a: {} }, [undefined, null], [1, , 3]];
  for (const key of KEYS) {
    out.push(
      objectOf([[key, 'x']]),
      objectOf([
        [key, 1n],
        ['b', key],
      ]),
      objectOf([
        ['z', [key]],
        [key, { [key]: key }],
      ]),
    );
  }
  out.push(objectOf(KEYS.map((key, i) => [key, leaves[i % leaves.length]])));
  out.push(objectOf([...KEYS].reverse().map((key, i) => [key, [leaves[i % leaves.length], { n: leaves[(i + 3) % leaves.length] }]])));
  out.push({ b: undefined, a: 1 }, { only: undefined });
  out.push(Object.assign(Object.create(null) as object, { z: 1, a: '2' }));
  return out;
}

function records(): unknown[] {
  const sample = productionSample();
  return [...sample.records, ...sample.devJunk, ...generateRecords(500), sampleRecord(1, 'X', 'x'), sampleRecord(10, 'é😀"', 'n\\', 3)];
}

describe('canonical encoding, byte for byte the reference', () => {
  it('prints the corpus of odd values and the sample records as the reference does, digests too', () => {
    const values = [...corpus(), ...records()];
    for (const value of values) {
      const expected = reference(value);
      expect(canonicalEncode(value)).toBe(expected);
      expect(canonicalDigest(value)).toBe(sha256(expected));
    }
    const expectedTexts = values.map(reference);
    expect(canonicalEncodeAll(values)).toEqual(expectedTexts);
    expect(canonicalDigests(values)).toEqual(expectedTexts.map(sha256));
    const both = compactTextsAndDigests(values);
    expect(both.digests).toEqual(expectedTexts.map(sha256));
    expect(both.texts).toEqual(stringifyLosslessAll(values));
  });

  it('prints records whose fields come in another order, and every string, as the reference does', () => {
    const shuffled = records().map((r) => Object.fromEntries(Object.entries(r as object).reverse()));
    for (const value of shuffled) expect(canonicalEncode(value)).toBe(reference(value));
    for (const text of STRINGS)
      for (const key of KEYS) {
        const value = objectOf([[key + text, text + key]]);
        expect(canonicalEncode(value)).toBe(reference(value));
      }
  });

  it('prints any value of the number model as the reference does', () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue, fc.array(fc.tuple(trickyKey, jsonValue), { maxLength: 8 }).map(objectOf)), (value) => {
        expect(canonicalEncode(value)).toBe(reference(value));
      }),
      { numRuns: 600 },
    );
  });
});
