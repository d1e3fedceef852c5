// The lossless JSON codec. Deployment state holds integers beyond 2^53 (as bare literals and as
// strings) and the odd literal a double cannot hold; every path through the toolkit parses and
// prints each number literal exactly as written. The number model is in json-number.ts.
//
// Parsing: a quick look at where literals end proves most texts hold only short integers, and
// native JSON.parse reads those as they are. Otherwise one scan of the text finds the literals a
// double would change, each is replaced by a marked string, native JSON.parse reads the result,
// and a walk puts the exact values back (codec-scan.ts). Printing: native JSON.stringify, with bigints and JsonNumbers as marked
// strings then unwrapped to bare literals. json-bigint serves one purpose: the position of a syntax
// error V8 does not name. It does not serve as the parser or printer: its numbers lose their written form (1.0 becomes 1),
// it refuses 1e400, and it is several times slower than native parsing.
import JSONbigFactory from 'json-bigint';
import { ErrorCodes, StateError } from './errors.js';
import { setOwnProperty } from './record.js';
import {
  DECODED_MARK,
  lastLookCommas,
  lastLookMayNestTooDeep,
  onlySafeShortIntegers,
  onlySafeShortIntegersCountingCommas,
  patch,
  scan,
  type Scan,
} from './codec-scan.js';
import { printEach } from './print-together.js';
import { isJsonNumber, JsonNumber, jsonNumberText, setPrintMark } from './json-number.js';
import { parseReference } from './json-reference.js';
import { MAX_JSON_DEPTH } from './json-depth.js';

export { MAX_INTEGER_DIGITS } from './json-number.js';

export { MAX_JSON_DEPTH } from './json-depth.js';

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

/**
 * The DUPLICATE_KEY error for a key a file names twice (parseLosslessDocument's `duplicate`), with
 * the line and column of the second occurrence. `source` names the text when it is not the file
 * itself (one side of a merge, a line of an export), `outcome` what was not done.
 */
export function duplicateKeyError(
  file: string,
  duplicate: DuplicateKey,
  {
    source = file,
    outcome = 'the file is not rewritten, as that would drop one value',
    hint = 'remove one of the two entries by hand, then write again',
  } = {},
): StateError {
  const { key, pointer, position } = duplicate;
  return new StateError(
    ErrorCodes.DUPLICATE_KEY,
    `${source}: key ${JSON.stringify(key)} appears twice in ${pointer || 'the top-level object'} (line ${position.line}, column ${position.column}); ${outcome}`,
    { file, position, hint },
  );
}

export interface ParsedDocument {
  value: unknown;
  /**
   * True only when no number in `value` is held exactly (no bigint, no JsonNumber): it is what
   * JSON.parse gives, so a walk looking for exact numbers can be skipped (validateStateFile).
   * False says nothing either way.
   */
  plain?: boolean;
  /** The first key that occurs twice in one object (JSON.parse keeps the last), when any. */
  duplicate?: DuplicateKey;
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

// Every colon outside a string ends a written key, so a text's colons are its written keys plus
// any colons inside strings. When they equal the parsed keys, no key was written twice (written
// keys can only outnumber parsed ones). A native search per colon; the written keys are counted
// (countWrittenKeys) only for texts with colons in their strings (URLs, times).
function countColons(text: string): number {
  let count = 0;
  for (let at = text.indexOf(':'); at !== -1; at = text.indexOf(':', at + 1)) count++;
  return count;
}

/** The colons whose nearest character before them, past JSON whitespace, is a quote: `"[ \t\n\r]*:` counted, a native search per colon (a fifth of the regular expression's cost). */
function countWrittenKeys(text: string): number {
  let count = 0;
  for (let at = text.indexOf(':'); at !== -1; at = text.indexOf(':', at + 1)) {
    let before = at - 1;
    let code = text.charCodeAt(before);
    while (code === 32 || code === 10 || code === 13 || code === 9) code = text.charCodeAt(--before);
    if (code === 34) count++;
  }
  return count;
}

// Whether the last parseScanned held no number exactly, and whether a plain one may nest past
// MAX_JSON_DEPTH (a restored one was walked); and the commas in its text when its quick look
// passed (and so met each one), else -1. Set on every call; read right after it.
let parsedPlain = false;
let parsedMayNestTooDeep = true;
let parsedCommas = -1;

/** `walked`: the caller walks the parsed value itself, checking its depth: the look keeps no bound on it, and counts the commas. */
function parseScanned(text: string, options: ParseOptions, walked = false): unknown {
  parsedPlain = false;
  parsedMayNestTooDeep = true;
  parsedCommas = -1;
  if (walked ? onlySafeShortIntegersCountingCommas(text) : onlySafeShortIntegers(text)) {
    try {
      const value = JSON.parse(text) as unknown;
      parsedPlain = true;
      parsedMayNestTooDeep = lastLookMayNestTooDeep();
      if (walked) parsedCommas = lastLookCommas();
      return value;
    } catch {
      // Invalid text: the way below names the error.
    }
  }
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
  // The restore walks every array and object, checking their depth on the way.
  if (found.values.length > 0) return depthChecked(text, options, () => restore(parsed, found.values, 1));
  parsedPlain = true;
  parsedMayNestTooDeep = mayNestTooDeep(text);
  return parsed;
}

/** Thrown by the walks over a parsed value that pass MAX_JSON_DEPTH; the parse turns it into CORRUPTED (tooDeep). */
class TooDeep extends Error {}

/** Whether a text holds more than MAX_JSON_DEPTH brackets that open: only then can it nest deeper (a native search per bracket). */
function mayNestTooDeep(text: string): boolean {
  // Each level takes a bracket that opens and one that closes: a shorter text (a record, a journal line) cannot.
  if (text.length < 2 * (MAX_JSON_DEPTH + 1)) return false;
  let count = 0;
  for (const open of ['[', '{']) {
    for (let at = text.indexOf(open); at !== -1; at = text.indexOf(open, at + 1)) if (++count > MAX_JSON_DEPTH) return true;
  }
  return false;
}

/**
 * Walks a parsed value's arrays and objects, throwing TooDeep past MAX_JSON_DEPTH. It recurses, but
 * never deeper than MAX_JSON_DEPTH + 1 frames, so a deep value cannot exhaust the stack here; that
 * runs faster than a walk with its own stack of pairs (large files pay it on every plain parse).
 */
function checkDepth(value: unknown): void {
  if (typeof value === 'object' && value !== null) walkDepth(value, 1);
}

function walkDepth(container: object, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new TooDeep();
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const item: unknown = container[i];
      if (typeof item === 'object' && item !== null) walkDepth(item, depth + 1);
    }
    return;
  }
  for (const key in container) {
    const item = (container as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) walkDepth(item, depth + 1);
  }
}

/** The CORRUPTED error for a text nested past MAX_JSON_DEPTH, at the bracket that opens level MAX_JSON_DEPTH + 1. */
function tooDeep(text: string, options: ParseOptions): StateError {
  let depth = 0;
  let at = 0;
  for (; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c === 34) {
      for (at++; at < text.length && text.charCodeAt(at) !== 34; at++) if (text.charCodeAt(at) === 92) at++;
    } else if (c === 91 || c === 123) {
      if (++depth > MAX_JSON_DEPTH) break;
    } else if (c === 93 || c === 125) depth--;
  }
  const position = positionOf(text, Math.min(at, text.length));
  const where = options.source ? `${options.source}: ` : '';
  return new StateError(
    ErrorCodes.CORRUPTED,
    `${where}arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels (line ${position.line}, column ${position.column})`,
    {
      ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
      position,
    },
  );
}

/** A parse whose value nests past MAX_JSON_DEPTH is CORRUPTED naming the source; any other error passes as it is. */
function depthChecked<T>(text: string, options: ParseOptions, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw error instanceof TooDeep ? tooDeep(text, options) : error;
  }
}

function restoredValue(value: string, values: ReadonlyArray<bigint | JsonNumber>): unknown {
  if (value.length > DECODED_MARK.length && value.startsWith(DECODED_MARK)) {
    const exact = values[Number(value.slice(DECODED_MARK.length))];
    if (exact !== undefined) return exact;
  }
  return value;
}

function restore(value: unknown, values: ReadonlyArray<bigint | JsonNumber>, depth: number): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? restoredValue(value, values) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_JSON_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' ? item !== null : typeof item === 'string' && item.charCodeAt(0) === 0)
        value[i] = restore(item, values, depth + 1);
    }
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const item = object[key];
    if (typeof item === 'object' ? item !== null : typeof item === 'string' && item.charCodeAt(0) === 0) {
      const next = restore(item, values, depth + 1);
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
  const value = parseScanned(text, options);
  // A value restored above was walked already; a plain one only when its brackets could nest that deep.
  if (parsedPlain && parsedMayNestTooDeep) depthChecked(text, options, () => checkDepth(value));
  return value;
}

/**
 * parseLossless, and the first duplicated key when an object holds one (native parsing keeps the
 * last silently). The check costs a count of keys, and of the commas the quick look met on its way
 * (or of colons, a native search each, when it did not pass or strings hold commas); only a text
 * whose counts differ is read again to place the duplicate.
 */
export function parseLosslessDocument(text: string, options: ParseOptions = {}): ParsedDocument {
  const { value, plain, keys, commas } = depthChecked(text, options, () => {
    const value = parseScanned(text, options, true);
    const plain = parsedPlain;
    const commas = parsedCommas;
    separators = 0;
    // The count walks every array and object too, checking their depth (before parseReference recurses).
    return { value, plain, commas, keys: countKeys(value, 1, !plain) };
  });
  // Each comma outside a string separates two written members or items, so a text's commas are
  // those separators plus any inside strings. A key written twice writes one separator more than
  // the parsed value holds (and drops a value with any inside it): when the commas equal the
  // parsed separators, no key was written twice.
  if (commas === separators || countColons(text) === keys || countWrittenKeys(text) === keys) return { value, plain };
  const duplicate = parseReference(text).duplicate;
  return duplicate ? { value, plain, duplicate: { ...duplicate, position: positionOf(text, duplicate.offset) } } : { value, plain };
}

// The members and items the last countKeys walked past the first of each object and array: the
// commas that separate them in text that writes no key twice.
let separators = 0;

/** `exact`: the value may hold JsonNumbers (a parse that was not plain); a plain one is not asked, object by object (a look-up of a symbol each). */
function countKeys(value: unknown, depth: number, exact: boolean): number {
  if (typeof value !== 'object' || value === null || (exact && isJsonNumber(value))) return 0;
  if (depth > MAX_JSON_DEPTH) throw new TooDeep();
  let count = 0;
  if (Array.isArray(value)) {
    if (value.length > 0) separators += value.length - 1;
    for (let i = 0; i < value.length; i++) count += countKeys(value[i], depth + 1, exact);
    return count;
  }
  let keys = 0;
  for (const key in value) {
    keys++;
    count += countKeys((value as Record<string, unknown>)[key], depth + 1, exact);
  }
  if (keys > 0) separators += keys - 1;
  return count + keys;
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
  const blank = text.trim().length === 0;
  const detail = blank ? 'empty text' : `invalid JSON at line ${position.line}, column ${position.column}`;
  return new StateError(ErrorCodes.CORRUPTED, `${where}${detail}`, {
    ...(options.source !== undefined && (options.sourceIsKey ? { key: options.source } : { file: options.source })),
    position,
    // Readers tell an empty file from one that fails at its first byte (a merge conflict's `<<<<<<<`) by this, not by the offset.
    ...(blank && { data: { empty: true } }),
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

// Printing takes one of three ways: native JSON.stringify as it is (no bigint, no JsonNumber);
// native with bigints and JsonNumbers printed as marked strings that are then unwrapped; or the
// printer in JavaScript below, for -0 and integer doubles beyond 2^53 (which native prints as 0
// and 1e+21) and for a JsonNumber of another copy of this package, whose toJSON knows no mark.
let sawExactNumber = false;

// True when the value needs the printer below; notes a bigint or JsonNumber in sawExactNumber.
// One pass, cheap per value: it runs before every print.
function needsOwnPrinter(value: unknown): boolean {
  if (typeof value === 'object') {
    if (value === null) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (needsOwnPrinter(value[i])) return true;
      return false;
    }
    if (value instanceof JsonNumber) {
      sawExactNumber = true;
      return false;
    }
    if (isJsonNumber(value)) return true;
    // Inherited keys are not printed; walking one can only choose the slower printer, never a wrong one.
    for (const key in value) if (needsOwnPrinter((value as Record<string, unknown>)[key])) return true;
    return false;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StateError(ErrorCodes.INVALID_RECORD, `${value} cannot be stored as JSON`);
    return Object.is(value, -0) || (!Number.isSafeInteger(value) && Number.isInteger(value));
  }
  if (typeof value === 'bigint') sawExactNumber = true;
  return false;
}

/**
 * stringifyLossless of each value (compact), in order. The objects JSON.stringify prints exactly
 * as they are (no bigint, no JsonNumber, no -0 or integer double beyond 2^53) are printed a few
 * hundred in one call (print-together.ts), about half the cost of a call each; the rest one by one.
 */
export function stringifyLosslessAll(values: readonly unknown[]): string[] {
  return printEach(values, printedAsItIs, (value) => stringifyLossless(value));
}

/** The object itself when JSON.stringify prints it exactly as stringifyLossless does. */
function printedAsItIs(value: unknown): object | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  sawExactNumber = false;
  return needsOwnPrinter(value) || sawExactNumber ? undefined : value;
}

/** Prints a value as JSON with every number exact. `indent` as for JSON.stringify. */
export function stringifyLossless(value: unknown, indent?: number): string {
  sawExactNumber = false;
  if (!needsOwnPrinter(value)) {
    if (!sawExactNumber) return JSON.stringify(value, null, indent);
    const printed = printMarked(value, indent);
    if (printed !== undefined) return printed;
  }
  const gap = indent ? ' '.repeat(indent) : '';
  return printValue(value, gap, '') ?? 'null';
}

// Native JSON.stringify with every bigint and JsonNumber as a marked string, then each marked
// string replaced by its bare literal: about native speed, where a printer in JavaScript runs
// at a third of it. BigInt.prototype.toJSON is set for the duration of the (synchronous) call and
// put back as it was; when it cannot be set (a frozen prototype), undefined: the caller prints.
const PRINT_MARK = `\\u0000print-${Math.random().toString(36).slice(2)}#`;
const DECODED_PRINT_MARK = JSON.parse(`"${PRINT_MARK}"`) as string;
// A marked string as JSON.stringify prints it: a quote, the mark (its U+0000 escaped), the literal.
const MARKED_OPENING = `"${PRINT_MARK}`;
const MARKED_REST = /[-+.eE0-9]+"/y;

function markedBigInt(this: bigint): string {
  return DECODED_PRINT_MARK + this.toString();
}

function printMarked(value: unknown, indent: number | undefined): string | undefined {
  const previous = Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON');
  if (previous && !previous.configurable) return undefined;
  Object.defineProperty(BigInt.prototype, 'toJSON', { value: markedBigInt, configurable: true, writable: true });
  const previousMark = setPrintMark(DECODED_PRINT_MARK);
  let text: string;
  try {
    text = JSON.stringify(value, null, indent);
  } finally {
    setPrintMark(previousMark);
    if (previous) Object.defineProperty(BigInt.prototype, 'toJSON', previous);
    else delete (BigInt.prototype as { toJSON?: unknown }).toJSON;
  }
  return unwrapMarked(text);
}

// Each marked string becomes its bare literal. A search for the long opening skips through the
// text (native, several characters a step), where a regular expression reads every character.
function unwrapMarked(text: string): string {
  let at = text.indexOf(MARKED_OPENING);
  if (at === -1) return text;
  let printed = '';
  let copied = 0;
  while (at !== -1) {
    const start = at + MARKED_OPENING.length;
    MARKED_REST.lastIndex = start;
    if (MARKED_REST.test(text)) {
      printed += text.slice(copied, at) + text.slice(start, MARKED_REST.lastIndex - 1);
      copied = MARKED_REST.lastIndex;
    }
    at = text.indexOf(MARKED_OPENING, start);
  }
  return printed + text.slice(copied);
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
