// How long a stat cannot vouch for a file or folder after its last change (git's "racy" rule): a
// change within the same timestamp tick leaves the same mtime, so until the tick is over only the
// bytes (or, for a folder, its listing) tell. Shared by the JSON store's file cache and backups shelf,
// and by the LevelDB store's look at its folder (replaced-folder.ts).

/**
 * A fine clock (ext4, XFS, btrfs, tmpfs, APFS, NTFS: nanoseconds, or 10 ms on exFAT) stamps a
 * change at the kernel's coarse time, at most a few milliseconds behind the clock a reader sees.
 */
export const RACY_MS = 25;

/**
 * A timestamp with no sub-second part comes, as a rule, from a file system that keeps whole
 * seconds (ext3 with 128-byte inodes, HFS+, most network mounts of them) or two (FAT): a change
 * anywhere in that tick gets the same mtime, so the window covers FAT's two seconds and the lag above.
 */
export const COARSE_RACY_MS = 2000 + RACY_MS;

/**
 * The last time (ms since the epoch) at which a look at something last changed at `mtimeNs` is
 * still racy: a look taken later is trusted by its stat while the stat stays the same. A fine
 * timestamp that happens to fall on a whole second costs its file a byte check for two seconds more.
 */
export function racyUntil(mtimeNs: bigint): number {
  return Number(mtimeNs / 1_000_000n) + (mtimeNs % 1_000_000_000n === 0n ? COARSE_RACY_MS : RACY_MS);
}

/** Whether a look taken at `seenAt` (ms) of something last changed at `mtimeNs` cannot be trusted by its stat alone. */
export function isRacy(seenAt: number, mtimeNs: bigint): boolean {
  return seenAt <= racyUntil(mtimeNs);
}

/** racyUntil for a plain (not bigint) stat's `mtimeMs`; -Infinity for none (a missing file, -1). */
export function racyUntilMs(mtimeMs: number): number {
  if (mtimeMs < 0) return Number.NEGATIVE_INFINITY;
  return mtimeMs + (mtimeMs % 1000 === 0 ? COARSE_RACY_MS : RACY_MS);
}
