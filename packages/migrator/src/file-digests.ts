// What one command already learned from a network file's bytes: each record's digest and
// timestamp, tied to the file's stat signature, so a second look at the same unchanged file in the
// same command (verify's compare, then its co-owned files check) hashes nothing and parses nothing.
import { statSync } from 'node:fs';
import { canonicalDigest, type DeploymentRecord } from '@deploystate/core';

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
