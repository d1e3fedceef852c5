// The codec's quick look (codec-scan.ts): a text it passes goes straight to native JSON.parse, so
// it must never pass a text holding a literal a double would change, wherever that literal sits
// and whatever whitespace surrounds it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateRecords, parseLossless, parseLosslessDocument, parseLosslessSlow, stringifyLossless } from '../src/index.js';
import { lastLookCommas, onlySafeShortIntegers, onlySafeShortIntegersCountingCommas, scan } from '../src/codec-scan.js';
import { numberLiteral, shape } from './arbitraries.js';

const RUNS = 2000;
const ws = fc.constantFrom('', ' ', '\n', '\n    ', '\t', '\r\n  ');
const shortInteger = fc.integer({ min: -999_999_999, max: 999_999_999 }).map(String);
// Strings holding what looks like literals and terminators, so the look-back meets them too.
const trickyString = fc
  .constantFrom('1.5,', '12345678901234567890]', 'a-1e5}', '0.1', '"', '\\', 'x,', '9}', '7]', '-0.0,', '1e400')
  .map((s) => JSON.stringify(s));

const stateLikeText: fc.Arbitrary<string> = fc.letrec<{ text: string }>((tie) => ({
  text: fc.oneof(
    { depthSize: 'small' },
    shortInteger,
    shortInteger,
    numberLiteral,
    trickyString,
    fc.constantFrom('true', 'null'),
    fc.tuple(ws, ws, fc.array(fc.tuple(tie('text'), ws), { maxLength: 4 })).map(
      ([open, close, items]) => `[${open}${items.map(([v, after]) => `${v}${after}`).join(`,${open}`)}${close}]`,
    ),
    fc.tuple(ws, ws, fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('text'), ws), { maxLength: 4 })).map(
      ([open, close, entries]) => `{${open}${entries.map(([k, v, after]) => `${JSON.stringify(k)}:${open}${v}${after}`).join(`,${open}`)}${close}}`,
    ),
  ),
})).text;

describe('codec quick look: only safe short integers', () => {
  it('never passes a text whose full scan finds a literal to keep exact', () => {
    fc.assert(
      fc.property(stateLikeText, (text) => {
        // The look for a value its caller walks (the duplicate-key count) passes the same texts,
        // having met every comma, those inside strings too.
        const passed = onlySafeShortIntegersCountingCommas(text);
        if (passed) expect(lastLookCommas()).toBe(text.split(',').length - 1);
        expect(onlySafeShortIntegers(text)).toBe(passed);
        if (passed) expect(scan(text).values).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the reference parser’s result on every such text, either way it goes', () => {
    fc.assert(
      fc.property(stateLikeText, (text) => {
        let reference: string;
        try {
          reference = shape(parseLosslessSlow(text));
        } catch {
          expect(() => parseLossless(text)).toThrow();
          expect(() => parseLosslessDocument(text)).toThrow();
          return;
        }
        expect(shape(parseLossless(text))).toBe(reference);
        expect(shape(parseLosslessDocument(text).value)).toBe(reference);
      }),
      { numRuns: RUNS },
    );
  });

  it('stops at each literal a double would change, before a comma, bracket or brace, spaced or not', () => {
    for (const literal of ['1.0', '1e2', '1E400', '1.5e-400', '-1e-5', '0.1000000000000000055511151231257827', '1234567890123456', '-1234567890123456', '-0.0']) {
      for (const text of [`[${literal}]`, `[1,${literal} ]`, `{"a":${literal}}`, `{"a": ${literal}\n}`, `[${literal}\n,2]`, literal, ` ${literal} `]) {
        expect(onlySafeShortIntegers(text), text).toBe(false);
        expect(onlySafeShortIntegersCountingCommas(text), text).toBe(false);
        expect(shape(parseLossless(text))).toBe(shape(parseLosslessSlow(text)));
      }
    }
  });

  it('passes a state file of short integers, so native parsing reads it', () => {
    const records = generateRecords(40);
    const text = stringifyLossless({ schemaVersion: 1, records: Object.fromEntries(records.map((r) => [r.contractName, r])) }, 2);
    expect(onlySafeShortIntegers(text)).toBe(true);
    expect(onlySafeShortIntegers(text.replace('"schemaVersion": 1', '"schemaVersion": 1.0'))).toBe(false);
    expect(onlySafeShortIntegers(text.replace('"schemaVersion": 1', '"schemaVersion": 123456789012345678'))).toBe(false);
  });
});
