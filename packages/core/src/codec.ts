// The lossless JSON codec. Deployment state holds integers beyond 2^53 (as bare literals and as
// strings); every path through the toolkit parses and prints them with every digit intact.
//
// Number model: a number literal whose exact value is an integer outside the safe range parses as
// a `bigint` holding that exact value (`18446744073709551617`, `1e21`, `1e400` alike); every other
// literal parses as the nearest `number`, with `-0` kept. A `bigint` prints as a bare integer
// literal; a `number` prints in its shortest exact form, and an integer-valued `number` beyond the
// safe range prints as the digits of its exact value, so it reads back as a `bigint` of that value.
import JSONbigFactory from 'json-bigint';
import { ErrorCodes, StateError } from './errors.js';
import { setOwnProperty } from './record.js';
import { jsonNumberText } from './json-number.js';

// protoAction/constructorAction 'preserve': json-bigint's defaults throw on any key that merely
// contains `constructor` (e.g. `constructorArgs`). Its objects have a null prototype, so a
// `__proto__` key stays an ordinary key; `toPlain` below keeps it one on plain objects.
// useNativeBigInt stays off: with it a float longer than 15 characters throws in BigInt().
// alwaysParseAsBig: otherwise literals of 15 characters or fewer come back as plain doubles, so
// `1e21` would be a number while `1000000000000000000000` is big; with it every literal is a
// BigNumber and `toPlain` applies one rule to all of them.
const jsonBig = JSONbigFactory({ protoAction: 'preserve', constructorAction: 'preserve', alwaysParseAsBig: true });

interface BigNumberLike {
  _isBigNumber: true;
  isInteger(): boolean;
  isFinite(): boolean;
  isZero(): boolean;
  isNegative(): boolean;
  /** Base-10 exponent: the value is about 10^e. */
  e: number | null;
  toFixed(): string;
  toString(): string;
}

/** Integers longer than this many digits are refused: a bigger one is an attack, not state. */
export const MAX_INTEGER_DIGITS = 100_000;

function isBigNumber(value: unknown): value is BigNumberLike {
  return typeof value === 'object' && value !== null && (value as { _isBigNumber?: unknown })._isBigNumber === true;
}

/** A value of the number model as bigint when it is an integer outside the safe range. */
export function normalizeInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function numberOf(value: BigNumberLike): number | bigint {
  if (value.isZero()) return value.isNegative() ? -0 : 0;
  if (!value.isFinite() || (value.e ?? 0) >= MAX_INTEGER_DIGITS) {
    throw new RangeError(`number literal ${value.toString()} is beyond the ${MAX_INTEGER_DIGITS}-digit limit`);
  }
  if (value.isInteger()) return normalizeInteger(BigInt(value.toFixed()));
  const nearest = Number(value.toString());
  // A non-integer too large for a double has no value in the number model.
  if (!Number.isFinite(nearest)) throw new RangeError(`number literal ${value.toString()} overflows a double`);
  return nearest;
}

function toPlain(value: unknown): unknown {
  if (isBigNumber(value)) return numberOf(value);
  if (typeof value === 'string' && value.startsWith(OVERFLOW_MARK)) return overflowLiteral(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toPlain(value[i]);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = toPlain((value as Record<string, unknown>)[key]);
      setOwnProperty(out, key, item);
    }
    return out;
  }
  return value;
}

// Whether native JSON.parse may have lost a value: every literal it rounds to a double within
// the safe range has that double as its value in the number model too (non-integers are doubles;
// a safe integer is exact), so only results beyond +-(2^53 - 1), or infinite, need the slow path.
function nativeIsExact(value: unknown): boolean {
  if (typeof value === 'number') return value <= Number.MAX_SAFE_INTEGER && value >= Number.MIN_SAFE_INTEGER;
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!nativeIsExact(value[i])) return false;
    return true;
  }
  for (const key in value) if (!nativeIsExact((value as Record<string, unknown>)[key])) return false;
  return true;
}

export interface ParseOptions {
  /** Named in errors: the file or key the text came from. */
  source?: string;
  /** Whether `source` is a record key rather than a file. */
  sourceIsKey?: boolean;
}

/** Parses JSON text losslessly. Throws StateError CORRUPTED with the position on invalid text. */
export function parseLossless(text: string, options: ParseOptions = {}): unknown {
  let native: unknown;
  try {
    native = JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, error, options);
  }
  if (nativeIsExact(native)) return native;
  return parseExact(text, options);
}

/**
 * The slow path alone: json-bigint with every number exact. `parseLossless` gives the same result
 * faster; this exists so tests can prove that. Throws CORRUPTED on invalid text.
 */
export function parseLosslessSlow(text: string, options: ParseOptions = {}): unknown {
  try {
    JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, error, options);
  }
  return parseExact(text, options);
}

// The grammar is proven by JSON.parse before this runs; json-bigint only supplies exact numbers.
function parseExact(text: string, options: ParseOptions): unknown {
  try {
    let parsed: unknown;
    try {
      parsed = jsonBig.parse(text);
    } catch (error) {
      // json-bigint refuses literals beyond the double range (`1e400`); hand it those as marked
      // strings instead, which toPlain turns back into exact integers.
      if (!isBadNumber(error)) throw error;
      parsed = jsonBig.parse(markOverflowLiterals(text));
    }
    return toPlain(parsed);
  } catch (error) {
    const where = options.source ? `${options.source}: ` : '';
    const message = error instanceof Error ? error.message : String((error as { message?: unknown } | null)?.message ?? error);
    throw new StateError(ErrorCodes.CORRUPTED, `${where}${message}`, {
      ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
      cause: error,
    });
  }
}

function isBadNumber(error: unknown): boolean {
  return (error as { message?: unknown } | null)?.message === 'Bad number';
}

// U+0000 cannot appear raw inside a JSON string, so no decoded string that came from a valid text
// can start with this mark unless it was written as an escape; the random part rules that out.
const OVERFLOW_MARK = `\u0000overflow-${Math.random().toString(36).slice(2)}:`;
const NUMBER_LITERAL = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function markOverflowLiterals(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \\ */) i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      NUMBER_LITERAL.lastIndex = i;
      const literal = NUMBER_LITERAL.exec(text)?.[0] ?? text[i] ?? '';
      if (!Number.isFinite(Number(literal))) {
        out += `${text.slice(copied, i)}"${OVERFLOW_MARK}${literal}"`;
        copied = i + literal.length;
      }
      i += literal.length - 1;
    }
  }
  return out + text.slice(copied);
}

function overflowLiteral(marked: string): number | bigint {
  const literal = marked.slice(OVERFLOW_MARK.length);
  const exponent = /[eE]([+-]?[0-9]+)$/.exec(literal);
  const [mantissa = ''] = literal.split(/[eE]/);
  const [whole = '', fraction = ''] = mantissa.replace('-', '').split('.');
  const shift = Number(exponent?.[1] ?? 0);
  const digits = (whole + fraction).replace(/^0+/, '');
  const places = shift - fraction.length;
  // Its magnitude is beyond 1.8e308, so the value is an integer unless digits sit after the point.
  const trailing = places < 0 ? digits.slice(places) : '';
  if (places < 0 && /[1-9]/.test(trailing)) throw new RangeError(`number literal ${literal} overflows a double`);
  const integerDigits = places < 0 ? digits.slice(0, places) : digits + '0'.repeat(Math.min(places, MAX_INTEGER_DIGITS));
  if (integerDigits.length > MAX_INTEGER_DIGITS)
    throw new RangeError(`number literal ${literal.slice(0, 40)}... is beyond the ${MAX_INTEGER_DIGITS}-digit limit`);
  const value = BigInt(integerDigits);
  return literal.startsWith('-') ? -value : value;
}

function syntaxError(text: string, error: unknown, options: ParseOptions): StateError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /position (\d+)/.exec(message);
  const offset = match ? Number(match[1]) : locateSyntaxError(text);
  const position = positionOf(text, offset);
  const where = options.source ? `${options.source}: ` : '';
  const detail = text.trim().length === 0 ? 'empty text' : `invalid JSON at line ${position.line}, column ${position.column}`;
  return new StateError(ErrorCodes.CORRUPTED, `${where}${detail}`, {
    ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
    position,
    cause: error,
  });
}

// V8 names no position for an unexpected token; json-bigint's parser stops at the same place.
function locateSyntaxError(text: string): number {
  try {
    jsonBig.parse(text);
  } catch (error) {
    const at = (error as { at?: unknown } | null)?.at;
    if (typeof at === 'number' && at > 0) return at - 1;
  }
  return text.length;
}

/** Line and column (both 1-based) of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number; offset: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1, offset: end };
}

// Whether a value holds anything native JSON.stringify would print wrongly or refuse.
function needsLosslessPrinter(value: unknown): boolean {
  switch (typeof value) {
    case 'bigint':
      return true;
    case 'number':
      if (!Number.isFinite(value)) throw new StateError(ErrorCodes.INVALID_RECORD, `${value} cannot be stored as JSON`);
      // -0 and integer doubles beyond 2^53 (which native prints as 1e+21) need exact printing.
      return Object.is(value, -0) || (!Number.isSafeInteger(value) && Number.isInteger(value));
    case 'object':
      if (value === null) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (needsLosslessPrinter(item)) return true;
        return false;
      }
      for (const key in value) {
        if (Object.hasOwn(value, key) && needsLosslessPrinter((value as Record<string, unknown>)[key])) return true;
      }
      return false;
    default:
      return false;
  }
}

/** Prints a value as JSON with every number exact. `indent` as for JSON.stringify. */
export function stringifyLossless(value: unknown, indent?: number): string {
  if (!needsLosslessPrinter(value)) return JSON.stringify(value, null, indent);
  const gap = indent ? ' '.repeat(indent) : '';
  return printValue(value, gap, '') ?? 'null';
}

function printValue(value: unknown, gap: string, indent: string): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
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
      const inner = indent + gap;
      const open = gap ? `\n${inner}` : '';
      const close = gap ? `\n${indent}` : '';
      const sep = gap ? `,\n${inner}` : ',';
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        const items = value.map((item) => printValue(item, gap, inner) ?? 'null');
        return `[${open}${items.join(sep)}${close}]`;
      }
      const parts: string[] = [];
      for (const key of Object.keys(value)) {
        const printed = printValue((value as Record<string, unknown>)[key], gap, inner);
        if (printed !== undefined) parts.push(`${JSON.stringify(key)}:${gap ? ' ' : ''}${printed}`);
      }
      if (parts.length === 0) return '{}';
      return `{${open}${parts.join(sep)}${close}}`;
    }
    default:
      return undefined;
  }
}
