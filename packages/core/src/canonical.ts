// One canonical encoding (sorted keys, no whitespace, each number as the codec prints it) and the digests
// built on it. Two values are the same deployment state exactly when their encodings are equal.
import { createHash, hash } from 'node:crypto';
import { ErrorCodes, StateError } from './errors.js';
import { isJsonNumber, jsonNumberText } from './json-number.js';
import { compareKeys } from './keys.js';

/** The canonical JSON text of a value: keys in UTF-8 byte order, exact numbers, no whitespace. */
export function canonicalEncode(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
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
      let out = '{';
      for (const key of sortedKeys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        if (out.length > 1) out += ',';
        out += `${JSON.stringify(key)}:${canonicalEncode(item)}`;
      }
      return `${out}}`;
    }
    default:
      throw new StateError(ErrorCodes.INVALID_RECORD, `a ${typeof value} has no JSON form`);
  }
}

/** An object's keys in UTF-8 byte order; records usually hold them in that order already. */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) if (compareKeys(keys[i - 1] as string, keys[i] as string) > 0) return keys.sort(compareKeys);
  return keys;
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

/**
 * The digest of a whole store: sha256 over each key and its record digest, in key order. Unlike a
 * XOR or a sum of record digests, reordering, duplication or two compensating changes all show.
 */
export class StoreDigest {
  private readonly hash = createHash('sha256');
  private lastKey: string | undefined;
  private count = 0;

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
    this.hash.update(`${key}\u0000${recordDigest}\n`);
    return this;
  }

  get size(): number {
    return this.count;
  }

  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
