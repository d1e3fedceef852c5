// Backups of state files, in `<dir>/.deploystate/backups/<file>/`, newest first by name: after
// every write, a hard link to the version just written (it costs no copy: the next write replaces
// the file by rename, so the link keeps that version's bytes), plus a link to any version the store
// did not write (edited by hand, or written before this scheme) when a write or restore replaces it.
// The restore brings back the newest version that is intact and parses, and says which it is.
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import {
  ErrorCodes,
  NetworkRegistry,
  StateError,
  isStateError,
  errnoCode,
  fileSystemError,
  restoreLoss,
  restoreLossCount,
  restoreLossError,
  type DeploymentRecord,
  type RestoreLoss,
} from '@deploystate/core';
import { STATE_DIR, writeFileAtomic } from './atomic.js';
import { parseStateFile } from './file-format.js';
import { withFileLock, type LockOptions } from './lock.js';
import { isRacy } from './stat-tick.js';
import { assertReplaceable, readStateFileBytes } from './state-path.js';

let sequence = 0;

export function backupDirFor(dir: string, fileName: string): string {
  return join(dir, STATE_DIR, 'backups', fileName);
}

/**
 * A name that sorts by time: ISO stamp, then pid and a per-process sequence for ties. A version the
 * store wrote also carries the size and mtime (ns) it had when written, so a later edit in place
 * (which the link would share) is told apart from the version as written. `after`: the newest
 * backup name in the folder; the stamp is kept past it (a millisecond later at least), so a clock
 * that was ahead when a backup was named, or one stepped back since, never makes a new version
 * sort older than a kept one (restore takes the newest by name, and the bound prunes the oldest).
 */
export function backupName(written?: { size: bigint; mtimeNs: bigint }, after?: string): string {
  const floor = after === undefined ? undefined : stampOf(after);
  const now = Date.now();
  const stamp = timeStamp(floor !== undefined && now <= floor ? floor + 1 : now);
  sequence = (sequence + 1) % 1_000_000;
  const mark = written ? `-written-${written.size}-${written.mtimeNs}` : '';
  return `${stamp}-${process.pid}-${String(sequence).padStart(6, '0')}${mark}.json`;
}

// The stamp up to its milliseconds, kept for the second it names: a put names two or three backups.
let stampSecond = Number.NaN;
let stampPrefix = '';

/** `new Date(ms).toISOString()` with `:` and `.` made `-`, without a Date and a regex per name. */
function timeStamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    const iso = new Date(ms).toISOString().replace(/[:.]/g, '-');
    // A year outside 0000-9999 prints longer: such a stamp is made afresh each time.
    if (iso.length !== 24) return iso;
    stampSecond = second;
    stampPrefix = iso.slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${stampPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** A backup's name: stamp, pid, sequence, and for a written version its size and mtime (ns). */
const BACKUP_NAME = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3}Z)-(\d+)-(\d+)(?:-written-(\d+)-(\d+))?\.json$/;

// The last name read by stampOf: a put names its backups after the one it named last.
let stampRead: { name: string; ms: number | undefined } | undefined;

/** The time (ms) a backup's name carries; undefined for a name this package did not make. */
function stampOf(name: string): number | undefined {
  if (stampRead?.name === name) return stampRead.ms;
  const m = BACKUP_NAME.exec(basename(name));
  const parsed = m ? Date.parse(`${m[1]}:${m[2]}:${m[3]}.${m[4]}`) : Number.NaN;
  const ms = Number.isFinite(parsed) ? parsed : undefined;
  stampRead = { name, ms };
  return ms;
}

/** The newest backup name in `folder` (names sort by time), read from the folder. */
export function newestBackupName(folder: string): string | undefined {
  let newest: string | undefined;
  try {
    for (const name of readdirSync(folder)) if (BACKUP_NAME.test(name) && (newest === undefined || name > newest)) newest = name;
  } catch {
    // No folder yet: no backup to follow.
  }
  return newest;
}

/** What a backup's name says about the version it holds. */
export interface BackupVersion {
  /** The backup file. */
  backup: string;
  /** When it was kept (ISO time); for a written version, when the store wrote it. */
  time: string;
  /** `written`: a version this store wrote; `replaced`: a version it did not write (edited by hand, restored, or older), kept when replaced. */
  kind: 'written' | 'replaced';
  /** The process that kept it, and that process's count of backups, which tells apart writes in the same millisecond. */
  pid: number;
  sequence: number;
}

/** Reads a backup's name (undefined when it is not one this package made). */
export function backupVersionOf(path: string): BackupVersion | undefined {
  const m = BACKUP_NAME.exec(basename(path));
  if (!m) return undefined;
  return {
    backup: path,
    time: `${m[1]}:${m[2]}:${m[3]}.${m[4]}`,
    kind: m[7] !== undefined ? 'written' : 'replaced',
    pid: Number(m[5]),
    sequence: Number(m[6]),
  };
}

/**
 * Whether a written version's backup still holds the bytes the store wrote: its size and mtime
 * are those its name recorded (an edit in place of the state file, which shares the inode while
 * it is the current version, changes both or at least the mtime). Replaced versions: always true.
 */
export function isIntactBackup(path: string): boolean {
  const name = basename(path);
  if (BACKUP_NAME.exec(name)?.[7] === undefined) return true;
  const s = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return s !== undefined && s.isFile() && matchesWrittenName(name, s);
}

/** Whether a stat has the size and mtime a written version's backup name recorded (false for any other name). */
export function matchesWrittenName(name: string, s: { size: bigint; mtimeNs: bigint }): boolean {
  const m = BACKUP_NAME.exec(name);
  return m?.[7] !== undefined && String(s.size) === m[7] && String(s.mtimeNs) === m[8];
}

/** The newest version the store wrote among a folder's backup names (names sort by time). */
export function newestWritten(names: Iterable<string>): string | undefined {
  let newest: string | undefined;
  for (const name of names) if (name.includes('-written-') && (newest === undefined || name > newest)) newest = name;
  return newest;
}

/**
 * Links the versions a replace must keep, just before its rename: the file being replaced, unless
 * it is the version the store last wrote (already kept: same inode), and the complete temp file
 * about to become the state file. Returns the backups made, the replaced one first (it sorts older).
 */
export function linkVersions(
  folder: string,
  target: string,
  tmp: string,
  lastWritten: { ino: bigint } | undefined,
  after: string | undefined = newestBackupName(folder),
): { replaced?: string; written: string; writtenIno: bigint } {
  return linkWritten(planVersions(folder, target, tmp, lastWritten, undefined, after));
}

/** linkVersions in two steps: the file replaced kept, and the written version's backup named. */
export interface PlannedVersions {
  folder: string;
  tmp: string;
  replaced?: string;
  written: string;
  writtenIno: bigint;
}

/**
 * The first half of linkVersions, which may run while the temp file's sync does: links the file
 * being replaced (whole already, so linking it needs no wait) and names the written version's
 * backup from the temp file's size and mtime (a sync changes neither). The temp file itself is
 * linked by linkWritten, once synced: a backup named as written always holds whole bytes.
 * `current`: the target's inode when the caller stat'ed it as a file in this same turn.
 */
export function planVersions(
  folder: string,
  target: string,
  tmp: string,
  lastWritten: { ino: bigint } | undefined,
  current: { ino: bigint } | undefined = fileAt(target),
  after?: string,
): PlannedVersions {
  let replaced: string | undefined;
  if (current !== undefined && current.ino !== lastWritten?.ino) {
    replaced = join(folder, backupName(undefined, after));
    linkOrCopySync(target, replaced);
  }
  const next = statSync(tmp, { bigint: true });
  const written = join(folder, backupName({ size: next.size, mtimeNs: next.mtimeNs }, replaced ?? after));
  return { folder, tmp, replaced, written, writtenIno: next.ino };
}

function fileAt(path: string): { ino: bigint } | undefined {
  const s = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return s?.isFile() ? s : undefined;
}

/** The second half of linkVersions: the synced temp file linked as the version written. */
export function linkWritten(plan: PlannedVersions): { replaced?: string; written: string; writtenIno: bigint } {
  const { folder, tmp, replaced, written, writtenIno } = plan;
  if (linkOrCopySync(tmp, written) === 'copied') {
    // A copy has its own mtime: name it for the copy, so it reads as intact.
    const copy = statSync(written, { bigint: true });
    const named = join(folder, backupName({ size: copy.size, mtimeNs: copy.mtimeNs }, written));
    renameSync(written, named);
    return { replaced, written: named, writtenIno: copy.ino };
  }
  return { replaced, written, writtenIno };
}

/**
 * Takes back the backup linkWritten named as written, for a replace whose rename then failed: a
 * version named as written must be one the state file was, or a restore would bring back a write
 * its caller was told had failed. The file it was to replace stays kept (a true version). Best
 * effort: a folder that refuses the unlink refused the link first, or the disk is gone.
 */
export function withdrawWritten(kept: { written: string; writtenIno: bigint }): void {
  try {
    if (lstatSync(kept.written, { bigint: true, throwIfNoEntry: false })?.ino === kept.writtenIno) unlinkSync(kept.written);
  } catch {
    // As above.
  }
}

// A filesystem without hard links gets copies: they cost the bytes, and the file they replace is
// then always kept too (its inode is never the backup's).
function linkOrCopySync(from: string, to: string, again = true): 'linked' | 'copied' {
  try {
    linkSync(from, to);
    return 'linked';
  } catch (error) {
    const code = errnoCode(error);
    // The backups folder removed meanwhile (a cleanup of .deploystate/ while the lock is held): made again, once.
    if (code === 'ENOENT' && again && !existsSync(dirname(to))) {
      mkdirSync(dirname(to), { recursive: true });
      return linkOrCopySync(from, to, false);
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw error;
    copyFileSync(from, to);
    return 'copied';
  }
}

async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).filter((n) => n.endsWith('.json'));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** Backups of the given state file names (a chain's file under its name and as chain-<id>.json), newest first. */
export async function listBackupFiles(dir: string, fileNames: readonly string[]): Promise<string[]> {
  const all: Array<{ name: string; path: string }> = [];
  for (const fileName of new Set(fileNames)) {
    const folder = backupDirFor(dir, fileName);
    for (const name of await namesIn(folder)) all.push({ name, path: join(folder, name) });
  }
  return all.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0)).map((b) => b.path);
}

/** Keeps the newest `keep` backups of one file. */
export async function pruneBackups(dir: string, fileName: string, keep: number): Promise<void> {
  const folder = backupDirFor(dir, fileName);
  const names = (await namesIn(folder)).sort().reverse();
  for (const name of names.slice(keep)) await unlink(join(folder, name)).catch(() => undefined);
}

/**
 * One state file's backups as this process knows them, oldest first, so a write needs no folder
 * listing: the list is read again when the folder's mtime is not the one this process's own last
 * change left (another process added or removed a backup) or was seen within a timestamp tick of
 * that change (a change in the same tick leaves the same mtime: stat-tick.ts), and looked at only
 * once per take of the file's lock (writes that keep holding it share one look: every other writer
 * of these backups takes that lock first). The bound is kept by handing the oldest backup beyond
 * it to the next write to reuse as its temp file (see writeFileAtomic's `recycle`), and by removing
 * any further excess in the background.
 */
export class BackupShelf {
  private names: string[] | undefined;
  private seenMtimeNs: bigint | undefined;
  /** When seenMtimeNs was read (ms): a folder seen racy is listed again, whatever its mtime. */
  private seenAt = 0;
  /** The lock take (LockLease.takes) under which the list was last checked against the folder. */
  private checkedInTake: number | undefined;
  private lastWrittenKnown: { name: string; path: string; ino: bigint } | undefined;
  /** The removals of backups pushed out of the bound, done off the write's path. */
  private pruning: Promise<unknown> = Promise.resolve();
  readonly folder: string;

  constructor(
    dir: string,
    fileName: string,
    private readonly keep: number,
  ) {
    this.folder = backupDirFor(dir, fileName);
  }

  private current(take?: number): string[] {
    if (this.names && take !== undefined && take === this.checkedInTake) return this.names;
    // Set once the look succeeds: a look that failed (the folder replaced by a file, say) leaves
    // the list to be looked at again, never trusted for the rest of the take.
    this.checkedInTake = undefined;
    let mtimeNs: bigint;
    try {
      mtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    } catch {
      mkdirSync(this.folder, { recursive: true });
      mtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    }
    if (!this.names || mtimeNs !== this.seenMtimeNs || isRacy(this.seenAt, mtimeNs)) {
      const seenAt = Date.now();
      this.names = readdirSync(this.folder)
        .filter((n) => n.endsWith('.json'))
        .sort();
      this.seenMtimeNs = mtimeNs;
      this.seenAt = seenAt;
    }
    this.checkedInTake = take;
    return this.names;
  }

  /**
   * Prepares a write: the version last written (to tell whether the file it replaces is kept
   * already), and the oldest backup that one more pushes past the bound (the write may take that
   * file as its temp file; it leaves this list either way). `take` is the lock take the write runs
   * under (LockLease.takes): the folder is looked at once per take.
   */
  next(take?: number): { recyclable: string | undefined; lastWritten: { path: string; ino: bigint } | undefined; newest: string | undefined } {
    const names = this.current(take);
    const lastWritten = this.lastWritten(take);
    const newest = names[names.length - 1];
    // Never the version last written (with `backups: 1` it is the oldest too): the write names it
    // as the backup of the file it replaces; the bound prunes it once the write is done.
    const first = names[0];
    const pushedOut =
      names.length + 1 > this.keep && first !== undefined && (lastWritten === undefined || first !== this.lastWrittenKnown?.name);
    const oldest = pushedOut ? names.shift() : undefined;
    // The folder is a joined path and a name has no separator: joined again, it would read the same.
    return { recyclable: oldest === undefined ? undefined : `${this.folder}${sep}${oldest}`, lastWritten, newest };
  }

  /** The newest version the store wrote, as kept here (its inode tells whether the state file is still it). */
  lastWritten(take?: number): { path: string; ino: bigint } | undefined {
    const newest = newestWritten(this.current(take));
    if (newest === undefined) return undefined;
    if (this.lastWrittenKnown?.name !== newest) {
      const s = lstatSync(join(this.folder, newest), { bigint: true, throwIfNoEntry: false });
      if (!s) return undefined;
      this.lastWrittenKnown = { name: newest, path: join(this.folder, newest), ino: s.ino };
    }
    return { path: this.lastWrittenKnown.path, ino: this.lastWrittenKnown.ino };
  }

  /** Records the backups just linked (`written`: the version written, and its inode), and removes any excess beyond the bound off the write path. */
  added(written: { path: string; ino: bigint }, replaced?: string): void {
    const names = this.names ?? this.current();
    if (replaced !== undefined && !names.includes(basename(replaced))) names.push(basename(replaced));
    if (!names.includes(basename(written.path))) names.push(basename(written.path));
    names.sort();
    this.lastWrittenKnown = { name: basename(written.path), path: written.path, ino: written.ino };
    const excess = names.splice(0, Math.max(0, names.length - this.keep));
    try {
      this.seenAt = Date.now();
      this.seenMtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    } catch {
      this.names = undefined;
    }
    if (excess.length > 0) this.pruning = Promise.all([this.pruning, ...excess.map((name) => unlink(join(this.folder, name)).catch(() => undefined))]);
  }

  /** Resolves once the backups pushed out of the bound so far are removed (a list made then does not name them). */
  async pruned(): Promise<void> {
    await this.pruning;
  }

  /** Whether `path` is among the backups kept (a backup the bound pushed out is not). */
  keeps(path: string): boolean {
    return dirname(path) === this.folder && (this.names?.includes(basename(path)) ?? existsSync(path));
  }

  /** Forget what is known (after a failed write, or a restore by another path). */
  reset(): void {
    this.names = undefined;
    this.checkedInTake = undefined;
    this.lastWrittenKnown = undefined;
  }
}

export async function ensureBackupDir(dir: string, fileName: string): Promise<string> {
  const folder = backupDirFor(dir, fileName);
  await mkdir(folder, { recursive: true });
  return folder;
}

export interface RestoreOptions {
  registry?: NetworkRegistry;
  /** A specific backup file; default the newest that parses. */
  backup?: string;
  /**
   * Without `backup`: whether a version older than the one the store last wrote may be restored,
   * when that one was changed in place (its backup is a hard link to the file). Default true;
   * false refuses with BACKUP_NOT_FOUND naming the newest intact backup and how far back it is.
   */
  olderVersion?: boolean;
  /**
   * Restore even when the current file holds records the backup lacks, or holds newer by their
   * timestamp (written since the backup was kept, or brought in through git). Default false:
   * refused with STORES_DIFFER naming them (`data.lacks`, `data.older`); the result lists them.
   */
  discardNewer?: boolean;
  durable?: boolean;
  lockWait?: Pick<LockOptions, 'timeoutMs'>;
}

/** The version a restore put back, and the backups it made of what it replaced. */
export interface RestoreResult {
  /** The backup restored (the same as `version.backup`). */
  restored: string;
  version: BackupVersion & {
    /** Whether it is the newest version the store wrote (the state file as last written). */
    lastWritten: boolean;
    /** How many versions the store wrote after this one (0 for the last written; null for a replaced version). */
    newerWrites: number | null;
    /** False when a written version was changed after it was written (an edit in place of the state file). */
    intact: boolean;
  };
  /** The backup of the file the restore replaced, when it was not already kept. */
  replacedBackup?: string;
  /** Keys whose record the replaced file held and the restored version lacks or holds older (`discardNewer`); absent when none. */
  discarded?: string[];
}

/**
 * Replaces a chain's state file with a backup: the given one, or the newest that is intact and
 * parses as a state file of this chain (the version the store last wrote, unless that is damaged
 * too). The file it replaces is kept among the backups first, so the restore can be undone.
 * Throws BACKUP_NOT_FOUND when there is none.
 */
/** The version the store last wrote is damaged: restoring the newest intact one would lose the writes since. */
function olderThanLastWritten(target: string, candidate: string, index: number): StateError {
  const age = index > 0 ? `${index} write(s) before the last` : 'a version replaced before the last write';
  return new StateError(
    ErrorCodes.BACKUP_NOT_FOUND,
    `the version of ${basename(target)} the store last wrote was changed in place (its backup shares the file); the newest intact backup, ${candidate}, is ${age}`,
    {
      file: target,
      hint: `restore it by name (--backup ${candidate}; with --discard-newer when the file holds records it lacks or holds older) knowing the writes since are not in it, then put back the records the journal holds with \`deploystate repair-files\``,
    },
  );
}

/** What restoring `records` over the chain's file takes away, by key; undefined when the file is missing or does not parse. */
async function lossOver(target: string, chainId: number, records: ReadonlyMap<string, DeploymentRecord>): Promise<RestoreLoss | undefined> {
  let current: ReadonlyMap<string, DeploymentRecord>;
  try {
    const bytes = await readStateFileBytes(target);
    if (bytes === undefined) return undefined;
    current = parseStateFile(bytes.toString('utf8'), target, chainId).records;
  } catch {
    return undefined;
  }
  const byKey = (m: ReadonlyMap<string, DeploymentRecord>) => new Map([...m].map(([name, record]) => [`${chainId}-${name}`, record]));
  return restoreLoss(byKey(current), byKey(records));
}

/** Why the backup named by the caller cannot be restored: missing, a folder, or not a state file of the chain (its own error, naming it). */
function givenBackupError(backup: string, error: unknown): StateError {
  if (isStateError(error)) return error;
  const code = errnoCode(error);
  if (code === 'ENOENT') return new StateError(ErrorCodes.BACKUP_NOT_FOUND, `backup ${backup} does not exist`, { file: backup, cause: error });
  if (code === 'EISDIR') return new StateError(ErrorCodes.NOT_A_FILE, `backup ${backup} is a folder, not a backup file`, { file: backup, cause: error });
  return fileSystemError(error, backup, 'cannot read backup');
}

export async function restoreStateFile(dir: string, chainId: number, options: RestoreOptions = {}): Promise<RestoreResult> {
  const registry = options.registry ?? new NetworkRegistry();
  const fileName = registry.fileName(chainId);
  const target = join(dir, fileName);
  const names = [fileName, ...(registry.isKnown(chainId) ? [`chain-${chainId}.json`] : [])];
  return withFileLock(
    target,
    async (lock) => {
      // A link, folder or other non-file at the state file's path, or at the chain-<id>.json a
      // restore retires, is never replaced nor followed: refused before anything is written.
      const stray = registry.isKnown(chainId) ? join(dir, `chain-${chainId}.json`) : undefined;
      for (const path of [target, ...(stray !== undefined ? [stray] : [])]) await assertReplaceable(path);
      const all = await listBackupFiles(dir, names);
      const written = all.filter((path) => backupVersionOf(path)?.kind === 'written');
      const candidates = options.backup !== undefined ? [options.backup] : all;
      for (const candidate of candidates) {
        // A written version changed since (an edit in place) is not the version the store wrote: skipped unless asked for by name.
        const intact = isIntactBackup(candidate);
        if (!intact && options.backup === undefined) continue;
        let text: string;
        let records: ReadonlyMap<string, DeploymentRecord>;
        try {
          text = await readFile(candidate, 'utf8');
          records = parseStateFile(text, candidate, chainId).records;
        } catch (error) {
          // The backup asked for by name: why it cannot be restored, naming it.
          if (options.backup !== undefined) throw givenBackupError(candidate, error);
          if (isStateError(error) || errnoCode(error) === 'ENOENT') continue;
          throw error;
        }
        if (options.backup === undefined && options.olderVersion === false && written[0] !== undefined && candidate !== written[0])
          throw olderThanLastWritten(target, candidate, written.indexOf(candidate));
        // Records the file holds that this version lacks, or holds older: never taken away unasked.
        const loss = await lossOver(target, chainId, records);
        if (loss !== undefined && restoreLossCount(loss) > 0 && options.discardNewer !== true)
          throw restoreLossError(target, candidate, loss, 'pass discardNewer: true (`deploystate restore <network> --discard-newer`)');
        const folder = await ensureBackupDir(dir, fileName);
        const newest = written[0];
        const newestIno = newest === undefined ? undefined : lstatSync(newest, { bigint: true, throwIfNoEntry: false })?.ino;
        let kept: ReturnType<typeof linkVersions> | undefined;
        let renamed = false;
        try {
          await writeFileAtomic(target, text, {
            durable: options.durable ?? true,
            beforeRename: async (tmp) => {
              lock.assertHeld();
              // Keep what is being replaced, parseable or not, so the restore can itself be undone;
              // the restored text is the version the store wrote last from now on.
              kept = linkVersions(folder, target, tmp, newestIno === undefined ? undefined : { ino: newestIno });
            },
            afterRename: () => {
              renamed = true;
            },
          });
        } catch (error) {
          if (kept && !renamed) withdrawWritten(kept);
          throw error;
        }
        const index = written.indexOf(candidate);
        const named = backupVersionOf(candidate) ?? { backup: candidate, time: '', kind: 'replaced' as const, pid: 0, sequence: 0 };
        const result: RestoreResult = {
          restored: candidate,
          version: { ...named, lastWritten: index === 0, newerWrites: index === -1 ? null : index, intact },
          ...(kept?.replaced !== undefined && { replacedBackup: kept.replaced }),
          ...(loss !== undefined && restoreLossCount(loss) > 0 && { discarded: [...loss.lacks, ...loss.older] }),
        };
        // A chain restored to its registry name no longer lives in chain-<id>.json: keep that file as a backup, then retire it.
        if (stray !== undefined) {
          const strayText = await readStateFileBytes(stray).catch(() => undefined);
          if (strayText !== undefined) {
            const strayFolder = await ensureBackupDir(dir, basename(stray));
            await writeFileAtomic(join(strayFolder, backupName(undefined, newestBackupName(strayFolder))), strayText, { durable: false, tmpDir: join(dir, STATE_DIR, 'tmp') });
            await unlink(stray);
          }
        }
        return result;
      }
      throw new StateError(ErrorCodes.BACKUP_NOT_FOUND, `no backup of ${basename(target)} parses as a state file of chain ${chainId}`, {
        file: target,
      });
    },
    options.lockWait,
  );
}
