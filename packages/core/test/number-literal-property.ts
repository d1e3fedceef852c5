// The number-literal property, shared by the suite (codec.test.ts) and the one-off soak
// (soak-number-literals.ts): every literal parses to its exact value, integers beyond 2^53 as the
// exact bigint, a literal a double would change as written (JsonNumber), everything else as the
// nearest double. The expected value comes from decimal
// arithmetic on the text, independent of the codec.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { isJsonNumber, parseLossless } from '../src/index.js';
import { MAX_SAFE, numberLiteral } from './arbitraries.js';

/**
 * The exact value of a literal as a bigint when it is an integer, else null: the literal is read as
 * digits x 10^exponent and is an integer exactly when 10^-exponent divides the digits.
 */
export function exactInteger(literal: string): bigint | null {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) throw new Error(`not a JSON number literal: ${literal}`);
  const [, sign, whole = '', fraction = '', exponentText = '0'] = match;
  const digits = BigInt(whole + fraction) * (sign === '-' ? -1n : 1n);
  const exponent = BigInt(exponentText) - BigInt(fraction.length);
  if (exponent >= 0n) return digits * 10n ** exponent;
  const divisor = 10n ** -exponent;
  return digits % divisor === 0n ? digits / divisor : null;
}

export const parsesToExactValue = fc.property(numberLiteral, (literal) => {
  const value = parseLossless(literal);
  const integer = exactInteger(literal);
  if (/^-?[0-9]+$/.test(literal) && integer !== null && (integer > MAX_SAFE || integer < -MAX_SAFE)) {
    assert.equal(value, integer, literal);
  } else if (typeof value === 'number') {
    assert.ok(Object.is(value, Number(literal)), `${literal} parsed to ${String(value)}, not ${Number(literal)}`);
  } else {
    // A literal a double would change is kept as written (JsonNumber), its value the same double.
    assert.ok(isJsonNumber(value), `${literal} parsed to ${String(value)}`);
    assert.equal(value.text, literal);
    assert.ok(Object.is(Number(value), Number(literal)), literal);
  }
});
