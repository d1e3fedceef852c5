import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainKeyRange, compareKeys, ErrorCodes, parseKey, recordKey, tryParseKey } from '../src/index.js';

const chainId = fc.oneof(fc.constantFrom(0, 1, 5, 56, 560, 97, 31337, 11155420), fc.maxSafeNat());
const contractName = fc.oneof(
  fc.constantFrom('contracts/xchain/Router.sol:Router', 'a-b-c', '1-2', 'with space', '-', ':', '/', '__proto__', '\u{1f600}', '名前'),
  fc.string({ unit: 'binary', minLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1 }),
);
/** Well-formed Unicode (no lone surrogates: UTF-8 cannot hold them). */
const unicodeText = fc.string({ unit: 'binary', maxLength: 8 });

describe('keys', () => {
  it('round-trips any chain id and any name through recordKey and parseKey (property)', () => {
    fc.assert(
      fc.property(chainId, contractName, (id, name) => {
        expect(parseKey(recordKey(id, name))).toEqual({ chainId: id, contractName: name });
      }),
      { numRuns: 3000 },
    );
  });

  it('splits at the first dash, so names keep theirs', () => {
    expect(parseKey('56-a-b')).toEqual({ chainId: 56, contractName: 'a-b' });
    expect(parseKey('97-contracts/x/Y.sol:Y')).toEqual({ chainId: 97, contractName: 'contracts/x/Y.sol:Y' });
    expect(parseKey('1- ')).toEqual({ chainId: 1, contractName: ' ' });
    expect(parseKey('1-line\nbreak')).toEqual({ chainId: 1, contractName: 'line\nbreak' });
  });

  it('refuses what is not a key with INVALID_KEY', () => {
    for (const bad of ['56', '56-', '-Token', '056-Token', 'x-Token', '1.5-Token', '99999999999999999-Token', '']) {
      expect(() => parseKey(bad), bad).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_KEY }));
      expect(tryParseKey(bad)).toBeNull();
    }
    for (const [id, name] of [
      [-1, 'X'],
      [1.5, 'X'],
      [Number.NaN, 'X'],
      [2 ** 53, 'X'],
      [56, ''],
      [56, 'Lone\ud800'],
      [56, '\udc00Tail'],
      [56, 'Swapped\ude00\ud83d'],
    ] as const) {
      expect(() => recordKey(id, name)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_KEY }));
    }
  });

  it('a chainId given as a string of digits (hardhat-deploy getChainId()) is INVALID_KEY shown quoted, with a hint to pass the number', () => {
    expect(() => recordKey('97' as unknown as number, 'X')).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_KEY, message: expect.stringContaining('"97"'), hint: expect.stringContaining('Number(chainId)') }),
    );
    expect(() => recordKey(-1, 'X')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_KEY, hint: undefined }));
  });

  it('orders keys exactly as Buffer.compare orders their UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(unicodeText, unicodeText, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      }),
      { numRuns: 5000 },
    );
  });

  it('orders astral characters after the end of the BMP, unlike JavaScript', () => {
    const pairs: Array<[string, string]> = [
      ['\uff5e', '\u{1f600}'],
      ['\ue000', '\u{10000}'],
      ['\uffff', '\u{10ffff}'],
      ['a', 'ab'],
      ['56-', '56.'],
    ];
    for (const [low, high] of pairs) {
      expect(compareKeys(low, high)).toBeLessThan(0);
      expect(compareKeys(high, low)).toBeGreaterThan(0);
    }
    expect(compareKeys('same', 'same')).toBe(0);
    expect(['\u{1f600}', '\uff5e'].sort()).toEqual(['\u{1f600}', '\uff5e']);
    expect(['\u{1f600}', '\uff5e'].sort(compareKeys)).toEqual(['\uff5e', '\u{1f600}']);
  });

  it('bounds one chain exactly: every key of the chain inside, no key of another chain (property)', () => {
    fc.assert(
      fc.property(chainId, chainId, contractName, (id, other, name) => {
        const { gte, lt } = chainKeyRange(id);
        const key = recordKey(other, name);
        const inside = compareKeys(key, gte) >= 0 && compareKeys(key, lt) < 0;
        expect(inside).toBe(other === id);
      }),
      { numRuns: 3000 },
    );
    expect(chainKeyRange(56)).toEqual({ gte: '56-', lt: '56.' });
    const { gte, lt } = chainKeyRange(5);
    for (const key of ['56-A', '5.x', '50-A', '4-A']) expect(compareKeys(key, gte) >= 0 && compareKeys(key, lt) < 0).toBe(false);
    expect(() => chainKeyRange(-1)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_KEY }));
  });
});
