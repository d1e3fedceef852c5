// Shared fast-check arbitraries: JSON values of the number model, and JSON texts written the many
// ways a number literal can be written.
import fc from 'fast-check';
import { JsonNumber, isJsonNumber } from '../src/index.js';

export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Keys that trip naive parsers, mixed with arbitrary Unicode keys. */
export const trickyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'constructorArgs', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '0', '10', ''),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

const unsafeBigint = fc.oneof(
  fc.bigInt({ min: MAX_SAFE + 1n, max: 2n ** 300n }),
  fc.bigInt({ min: -(2n ** 300n), max: -MAX_SAFE - 1n }),
  fc.constantFrom(MAX_SAFE + 1n, MAX_SAFE + 2n, -MAX_SAFE - 1n, -MAX_SAFE - 2n, 2n ** 64n + 1n, 2n ** 256n - 1n),
);

export const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.stringMatching(/^-?[0-9]{1,40}$/),
  fc.maxSafeInteger(),
  fc.maxSafeInteger().map(BigInt),
  unsafeBigint,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 0.30000000000000004, 3.141592653589793, 1e21, 1e-7, 2 ** 53, -(2 ** 53), 1e300),
  fc.boolean(),
  fc.constant(null),
  fc.constant(null).chain(() => exactLiteral).map((text) => new JsonNumber(text)),
);

/** Builds an object with own data properties, so a `__proto__` key is an ordinary key. */
export function objectOf(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Values nesting `leaf` in arrays and objects (tricky keys), a few levels deep. */
export function nestedValue(leaf: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.array(fc.tuple(trickyKey, tie('value')), { maxLength: 5 }).map(objectOf),
    ),
  })).value;
}

export const jsonValue: fc.Arbitrary<unknown> = nestedValue(jsonLeaf);

/** A number literal as JSON text may write it: any size, fractions, exponents, -0. */
export const numberLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.bigInt({ min: -(10n ** 45n), max: 10n ** 45n }).map(String),
  fc.maxSafeInteger().map(String),
  fc.constantFrom(
    '-0',
    '0',
    '-0.0',
    '1e21',
    '1E-7',
    '1e400',
    '-1e400',
    '1e-400',
    '-1e-400',
    '9007199254740993',
    '1234567890123456',
    '0.30000000000000004',
    '0.1000000000000000055511151231257827',
    '1.5e-400',
    '1.0',
    '2.50',
    '1E5',
    '-0.0000000000000000',
    '100000000000000000000000000000000.5',
  ),
  fc
    .tuple(
      fc.boolean(),
      fc.stringMatching(/^(0|[1-9][0-9]{0,24})$/),
      fc.option(fc.stringMatching(/^[0-9]{1,24}$/)),
      fc.option(fc.tuple(fc.constantFrom('e', 'E', 'e+', 'e-', 'E-'), fc.integer({ min: 0, max: 330 }))),
    )
    .map(
      ([negative, whole, fraction, exponent]) =>
        `${negative ? '-' : ''}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `${exponent[0]}${exponent[1]}`}`,
    ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? '-0' : String(d))),
);

/** A literal no double or bigint prints back as written: each one parses to a JsonNumber. */
export const exactLiteral: fc.Arbitrary<string> = fc.oneof(
  // More than 17 significant digits in a fraction. Zeros that lead the fraction of a literal below
  // 1 are not significant: 0.0010254468719601488 holds 17, and a double prints it back as written.
  fc
    .tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,5})$/), fc.stringMatching(/^[0-9]{18,40}[1-9]$/))
    .filter(([, whole, fraction]) => whole !== '0' || fraction.replace(/^0+/, '').length > 17)
    .map(([negative, whole, fraction]) => `${negative ? '-' : ''}${whole}.${fraction}`),
  // Exponents beyond the double range, either way.
  fc
    .tuple(fc.boolean(), fc.integer({ min: 1, max: 9 }), fc.constantFrom('e', 'E'), fc.constantFrom('-', ''), fc.integer({ min: 400, max: 5000 }))
    .map(([negative, digit, e, sign, exponent]) => `${negative ? '-' : ''}${digit}.5${e}${sign}${exponent}`),
  // Forms other than the shortest: trailing zeros, exponents of integers.
  fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 4 })).map(([n, zeros]) => `${n}.${'0'.repeat(zeros)}`),
  fc.integer({ min: 21, max: 300 }).map((e) => `1e${e}`),
);

const space = fc.constantFrom('', ' ', '\n  ', '\t');

/** JSON texts whose literals are written in every way numberLiteral writes them. */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ text: string }>((tie) => ({
  text: fc.oneof(
    { depthSize: 'small' },
    numberLiteral,
    numberLiteral,
    exactLiteral,
    fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.stringMatching(/^[0-9]{14,30}$/)).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null'),
    fc.tuple(space, fc.array(tie('text'), { maxLength: 5 })).map(([ws, items]) => `[${ws}${items.join(`,${ws}`)}]`),
    fc
      .tuple(space, fc.array(fc.tuple(trickyKey, tie('text')), { maxLength: 5 }))
      .map(([ws, entries]) => `{${ws}${entries.map(([k, v]) => `${JSON.stringify(k)}:${ws}${v}`).join(',')}}`),
  ),
})).text;

/**
 * A typed description of a value: numbers and bigints tagged apart, -0 visible, keys in the order
 * they are held. Two values with the same shape are the same in the number model, type for type.
 */
export function shape(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? 'n:-0' : `n:${value}`;
    case 'bigint':
      return `b:${value}`;
    case 'string':
      return `s:${JSON.stringify(value)}`;
    case 'object':
      if (value === null) return 'null';
      if (isJsonNumber(value)) return `x:${value.text}`;
      if (Array.isArray(value)) return `[${value.map(shape).join(',')}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype) return `!proto{${String(Object.getPrototypeOf(value))}}`;
      return `{${Object.keys(value)
        .map((k) => `${JSON.stringify(k)}:${shape((value as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    default:
      return `${typeof value}:${String(value)}`;
  }
}

/** What a value becomes in the number model: safe integers as number, unsafe as bigint. */
export function inNumberModel(value: unknown): unknown {
  if (isJsonNumber(value)) return value;
  if (typeof value === 'bigint') return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(inNumberModel);
  if (typeof value === 'object' && value !== null)
    return objectOf(Object.keys(value).map((k) => [k, inNumberModel((value as Record<string, unknown>)[k])] as const));
  return value;
}
