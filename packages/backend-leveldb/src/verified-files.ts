// What this process has already verified in a LevelDB folder, so that a store that opens on
// demand (every put of a deploy script, every lock-wait retry) does not re-read every log and
// MANIFEST each time. A file counts as the one verified when its inode, size and mtime (ns) are
// the same; a log that only grew is checked from where the last check ended (logs are
// append-only). Git's "racy" rule applies: a file modified within RACY_NS of its check could
// change again without its mtime moving (the clock ticks coarsely), so it is checked again.
import { resolve } from 'node:path';
import type { BigIntStats } from 'node:fs';

/** What a MANIFEST says the folder holds: live tables (number -> size) and the log in use (0: none). */
export interface ManifestView {
  live: Map<number, number>;
  logNumber: number;
}

export interface FileStamp {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

export type Verified =
  | { kind: 'table'; stamp: FileStamp; checkedAtNs: bigint }
  /** `completeEnd`: where the next check of a grown log starts. `torn` when the tail was torn. */
  | { kind: 'log'; stamp: FileStamp; checkedAtNs: bigint; completeEnd: number; torn?: string }
  | { kind: 'manifest'; stamp: FileStamp; checkedAtNs: bigint; view: ManifestView | null };

const RACY_NS = 50_000_000n;
const MAX_FOLDERS = 64;
const folders = new Map<string, Map<string, Verified>>();

export const stampOf = (info: BigIntStats): FileStamp => ({ ino: info.ino, size: info.size, mtimeNs: info.mtimeNs });

export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

export const sameStamp = (a: FileStamp, b: FileStamp): boolean => a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;

/** True when `entry` may stand for the file with `stamp` without reading it again. */
export function unchanged(entry: Verified | undefined, stamp: FileStamp): boolean {
  return entry !== undefined && sameStamp(entry.stamp, stamp) && entry.stamp.mtimeNs + RACY_NS < entry.checkedAtNs;
}

/** The verified files of one folder (by absolute path); created on first use, most recent kept. */
export function folderMemo(path: string): Map<string, Verified> {
  const key = resolve(path);
  let memo = folders.get(key);
  if (memo) {
    folders.delete(key);
  } else {
    memo = new Map();
    if (folders.size >= MAX_FOLDERS) folders.delete(folders.keys().next().value as string);
  }
  folders.set(key, memo);
  return memo;
}

/** Forgets everything verified (all folders, or one): the next check reads every file again. */
export function forgetVerifiedFiles(path?: string): void {
  if (path === undefined) folders.clear();
  else folders.delete(resolve(path));
}
