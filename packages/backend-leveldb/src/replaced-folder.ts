// Whether the LevelDB folder under an open handle is still the one it opened, or something replaced
// its files under the running store (git stashing, checking out or resetting a committed LevelDB, a
// copy written over it): one stat of the folder while it is settled, CURRENT and MANIFEST otherwise.
// And, before the store opens such a folder again, the wait for whatever replaces it to finish.
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { racyUntilMs, untilGitDone } from '@deploystate/core';
import { manifestNamed } from './level-files.js';

/** A folder replaced under the store is opened again only once unchanged for this long (git's steps follow each other within ms). */
const QUIET_MS = 100;

/** A LevelDB folder's CURRENT and the MANIFEST it names, as a handle opened them. */
interface OpenedFiles {
  dev: bigint;
  current: string;
  currentIno: bigint;
  currentSize: bigint;
  currentMtimeNs: bigint;
  manifest: string;
  manifestIno: bigint;
}

export class OpenedFolder {
  /** The folder's stat when its files were last found to be the handle's, once past its timestamp tick. */
  private settled: { ino: number; mtimeMs: number; ctimeMs: number } | undefined;

  private constructor(
    private readonly folder: string,
    private readonly files: OpenedFiles,
  ) {}

  /** The folder as a handle just opened it; undefined when its CURRENT cannot be read (nothing is then checked). */
  static of(folder: string): OpenedFolder | undefined {
    const files = openedFiles(folder);
    return files === undefined ? undefined : new OpenedFolder(folder, files);
  }

  /**
   * Whether the folder's files are no longer the handle's. Git replaces a file by unlinking it and
   * creating another, which changes the folder's own mtime: a folder with the stat last settled
   * has had no file replaced, for one stat (about 1.5 us) per call. A folder changed since (by
   * git, or by LevelDB's own compactions) is looked at file by file, and settles again once looked
   * at past its timestamp tick (stat-tick.ts), so a change after the look always shows in its stat.
   * A stat that fails counts as replaced: the reopen reports what is wrong.
   */
  replaced(): boolean {
    try {
      const lookedAt = Date.now();
      const dir = statSync(this.folder, { throwIfNoEntry: false });
      if (dir === undefined) return true;
      const seen = this.settled;
      if (seen !== undefined && dir.ino === seen.ino && dir.mtimeMs === seen.mtimeMs && dir.ctimeMs === seen.ctimeMs) return false;
      if (this.filesReplaced()) return true;
      this.settled = lookedAt > racyUntilMs(dir.mtimeMs) ? { ino: dir.ino, mtimeMs: dir.mtimeMs, ctimeMs: dir.ctimeMs } : undefined;
      return false;
    } catch {
      return true;
    }
  }

  /**
   * LevelDB writes CURRENT and a new MANIFEST only when it opens, so either one changed means the
   * folder did. Both are looked at: a reset to a commit whose MANIFEST has another number rewrites
   * CURRENT and leaves the handle's own MANIFEST (untracked) in place; one to a commit whose MANIFEST
   * has the handle's number may leave CURRENT (the same text) and replaces the MANIFEST. CURRENT's
   * size and mtime catch a copy written over it in place (cp).
   */
  private filesReplaced(): boolean {
    const files = this.files;
    const current = lstatSync(files.current, { bigint: true, throwIfNoEntry: false });
    if (current === undefined || current.ino !== files.currentIno || current.dev !== files.dev) return true;
    if (current.size !== files.currentSize || current.mtimeNs !== files.currentMtimeNs) return true;
    const manifest = lstatSync(files.manifest, { bigint: true, throwIfNoEntry: false });
    return manifest === undefined || manifest.ino !== files.manifestIno || manifest.dev !== files.dev;
  }
}

/** CURRENT (its stat and text from one open file) and the MANIFEST it names; undefined when they cannot be read. */
function openedFiles(folder: string): OpenedFiles | undefined {
  const current = join(folder, 'CURRENT');
  let fd: number | undefined;
  try {
    fd = openSync(current, 'r');
    const info = fstatSync(fd, { bigint: true });
    const name = manifestNamed(readFileSync(fd, 'utf8'));
    if (name === null) return undefined;
    const manifest = join(folder, name);
    const manifestInfo = lstatSync(manifest, { bigint: true });
    if (manifestInfo.dev !== info.dev) return undefined;
    return { dev: info.dev, current, currentIno: info.ino, currentSize: info.size, currentMtimeNs: info.mtimeNs, manifest, manifestIno: manifestInfo.ino };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Waits until nothing is replacing `folder` any more: no git command holds the index of the
 * repository around it (checkout, reset, stash and merge hold `index.lock` while they rewrite the
 * work tree) and the folder has not changed for QUIET_MS (the steps of `git stash -u`, a copy).
 * A store that opened the folder in the middle (a busy reader that saw the first file change) read
 * a half-written folder (CORRUPTED), or renamed LOG to LOG.old under git, whose reset then failed
 * and left the folder half of each version. Bounded: after GIT_WAIT_MAX_MS it returns anyway.
 */
export function untilSettled(folder: string): Promise<void> {
  return untilGitDone(folder, { quietMs: QUIET_MS });
}
