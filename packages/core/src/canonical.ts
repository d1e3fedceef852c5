// One canonical encoding (sorted keys, no whitespace, each number as the codec prints it) and the digests
// built on it. Two values are the same deployment state exactly when their encodings are equal.
import { createHash, hash } from 'node:crypto';
import { ErrorCodes, StateError } from './errors.js';
import { isJsonNumber, jsonNumberText } from './json-number.js';
import { compareKeys } from './keys.js';
import { stringifyLosslessAll } from './codec.js';
import { printEachByKeys } from './print-together.js';

/** The canonical JSON text of a value: keys in UTF-8 byte order, exact numbers, no whitespace. */
export function canonicalEncode(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      // Integer-valued numbers print as digits, so 5 and 5n, or 1e21 and 10n ** 21n, are one value.
      return jsonNumberText(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      // A literal no double or bigint holds as written is its text: 1.0 and 1 are different state.
      if (isJsonNumber(value)) return value.text;
      // Built by concatenation (V8 ropes), not arrays joined: this runs once per record on every
      // copy, verify and check, so it is the migration's hottest code.
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          // A hole prints as nothing, as Array.prototype.join prints it.
          if (!(i in value)) continue;
          const item: unknown = value[i];
          out += item === undefined ? 'null' : canonicalEncode(item);
        }
        return `${out}]`;
      }
      // One loop for every object: with strings quoted without a call to the engine's printer
      // (quoted), it costs less than a copy in key order printed natively, and needs no copy.
      const keys = sortedKeys(value);
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        if (out.length > 1) out += ',';
        out += `${quoted(key)}:${canonicalEncode(item)}`;
      }
      return `${out}}`;
    }
    default:
      throw new StateError(ErrorCodes.INVALID_RECORD, `a ${typeof value} has no JSON form`);
  }
}

// The characters JSON.stringify prints as they are: no quote, backslash, control character or
// surrogate (a lone one is escaped; a string holding a pair is left to the engine's printer).
const PRINTS_BARE = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** JSON.stringify of a string, without the call when it needs no escape (most keys and values). */
function quoted(text: string): string {
  return PRINTS_BARE.test(text) ? `"${text}"` : JSON.stringify(text);
}

// Records from one source list their fields in one order (a deploy script's, the files'): the last
// order that needed sorting and its sort are kept, so a store's records are not each sorted again.
let lastUnsorted: readonly string[] = [];
let lastSorted: readonly string[] = [];

/**
 * An object's keys in UTF-8 byte order (the caller only reads the array): the object's own array,
 * in its own order, or else the kept sort (lastSorted).
 */
function sortedKeys(value: object): readonly string[] {
  const keys = Object.keys(value);
  if (keys.length === lastUnsorted.length && keys.every((key, i) => key === lastUnsorted[i])) return lastSorted;
  for (let i = 1; i < keys.length; i++) {
    if (compareKeys(keys[i - 1] as string, keys[i] as string) > 0) {
      lastUnsorted = keys;
      lastSorted = [...keys].sort(compareKeys);
      return lastSorted;
    }
  }
  return keys;
}

/**
 * canonicalEncode of each value, in order. Most of a native print's cost for one record is the
 * call itself: the values that print natively (see canonicalEncode) are printed a run at a time,
 * separated by a marker string, the engine given their keys in canonical order, and the text is
 * cut at the markers; the rest one by one.
 */
export function canonicalEncodeAll(values: readonly unknown[]): string[] {
  return printEachByKeys(values, canonicalKeys, compareKeys, canonicalEncode);
}

/** canonicalDigest of each value, in order (the encodings printed together: see canonicalEncodeAll). */
export function canonicalDigests(values: readonly unknown[]): string[] {
  const texts = canonicalEncodeAll(values);
  for (let i = 0; i < texts.length; i++) texts[i] = textDigest(texts[i] as string);
  return texts;
}

/**
 * stringifyLosslessAll and canonicalDigests of the same values. Two prints of each run (the compact
 * one as it is, the canonical one given the keys in order) cost less than one print of each value
 * beside a copy of it in canonical order.
 */
export function compactTextsAndDigests(values: readonly unknown[]): { texts: string[]; digests: string[] } {
  return { texts: stringifyLosslessAll(values), digests: canonicalDigests(values) };
}

/** The key list JSON.stringify, given it, prints `value` with as canonicalEncode does, when there is one. */
function canonicalKeys(value: unknown): readonly string[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isJsonNumber(value)) return undefined;
  const keys = sortedKeys(value);
  return printsNatively(value, keys) ? keys : undefined;
}

/**
 * Whether JSON.stringify prints the plain object `value` as canonicalEncode does: each
 * value a string, boolean, null or undefined, a number String prints as jsonNumberText does (not -0,
 * not an integer beyond 2^53), or an array of such without holes (no object inside, where the key
 * list would drop keys; no bigint or exact literal, which it cannot print).
 */
function printsNatively(value: object, keys: readonly string[]): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of keys) if (!printsAsLeaf((value as Record<string, unknown>)[key])) return false;
  return true;
}

function printsAsLeaf(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return value === 0 ? !Object.is(value, -0) : Number.isFinite(value) && (Number.isSafeInteger(value) || !Number.isInteger(value));
    case 'object':
      if (value === null) return true;
      if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return false;
      for (let i = 0; i < value.length; i++) if (!(i in value) || !printsAsLeaf(value[i])) return false;
      return true;
    default:
      return false;
  }
}

/**
 * The version of the canonical encoding that record and store digests hash. 2: each number
 * literal as written (JsonNumber). Digests of different formats are not comparable: evidence
 * recorded in another format is stale.
 */
export const DIGEST_FORMAT = 2;

/** Whether two values are the same state (5 equals 5n; key order does not matter). */
export function canonicalEqual(a: unknown, b: unknown): boolean {
  return canonicalEncode(a) === canonicalEncode(b);
}

/** sha256 (hex) of the canonical encoding of a record. */
export function canonicalDigest(value: unknown): string {
  return textDigest(canonicalEncode(value));
}

/** sha256 (hex) of a canonical text already encoded (one-shot: no Hash object per record). */
export function textDigest(canonicalText: string): string {
  return hash('sha256', canonicalText, 'hex');
}

/** How many UTF-16 units of digest lines StoreDigest gathers before hashing them. */
const PENDING_LIMIT = 64 * 1024;

/**
 * The digest of a whole store: sha256 over each key and its record digest, in key order. Unlike a
 * XOR or a sum of record digests, reordering, duplication or two compensating changes all show.
 */
export class StoreDigest {
  private readonly hash = createHash('sha256');
  private lastKey: string | undefined;
  private count = 0;
  // Lines not yet hashed: sha256 over their concatenation is sha256 over them one by one, and one
  // update per many records costs far less than one per record.
  private pending = '';

  /** Adds one record; keys must arrive in key order (compareKeys), each once. */
  add(key: string, record: unknown): this {
    return this.addDigest(key, canonicalDigest(record));
  }

  addDigest(key: string, recordDigest: string): this {
    if (this.lastKey !== undefined && compareKeys(this.lastKey, key) >= 0) {
      throw new StateError(
        ErrorCodes.INVALID_ARGUMENT,
        `store digest needs keys in order: ${JSON.stringify(key)} after ${JSON.stringify(this.lastKey)}`,
        { key },
      );
    }
    this.lastKey = key;
    this.count++;
    this.pending += `${key}\u0000${recordDigest}\n`;
    if (this.pending.length >= PENDING_LIMIT) this.flush();
    return this;
  }

  get size(): number {
    return this.count;
  }

  digest(): string {
    this.flush();
    return this.hash.copy().digest('hex');
  }

  private flush(): void {
    if (this.pending.length > 0) this.hash.update(this.pending);
    this.pending = '';
  }
}
