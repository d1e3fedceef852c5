// Whether a state file is still the version the store last wrote: told from the written backup's
// link and name alone, so a process can skip re-checking a file nobody else has touched since.
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { backupDirFor, matchesWrittenName, newestWritten } from './backups.js';

/**
 * The state file's stat when it is, byte for byte, the version this store last wrote to it (in any
 * process): the newest written backup is the file's own inode (a link made from the temp file
 * before the rename), and the file still has the size and mtime that backup's name recorded. So
 * nothing else has written it since: a rename by other code brings another inode, an edit in
 * place moves the mtime. Undefined whenever that cannot be told from stats: no written backup
 * (`backups: 0`, or a file the store never wrote), another inode, another size or mtime, a stat that
 * fails (EIO), or a file system keeping whole seconds (an edit in place within the second of the
 * write could keep both).
 * An edit in place of the same size within the clock tick of the write (a few milliseconds) keeps
 * them too: a stat cannot tell it, here or in the process that wrote (only reading the bytes can,
 * as verify does).
 */
export function lastWrittenVersion(file: string): BigIntStats | undefined {
  const folder = backupDirFor(dirname(file), basename(file));
  let newest: string | undefined;
  try {
    newest = newestWritten(readdirSync(folder));
  } catch {
    return undefined;
  }
  if (newest === undefined) return undefined;
  // A stat that fails (EIO) cannot tell either: the caller falls back to its full check.
  try {
    const current = lstatSync(file, { bigint: true, throwIfNoEntry: false });
    if (!current?.isFile() || !matchesWrittenName(newest, current) || current.mtimeNs % 1_000_000_000n === 0n) return undefined;
    const kept = lstatSync(join(folder, newest), { bigint: true, throwIfNoEntry: false });
    return kept !== undefined && kept.ino === current.ino && kept.dev === current.dev ? current : undefined;
  } catch {
    return undefined;
  }
}
