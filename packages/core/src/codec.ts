// The lossless JSON codec. Deployment state holds integers beyond 2^53 (as bare literals and as
// strings); every path through the toolkit parses and prints them with every digit intact.
//
// Number model: safe integers and all non-integers parse as `number`; integers outside the safe
// range parse as `bigint`. A `bigint` prints as a bare integer literal. `-0` survives both ways.
import JSONbigFactory from 'json-bigint';
import { ErrorCodes, StateError } from './errors.js';

// protoAction/constructorAction 'preserve': json-bigint's defaults throw on any key that merely
// contains `constructor` (e.g. `constructorArgs`). Its objects have a null prototype, so a
// `__proto__` key stays an ordinary key; `toPlain` below keeps it one on plain objects.
// useNativeBigInt stays off: with it a float longer than 15 characters throws in BigInt().
const jsonBig = JSONbigFactory({ protoAction: 'preserve', constructorAction: 'preserve' });

interface BigNumberLike {
  _isBigNumber: true;
  isInteger(): boolean;
  toFixed(): string;
  toString(): string;
}

function isBigNumber(value: unknown): value is BigNumberLike {
  return typeof value === 'object' && value !== null && (value as { _isBigNumber?: unknown })._isBigNumber === true;
}

/** A value of the number model as bigint when it is an integer outside the safe range. */
export function normalizeInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function toPlain(value: unknown): unknown {
  if (isBigNumber(value)) {
    return value.isInteger() ? normalizeInteger(BigInt(value.toFixed())) : Number(value.toString());
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toPlain(value[i]);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = toPlain((value as Record<string, unknown>)[key]);
      if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
      else out[key] = item;
    }
    return out;
  }
  return value;
}

// Every number at or above 2^53 has at least 16 digits, so a text without a run of 16 digits
// holds no number that native JSON.parse could round; such texts take the native path.
const LONG_DIGIT_RUN = /\d{16}/;

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
  if (!LONG_DIGIT_RUN.test(text)) return native;
  // The native parse above has proven the grammar; json-bigint only supplies exact numbers.
  return toPlain(jsonBig.parse(text));
}

function syntaxError(text: string, error: unknown, options: ParseOptions): StateError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /position (\d+)/.exec(message);
  const offset = match ? Number(match[1]) : text.length;
  const position = positionOf(text, offset);
  const where = options.source ? `${options.source}: ` : '';
  const detail = text.trim().length === 0 ? 'empty text' : `invalid JSON at line ${position.line}, column ${position.column}`;
  return new StateError(ErrorCodes.CORRUPTED, `${where}${detail}`, {
    ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
    position,
    cause: error,
  });
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
      return Object.is(value, -0);
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

function printNumber(value: number): string {
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value)) throw new StateError(ErrorCodes.INVALID_RECORD, `${value} cannot be stored as JSON`);
  return String(value);
}

function printValue(value: unknown, gap: string, indent: string): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return printNumber(value);
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
