// One canonical encoding (sorted keys, no whitespace, each number as the codec prints it) and the digests
// built on it. Two values are the same deployment state exactly when their encodings are equal.
import { createHash } from 'node:crypto';
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
      if (Array.isArray(value)) {
        return `[${value.map((item) => (item === undefined ? 'null' : canonicalEncode(item))).join(',')}]`;
      }
      const keys = Object.keys(value).sort(compareKeys);
      const parts: string[] = [];
      for (const key of keys) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalEncode(item)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new StateError(ErrorCodes.INVALID_RECORD, `a ${typeof value} has no JSON form`);
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
  return createHash('sha256').update(canonicalEncode(value)).digest('hex');
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
