// inJsonForm: a record as every store reads it back. The walk that lets most records through
// without a print and a parse must never let through one whose print and parse differ from it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inJsonForm, JsonNumber, parseLossless, stringifyLossless } from '../src/index.js';
import { jsonLeaf, nestedValue } from './arbitraries.js';

const readBack = (value: unknown): unknown => parseLossless(stringifyLossless(value));

/** Equal value for value: type for type (5 is not 5n), -0 apart from 0, the same own keys, the same prototypes (toStrictEqual reads a `constructor` key as the type). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
  if (x instanceof JsonNumber) return x.text === (y as unknown as JsonNumber).text;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(y, key) && same(x[key], y[key]));
}

class WithToJson {
  constructor(readonly hex: string) {}
  toJSON(): unknown {
    return { type: 'BigNumber', hex: this.hex };
  }
}

// Besides what files hold: what scripts hand in (a Date, a toJSON, undefined, a hand-made literal).
const scriptLeaf: fc.Arbitrary<unknown> = fc.oneof(
  jsonLeaf,
  fc.integer({ min: 0, max: 2 ** 40 }).map((ms) => new Date(ms)),
  fc.integer({ min: 0, max: 2 ** 31 }).map((n) => new WithToJson(`0x${n.toString(16)}`)),
  fc.constant(undefined),
  fc.constantFrom('5', '-0', '1.0', '0.5', '1e21', '12345678901234567890').map((text) => new JsonNumber(text)),
);

const scriptValue = nestedValue(scriptLeaf);

describe('inJsonForm', () => {
  it('gives what a print and a parse give, and hands back the value itself only when that is equal to it', () => {
    fc.assert(
      fc.property(scriptValue, (value) => {
        const record = { value };
        const formed = inJsonForm(record);
        expect(same(formed, readBack(record))).toBe(true);
        if (formed === record) expect(same(readBack(record), record)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('lets plain data through as it is, and forms each value a reader gets otherwise', () => {
    const plain = { a: 'x', n: 1.5, big: 2n ** 64n, list: [1, null, true, { k: -0 }], exact: new JsonNumber('1.0') };
    expect(inJsonForm(plain)).toBe(plain);
    const cases: Array<[unknown, unknown]> = [
      [new Date(0), '1970-01-01T00:00:00.000Z'],
      [2 ** 60, 2n ** 60n],
      [1e21, 10n ** 21n],
      [5n, 5],
      [new JsonNumber('5'), 5],
      [new JsonNumber('0.5'), 0.5],
      [{ toJSON: () => 'own' }, 'own'],
      [[undefined], [null]],
      [new Uint8Array([1, 2]), { 0: 1, 1: 2 }],
    ];
    for (const [given, read] of cases) expect(inJsonForm({ v: given })).toStrictEqual({ v: read });
    expect(inJsonForm({ gone: undefined, kept: 1 })).toStrictEqual({ kept: 1 });
    // eslint-disable-next-line no-sparse-arrays
    expect(inJsonForm({ v: [1, , 3] })).toStrictEqual({ v: [1, null, 3] });
  });
});
