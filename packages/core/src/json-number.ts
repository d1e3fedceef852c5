// The number model: which JavaScript value each JSON number literal becomes, and how each prints.
// A literal stays exactly as written on every path: a `number` when printing that double gives the
// literal back, a `bigint` for plain digits beyond the safe range, and a JsonNumber (the literal's
// text) for everything else: 0.1000000000000000055511151231257827, 1.5e-400, 1e21, 1.0.
import { ErrorCodes, StateError } from './errors.js';

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const PLAIN_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);
// Several copies of core (an ESM and a CJS build, two versions) may meet in one process.
const BRAND = Symbol.for('@deploystate/core.JsonNumber');

// Set only while the codec prints through native JSON.stringify (synchronously; see codec.ts):
// toJSON then gives the text behind a mark the printer turns back into the bare literal.
let printMark: string | undefined;

/** For the codec's printer only (not exported from the package): returns the mark it replaces. */
export function setPrintMark(mark: string | undefined): string | undefined {
  const previous = printMark;
  printMark = mark;
  return previous;
}

/** Integers longer than this many digits are refused: a bigger one is an attack, not state. */
export const MAX_INTEGER_DIGITS = 100_000;

/**
 * A JSON number literal that no `number` or `bigint` prints back as written: more than 17
 * significant digits in a fraction, an exponent beyond the double range, or a form other than the
 * shortest (`1.0`, `1e21`, `2.50`). It carries the literal's text, prints as that text, and is equal
 * (canonically, in digests and comparisons) only to a value that prints the same text. Immutable.
 */
export class JsonNumber {
  /** The literal exactly as written in the JSON text. */
  readonly text: string;
  declare private readonly [BRAND]: true;

  /** Throws INVALID_ARGUMENT unless `text` is a JSON number literal. */
  constructor(text: string) {
    if (typeof text !== 'string' || !JSON_NUMBER.test(text)) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${JSON.stringify(String(text)).slice(0, 60)} is not a JSON number literal`);
    }
    this.text = text;
    Object.defineProperty(this, BRAND, { value: true });
    Object.freeze(this);
  }

  /** The nearest double (0 or +-Infinity beyond the double range): for arithmetic, not for storing. */
  toNumber(): number {
    return Number(this.text);
  }

  /** Whether the literal's exact value is an integer (`1e21`, `1.50e2`, `2.0`). */
  isInteger(): boolean {
    return exactInteger(this.text) !== undefined;
  }

  /** The exact integer value; RangeError when the value has a fraction or is beyond MAX_INTEGER_DIGITS. */
  toBigInt(): bigint {
    const value = exactInteger(this.text);
    if (value === undefined) throw new RangeError(`${this.text} is not an integer within ${MAX_INTEGER_DIGITS} digits`);
    return value;
  }

  valueOf(): number {
    return this.toNumber();
  }

  toString(): string {
    return this.text;
  }

  /**
   * What native JSON.stringify prints: a string holding the text, since it cannot print a bare
   * literal it did not make. The codec's printer (stringifyLossless) prints the literal itself.
   */
  toJSON(): string {
    return printMark === undefined ? this.text : printMark + this.text;
  }

  /** Whether a value is a JsonNumber, from this copy of the package or another. */
  static isJsonNumber(value: unknown): value is JsonNumber {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** Whether a value is a JsonNumber (also one made by another copy of this package). */
export const isJsonNumber = JsonNumber.isJsonNumber;

/** The exact integer value of a literal, or undefined when it has a fraction or is too long. */
function exactInteger(text: string): bigint | undefined {
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return 0n;
  const places = exponent - fraction.length;
  if (places < 0) {
    if (/[1-9]/.test(digits.slice(places))) return undefined;
    const kept = digits.slice(0, places);
    return kept === '' ? 0n : BigInt(sign + kept);
  }
  if (digits.length + places > MAX_INTEGER_DIGITS) return undefined;
  return BigInt(sign + digits + '0'.repeat(places));
}

/**
 * The JSON text of a JavaScript number: `-0` kept, NaN and Infinity refused with INVALID_RECORD,
 * an integer printed as its exact digits (what `BigInt(value)` gives), so `1e21` prints as
 * `1000000000000000000000` and reads back as the same integer as `10n ** 21n`.
 */
export function jsonNumberText(value: number): string {
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value)) throw new StateError(ErrorCodes.INVALID_RECORD, `${value} has no JSON form`);
  // A safe integer already prints as plain digits; beyond 2^53 String() would give an exponent.
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value);
}

/**
 * The value of one JSON number literal in the number model (the literal must be valid JSON):
 * a `number` when it prints back as the same text, a `bigint` for plain digits beyond the safe
 * range, else a JsonNumber. Throws RangeError for plain digits beyond MAX_INTEGER_DIGITS.
 */
export function numberLiteralValue(text: string): number | bigint | JsonNumber {
  if (PLAIN_INTEGER.test(text)) {
    const digits = text.charCodeAt(0) === 45 ? text.length - 1 : text.length;
    // 2^53 - 1 has 16 digits: fewer are safe, more are not, and 16 compare as text.
    if (digits < 16 || (digits === 16 && text.slice(text.length - 16) <= MAX_SAFE_DIGITS)) return Number(text);
    if (digits > MAX_INTEGER_DIGITS) throw new RangeError(`number literal ${text.slice(0, 40)}... is beyond the ${MAX_INTEGER_DIGITS}-digit limit`);
    return BigInt(text);
  }
  const nearest = Number(text);
  if (Number.isFinite(nearest) && jsonNumberText(nearest) === text) return nearest;
  return new JsonNumber(text);
}

// Below 2^332192 (about 10^99999.7) an integer has at most MAX_INTEGER_DIGITS digits: one compare
// for any integer a record holds, the exact count only for one near the limit.
const WITHIN_DIGITS_FOR_SURE = 1n << 332_192n;

/**
 * Whether an integer prints with more digits than MAX_INTEGER_DIGITS, which no reader takes back
 * (numberLiteralValue): a bigint, or a JsonNumber whose literal is plain digits.
 */
export function beyondDigitLimit(value: bigint | JsonNumber): boolean {
  if (typeof value === 'bigint') {
    const magnitude = value < 0n ? -value : value;
    return magnitude >= WITHIN_DIGITS_FOR_SURE && magnitude.toString().length > MAX_INTEGER_DIGITS;
  }
  const digits = value.text.charCodeAt(0) === 45 ? value.text.length - 1 : value.text.length;
  return digits > MAX_INTEGER_DIGITS && PLAIN_INTEGER.test(value.text);
}

/** Whether a string is a JSON number literal. */
export function isJsonNumberLiteral(text: string): boolean {
  return JSON_NUMBER.test(text);
}
