// The lossless JSON codec. Deployment state holds integers beyond 2^53 (as bare literals and as
// strings) and the odd literal a double cannot hold; every path through the toolkit parses and
// prints each number literal exactly as written. The number model is in json-number.ts.
//
// Parsing: one scan of the text finds the literals a double would change (most texts have none),
// each is replaced by a marked string, native JSON.parse reads the result, and a walk puts the
// exact values back. json-bigint serves one purpose: the position of a syntax error V8 does not
// name. It does not serve as the parser: its numbers lose their written form (1.0 becomes 1),
// it refuses 1e400, and it is several times slower than native parsing.
import JSONbigFactory from 'json-bigint';
import { ErrorCodes, StateError } from './errors.js';
import { setOwnProperty } from './record.js';
import { isJsonNumber, isJsonNumberLiteral, JsonNumber, jsonNumberText, numberLiteralValue } from './json-number.js';
import { parseReference } from './json-reference.js';

export { MAX_INTEGER_DIGITS } from './json-number.js';

// protoAction/constructorAction 'preserve': json-bigint's defaults throw on any key that merely
// contains `constructor` (e.g. `constructorArgs`).
const jsonBig = JSONbigFactory({ protoAction: 'preserve', constructorAction: 'preserve', alwaysParseAsBig: true });

/** A value of the number model as bigint when it is an integer outside the safe range. */
export function normalizeInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export interface ParseOptions {
  /** Named in errors: the file or key the text came from. */
  source?: string;
  /** Whether `source` is a record key rather than a file. */
  sourceIsKey?: boolean;
}

/** A duplicated object key: its name and where its second occurrence starts. */
export interface DuplicateKey {
  key: string;
  /** JSON pointer of the object holding it. */
  pointer: string;
  position: { line: number; column: number; offset: number };
}

export interface ParsedDocument {
  value: unknown;
  /** The first key that occurs twice in one object (JSON.parse keeps the last), when any. */
  duplicate?: DuplicateKey;
}

// U+0000 cannot appear raw inside a JSON string, so a decoded string starting with it was written
// as an escape; the random part rules out that any text holds the mark by chance or design.
const MARK = `\\u0000exact-${Math.random().toString(36).slice(2)}#`;
const DECODED_MARK = JSON.parse(`"${MARK}"`) as string;

interface Scan {
  /** Start and end offsets of each literal to replace, and its exact value. */
  starts: number[];
  ends: number[];
  values: Array<bigint | JsonNumber>;
}

const isDelimiterBefore = (c: number): boolean => c === 91 || c === 58 || c === 44; // [ : ,
const isDelimiterAfter = (c: number): boolean => c === 44 || c === 93 || c === 125; // , ] }
const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

// Strings are skipped with indexOf (native, fast); only the text between them is read character
// by character, and only a literal that may not print back as written is looked at closely.
function scan(text: string): Scan {
  const result: Scan = { starts: [], ends: [], values: [] };
  const n = text.length;
  for (let i = 0; ; ) {
    const quote = text.indexOf('"', i);
    const end = quote === -1 ? n : quote;
    for (let k = i; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c !== 45 /* - */ && (c < 48 || c > 57)) continue;
      let j = k + 1;
      let plain = true;
      for (; j < end; j++) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) continue;
        if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) plain = false; // . e E + -
        else break;
      }
      // Plain digits up to 15 (16 with a sign) are safe integers that print back as written.
      if (!plain || j - k > (c === 45 ? 16 : 15)) check(text, k, j, result, plain);
      k = j - 1;
    }
    if (quote === -1) break;
    let close = text.indexOf('"', quote + 1);
    while (close !== -1 && text.charCodeAt(close - 1) === 92 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
    if (close === -1) break; // unterminated: JSON.parse names the error
    i = close + 1;
  }
  return result;
}

function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let k = quote - 1; text.charCodeAt(k) === 92; k--) backslashes++;
  return backslashes % 2 === 1;
}

function check(text: string, start: number, end: number, result: Scan, plain: boolean): void {
  const literal = text.slice(start, end);
  // Only a whole literal in a value position is replaced, so the replacement never turns invalid
  // text into valid text; anything else is left for JSON.parse to judge.
  if (plain) {
    // Digits only, more than 15 of them: valid unless a zero leads.
    const first = literal.charCodeAt(0) === 45 ? 1 : 0;
    if (literal.charCodeAt(first) === 48 || literal.length === first) return;
  } else if (!isJsonNumberLiteral(literal)) return;
  let before = start - 1;
  while (before >= 0 && isSpace(text.charCodeAt(before))) before--;
  let after = end;
  while (after < text.length && isSpace(text.charCodeAt(after))) after++;
  if (before >= 0 && !isDelimiterBefore(text.charCodeAt(before))) return;
  if (after < text.length && !isDelimiterAfter(text.charCodeAt(after))) return;
  const value = numberLiteralValue(literal);
  if (typeof value === 'number') return;
  result.starts.push(start);
  result.ends.push(end);
  result.values.push(value);
}

function fail(error: unknown, options: ParseOptions): StateError {
  const where = options.source ? `${options.source}: ` : '';
  const message = error instanceof Error ? error.message : String(error);
  return new StateError(ErrorCodes.CORRUPTED, `${where}${message}`, {
    ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
    cause: error,
  });
}

// Every key is a string followed by a colon; a count above the parsed object's keys means a key
// was written twice. (An escaped quote before a colon inside a string counts too: the reference
// parser then finds no duplicate, and nothing is lost but time.)
const KEY_END = /"[ \t\n\r]*:/g;

function countWrittenKeys(text: string): number {
  let count = 0;
  KEY_END.lastIndex = 0;
  while (KEY_END.test(text)) count++;
  return count;
}

function patch(text: string, found: Scan): string {
  const parts: string[] = [];
  let copied = 0;
  for (let k = 0; k < found.starts.length; k++) {
    parts.push(text.slice(copied, found.starts[k]), `"${MARK}${k}"`);
    copied = found.ends[k] as number;
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

function parseScanned(text: string, options: ParseOptions): unknown {
  let found: Scan;
  try {
    found = scan(text);
  } catch (error) {
    throw fail(error, options);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(found.values.length === 0 ? text : patch(text, found)) as unknown;
  } catch {
    // The replacement keeps validity both ways, so the original text has the error: name it there.
    try {
      JSON.parse(text);
    } catch (error) {
      throw syntaxError(text, error, options);
    }
    throw fail(new Error('invalid JSON'), options);
  }
  return found.values.length === 0 ? parsed : restore(parsed, found.values);
}

function restoredValue(value: string, values: ReadonlyArray<bigint | JsonNumber>): unknown {
  if (value.length > DECODED_MARK.length && value.startsWith(DECODED_MARK)) {
    const exact = values[Number(value.slice(DECODED_MARK.length))];
    if (exact !== undefined) return exact;
  }
  return value;
}

function restore(value: unknown, values: ReadonlyArray<bigint | JsonNumber>): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? restoredValue(value, values) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' ? item !== null : typeof item === 'string' && item.charCodeAt(0) === 0) value[i] = restore(item, values);
    }
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const item = object[key];
    if (typeof item === 'object' ? item !== null : typeof item === 'string' && item.charCodeAt(0) === 0) {
      const next = restore(item, values);
      if (next !== item) setOwnProperty(object, key, next);
    }
  }
  return value;
}

/**
 * Parses JSON text losslessly: every number literal as the number model says (json-number.ts).
 * Throws StateError CORRUPTED with the position on invalid text.
 */
export function parseLossless(text: string, options: ParseOptions = {}): unknown {
  return parseScanned(text, options);
}

/**
 * parseLossless, and the first duplicated key when an object holds one (native parsing keeps the
 * last silently). The check costs a count of keys; only a text whose count differs is read again
 * to place the duplicate.
 */
export function parseLosslessDocument(text: string, options: ParseOptions = {}): ParsedDocument {
  const value = parseScanned(text, options);
  if (countKeys(value) === countWrittenKeys(text)) return { value };
  const duplicate = parseReference(text).duplicate;
  return duplicate ? { value, duplicate: { ...duplicate, position: positionOf(text, duplicate.offset) } } : { value };
}

function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null || isJsonNumber(value)) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) count += countKeys(value[i]);
    return count;
  }
  for (const key in value) count += 1 + countKeys((value as Record<string, unknown>)[key]);
  return count;
}

/**
 * A second, independent parser (a plain recursive descent over the text) with the same number
 * model: slower, and here so tests can prove the fast path against it. Throws CORRUPTED on invalid
 * text.
 */
export function parseLosslessSlow(text: string, options: ParseOptions = {}): unknown {
  try {
    JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, error, options);
  }
  try {
    return parseReference(text).value;
  } catch (error) {
    throw fail(error, options);
  }
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
      if (isJsonNumber(value)) return true;
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
  if (isJsonNumber(value)) return value.text;
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
