// What one command already learned from a network file's bytes: each record's digest and
// timestamp, tied to the file's stat signature, so a second look at the same unchanged file in the
// same command (verify's compare, then its co-owned files check) hashes nothing and parses nothing.
import { statSync } from 'node:fs';
import { canonicalDigest, canonicalEncode, isJsonNumber, textDigest, type DeploymentRecord, type StoreEntry } from '@deploystate/core';

export interface FileDigests {
  /** Per contract name: the record's canonicalDigest and timestamp (decimal). */
  records: Map<string, { digest: string; timestamp: string }>;
  /** Contract names whose entries are not records. */
  invalid: Set<string>;
}

/** The file's stat identity (size, inode, nanosecond mtime and ctime); undefined when it cannot be read. */
export function fileSignature(file: string): string | undefined {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.size}:${s.ino}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** Digests of files one command read, each kept only while the file is as it was read. */
export class KnownFileDigests {
  private readonly files = new Map<string, { signature: string; digests: FileDigests }>();

  /**
   * Starts recording one file whose text was read between two stats with signature `before`;
   * returns where to add its records, or undefined when the file changed meanwhile.
   */
  begin(file: string, before: string | undefined): FileDigests | undefined {
    if (before === undefined || fileSignature(file) !== before) return undefined;
    const digests: FileDigests = { records: new Map(), invalid: new Set() };
    this.files.set(file, { signature: before, digests });
    return digests;
  }

  /** Drops what was recorded for the file. */
  forget(file: string): void {
    this.files.delete(file);
  }

  /** What was recorded for the file, if it still has the signature it had when read. */
  get(file: string): FileDigests | undefined {
    const hit = this.files.get(file);
    return hit && fileSignature(file) === hit.signature ? hit.digests : undefined;
  }
}

export const recordEntry = (record: DeploymentRecord, digest: string): { digest: string; timestamp: string } => ({
  digest,
  timestamp: String(record.timestamp),
});

/** Parsed records looked up like recorded ones; each digest computed only when asked for. */
export function lazyDigests(records: ReadonlyMap<string, DeploymentRecord>): {
  get(name: string): { digest: string; timestamp: string } | undefined;
} {
  return {
    get: (name) => {
      const record = records.get(name);
      return (
        record && {
          get digest() {
            return canonicalDigest(record);
          },
          timestamp: String(record.timestamp),
        }
      );
    },
  };
}

/**
 * Entries of the two sides of one comparison whose digests are computed when first read, so a
 * record that both sides print to the same canonical text is hashed once, not once per side. The
 * comparison reads the left (LevelDB) entry's digest before the right (JSON) one's of the same key.
 * A right record that is identical to the left one (same keys, same values of the same types, each
 * exact literal with the same text: `identical`, stricter than canonical equality) takes the left
 * one's digest without being encoded; any other is encoded from its own record, and one whose text
 * equals the left one's takes its digest without being hashed.
 */
export class PairedDigests {
  private lastKey: string | undefined;
  private lastRecord: unknown;
  private lastText = '';
  private lastDigest = '';

  left(entry: StoreEntry): StoreEntry {
    return this.lazy(entry, () => {
      const text = canonicalEncode(entry.record);
      const digest = textDigest(text);
      [this.lastKey, this.lastRecord, this.lastText, this.lastDigest] = [entry.key, entry.record, text, digest];
      return digest;
    });
  }

  right(entry: StoreEntry): StoreEntry {
    return this.lazy(entry, () => {
      const paired = entry.key === this.lastKey;
      if (paired && identical(this.lastRecord, entry.record)) return this.lastDigest;
      const text = canonicalEncode(entry.record);
      return paired && text === this.lastText ? this.lastDigest : textDigest(text);
    });
  }

  private lazy({ key, record }: StoreEntry, digestOf: () => string): StoreEntry {
    let digest: string | undefined;
    return {
      key,
      record,
      get digest(): string {
        digest ??= digestOf();
        return digest;
      },
    };
  }
}

/**
 * Whether two JSON-shaped values are the same value of the same types: objects with the same own
 * keys (in any order) and identical values, arrays of the same length and holes, numbers by
 * Object.is, bigints and strings by value, exact literals by their text. Identical values have the
 * same canonical encoding; values that are not may still have it (5 and 5n), which the encoding decides.
 */
export function identical(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null && a === b) return true; // one record both sides took
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  if (isJsonNumber(a) || isJsonNumber(b)) return isJsonNumber(a) && isJsonNumber(b) && a.text === b.text;
  const right = b as object;
  if (Array.isArray(a)) {
    if (!Array.isArray(right) || a.length !== right.length) return false;
    for (let i = 0; i < a.length; i++) if (i in a !== i in right || !identical(a[i], right[i])) return false;
    return true;
  }
  if (Array.isArray(right) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(right)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(right, key) || !identical((a as Record<string, unknown>)[key], (right as Record<string, unknown>)[key])) return false;
  }
  return true;
}
