// What is in a LevelDB folder, checked with plain file reads BEFORE LevelDB opens it: opening
// recovers (rewrites) the log and, with createIfMissing, would wipe a store whose CURRENT is gone,
// so damage has to be found while the files are still untouched.
import { readdirSync } from 'node:fs';
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { ErrorCodes, StateError, errnoCode } from '@deploystate/core';
import { checkLog } from './level-log.js';
import { folderMemo, nowNs, stampOf, unchanged, type ManifestView, type Verified } from './verified-files.js';

export type FolderState =
  /** No folder at all. */
  | { kind: 'missing' }
  /** A folder with nothing LevelDB would recognise (or nothing at all). */
  | { kind: 'empty'; entries: string[] }
  /** CURRENT is there: a store LevelDB can open without creating anything. */
  | { kind: 'store'; entries: string[] }
  /** LevelDB files without CURRENT: opening would lose them. */
  | { kind: 'headless'; entries: string[] };

/** Files LevelDB writes that hold data or name it (LOCK and the LOG text files hold neither). */
const DATA_FILE = /^(MANIFEST-\d+|\d+\.(log|ldb|sst))$/;

/**
 * Whether a file in a LevelDB folder is one the store cannot open without (CURRENT, a MANIFEST, a
 * table or a log): what a team that commits the folder must commit each time. LOCK, LOG and
 * LOG.old are LevelDB's own lock and text log, made again by any open.
 */
export const isStoreFile = (name: string): boolean => name === 'CURRENT' || DATA_FILE.test(name);

export async function inspectFolder(path: string): Promise<FolderState> {
  let entries: string[];
  try {
    const info = await stat(path);
    if (!info.isDirectory()) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a folder, so it cannot hold a LevelDB store`, { file: path });
    }
    entries = await readdir(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'missing' };
    throw error instanceof StateError
      ? error
      : new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot read ${path}`, { file: path, cause: error });
  }
  if (entries.includes('CURRENT')) return { kind: 'store', entries };
  if (entries.some((name) => DATA_FILE.test(name))) return { kind: 'headless', entries };
  return { kind: 'empty', entries };
}

/**
 * What a staged copy of a LevelDB folder is called beside it (`<folder>.restoring-<stamp>`): the
 * migrator's restore copies a backup there and checks it before it swaps it in.
 */
export const RESTORING_SUFFIX = '.restoring-';

/** The staged copies (full paths) beside `path`, oldest name first. */
export function stagedCopiesOf(path: string): string[] {
  const prefix = `${basename(path)}${RESTORING_SUFFIX}`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => join(dirname(path), name));
}

/**
 * A folder without files its own CURRENT and MANIFEST name. LevelDB writes them on every open
 * (a MANIFEST, a table from the log, a log) and rewrites CURRENT: a commit of a committed LevelDB
 * with `git commit -a` takes the new CURRENT and leaves the new files out, and a clone that pulls
 * it gets this folder. Nothing is damaged, so no repair: the files are in the committer's clone.
 */
export function incomplete(path: string, absent: readonly string[]): StateError {
  const folder = relative(process.cwd(), path) || '.';
  return new StateError(
    ErrorCodes.STORE_INCOMPLETE,
    `LevelDB store ${path} lacks files that its CURRENT or MANIFEST names: ${absent.join(', ')}. LevelDB's last open made them and they never arrived here (a git commit that left them out: \`git commit -a\` adds no new files); nothing was opened or written`,
    {
      file: path,
      data: { missing: [...absent] },
      hint: `whoever made the commit this folder came from runs \`git add -A -- ${folder}\` in their clone, commits and pushes, and you pull; or restore the folder from a commit that holds all its files (\`git log -- ${folder}\`, then \`git checkout <commit> -- ${folder}\`); a folder outside git: restore it from a backup (\`deploystate restore --list\`)`,
    },
  );
}

export function corrupted(path: string, detail: string, cause?: unknown): StateError {
  return new StateError(ErrorCodes.CORRUPTED, `LevelDB store ${path} is damaged: ${detail}; its files were left untouched`, {
    file: path,
    hint: `make a repaired copy with repairCopy(${JSON.stringify(path)}, <new folder>) and inspect it; never repair in place without a backup`,
    ...(cause !== undefined && { cause }),
  });
}

// ---- table files ------------------------------------------------------------------------------
// A table ends with a 48-byte footer whose last 8 bytes are a magic number. LevelDB opens tables
// lazily and would only fail in the middle of a later scan; a truncated table shows here at once.

const TABLE_MAGIC = 0xdb4775248b80fb57n;
const FOOTER = 48;

export async function tableIntact(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size < FOOTER) return false;
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    return tail.readBigUInt64LE(0) === TABLE_MAGIC;
  } finally {
    await handle.close();
  }
}

// ---- the MANIFEST ---------------------------------------------------------------------------
// A log of VersionEdits (leveldb/db/version_edit.cc). Only the set of live table files and their
// sizes is needed: a table not in it is a compaction output in progress or a leftover, which
// LevelDB itself ignores and deletes; a live table of the wrong size is damage.

function readVarint(bytes: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= bytes.length) throw new Error('varint runs past the record');
    const byte = bytes[at.pos++] as number;
    result += (byte & 0x7f) * factor;
    if (byte < 0x80) return result;
    factor *= 128;
  }
  throw new Error('varint too long');
}

function skipSlice(bytes: Uint8Array, at: { pos: number }): void {
  const length = readVarint(bytes, at);
  at.pos += length;
  if (at.pos > bytes.length) throw new Error('slice runs past the record');
}


/** The live tables and log from a MANIFEST's bytes, or null when they cannot be read. */
function parseManifest(bytes: Uint8Array): ManifestView | null {
  const live = new Map<number, number>();
  let logNumber = 0;
  try {
    const result = checkLog(bytes, (edit) => {
      const at = { pos: 0 };
      while (at.pos < edit.length) {
        const tag = readVarint(edit, at);
        if (tag === 1) skipSlice(edit, at);
        else if (tag === 2) logNumber = readVarint(edit, at);
        else if (tag === 3 || tag === 4 || tag === 9) readVarint(edit, at);
        else if (tag === 5) {
          readVarint(edit, at);
          skipSlice(edit, at);
        } else if (tag === 6) {
          readVarint(edit, at);
          live.delete(readVarint(edit, at));
        } else if (tag === 7) {
          readVarint(edit, at);
          const number = readVarint(edit, at);
          live.set(number, readVarint(edit, at));
          skipSlice(edit, at);
          skipSlice(edit, at);
        } else throw new Error(`unknown VersionEdit tag ${tag}`);
      }
    });
    // A torn last edit was never applied (LevelDB drops it too); a damaged one is LevelDB's to report.
    return result.ok || result.kind === 'torn' ? { live, logNumber } : null;
  } catch {
    return null;
  }
}

/** The MANIFEST a CURRENT file's text names, or null when it names none. */
export function manifestNamed(currentText: string): string | null {
  const name = currentText.trim();
  return /^MANIFEST-\d+$/.test(name) ? name : null;
}

async function currentManifest(path: string): Promise<string | null> {
  return manifestNamed(await readFile(join(path, 'CURRENT'), 'utf8'));
}

/** Live table file number -> size, or null when the MANIFEST cannot be read. */
export async function liveTables(path: string): Promise<Map<number, number> | null> {
  try {
    const current = await currentManifest(path);
    return current === null ? null : (parseManifest(await readFile(join(path, current)))?.live ?? null);
  } catch {
    return null;
  }
}

const fileNumber = (n: number): string => String(n).padStart(6, '0');

/**
 * The files a MANIFEST names that `entries` (a folder's listing) lacks: a live table, or the log
 * LevelDB writes to (it names that log only once it exists, and deletes older ones only after).
 * LevelDB would open such a folder without a word: a missing log loses its records silently.
 */
function namedAbsent(view: ManifestView, entries: ReadonlySet<string>): string[] {
  const absent: string[] = [];
  for (const number of view.live.keys()) {
    const name = fileNumber(number);
    if (!entries.has(`${name}.ldb`) && !entries.has(`${name}.sst`)) absent.push(`${name}.ldb`);
  }
  if (view.logNumber > 0 && !entries.has(`${fileNumber(view.logNumber)}.log`)) absent.push(`${fileNumber(view.logNumber)}.log`);
  return absent;
}

/**
 * The files the folder's CURRENT and MANIFEST name that it lacks (see `incomplete`): the MANIFEST
 * itself, or the tables and log it names. Empty when CURRENT names none, or its MANIFEST cannot be
 * read (damage, judged elsewhere).
 */
export async function absentFiles(path: string): Promise<string[]> {
  try {
    const manifest = await currentManifest(path);
    if (manifest === null) return [];
    const entries = new Set(await readdir(path));
    if (!entries.has(manifest)) return [manifest];
    const view = parseManifest(await readFile(join(path, manifest)));
    return view === null ? [] : namedAbsent(view, entries);
  } catch {
    return [];
  }
}

/** A log whose final record is incomplete: an unacknowledged write that LevelDB drops on open. */
export interface TornTail {
  /** The log file's path. */
  file: string;
  detail: string;
  /** Where the last whole record ends (what LevelDB keeps). */
  completeEnd: number;
  size: number;
}

export interface CheckStats {
  /** Files read and checked now. */
  filesChecked: number;
  /** Files this process had verified before and found unchanged (not read again). */
  filesReused: number;
  /** Log and MANIFEST bytes read. */
  bytesRead: number;
}

export interface FolderCheck {
  /**
   * Files CURRENT and the MANIFEST name that the folder lacks (a commit that left them out, see
   * `incomplete`); a live writer switching MANIFESTs shows one for a moment: only if they persist.
   */
  absent: string[];
  /**
   * Problems that a process holding the store and writing right now could also cause (a live
   * table missing or of another size than the MANIFEST says, as a compaction moves on): damage
   * only if they persist.
   */
  suspicious: string[];
  /** Torn log tails: accepted (the crash of a writer), reported as warnings. */
  tornTails: TornTail[];
  stats: CheckStats;
}

export interface CheckOptions {
  /** Reuse what this process verified before (default true); false reads every file again. */
  reuse?: boolean;
}

async function readFrom(handle: FileHandle, from: number, to: number): Promise<Buffer> {
  const bytes = Buffer.alloc(to - from);
  let filled = 0;
  while (filled < bytes.length) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
    if (bytesRead === 0) return bytes.subarray(0, filled);
    filled += bytesRead;
  }
  return bytes;
}

const missing = (error: unknown): boolean => errnoCode(error) === 'ENOENT';

/**
 * Checks the folder's data files before LevelDB sees them. Throws CORRUPTED for a log record
 * that fails its checksum, is malformed, or follows a gap (no crash produces those). Returns the
 * torn log tails (accepted) and problems that may be a live writer's work in progress (the
 * caller looks again before deciding). Files verified earlier in this process and unchanged
 * since are not read again; a log that grew is checked from where its last check ended.
 */
export async function checkDataFiles(path: string, entries: readonly string[], options: CheckOptions = {}): Promise<FolderCheck> {
  const memo = options.reuse === false ? new Map<string, Verified>() : folderMemo(path);
  const checkedAtNs = nowNs();
  const stats: CheckStats = { filesChecked: 0, filesReused: 0, bytesRead: 0 };
  const suspicious: string[] = [];
  const absent: string[] = [];
  const tornTails: TornTail[] = [];
  const seen = new Set<string>();

  let view: ManifestView | null = null;
  try {
    const manifest = await currentManifest(path);
    if (manifest !== null) {
      seen.add(manifest);
      const handle = await open(join(path, manifest), 'r').catch((error: unknown) => {
        if (missing(error)) absent.push(manifest);
        throw error;
      });
      try {
        const stamp = stampOf(await handle.stat({ bigint: true }));
        const prior = memo.get(manifest);
        if (prior?.kind === 'manifest' && unchanged(prior, stamp)) {
          stats.filesReused++;
          view = prior.view;
        } else {
          const bytes = await readFrom(handle, 0, Number(stamp.size));
          stats.filesChecked++;
          stats.bytesRead += bytes.length;
          view = parseManifest(bytes);
          memo.set(manifest, { kind: 'manifest', stamp, checkedAtNs, view });
        }
      } finally {
        await handle.close();
      }
    }
  } catch {
    // No readable MANIFEST: LevelDB's own open reports that; tables are then judged by their footers.
    view = null;
  }
  const live = view?.live ?? null;

  for (const name of entries) {
    const file = join(path, name);
    try {
      const table = /^(\d+)\.(ldb|sst)$/.exec(name);
      if (table) {
        const number = Number(table[1]);
        // A table the MANIFEST does not name is compaction output in progress or a leftover.
        if (live && !live.has(number)) continue;
        seen.add(name);
        const stamp = stampOf(await stat(file, { bigint: true }));
        const prior = memo.get(name);
        if (live && BigInt(live.get(number) as number) !== stamp.size) {
          suspicious.push(`table file ${name} is ${stamp.size} bytes, its MANIFEST says ${live.get(number)} (truncated?)`);
        } else if (prior?.kind === 'table' && unchanged(prior, stamp)) {
          stats.filesReused++;
        } else {
          stats.filesChecked++;
          if (await tableIntact(file)) memo.set(name, { kind: 'table', stamp, checkedAtNs });
          else suspicious.push(`table file ${name} is truncated or not a table`);
        }
      } else if (/^\d+\.log$/.test(name)) {
        seen.add(name);
        const torn = await checkLogFile(path, name, memo, checkedAtNs, stats);
        if (torn) tornTails.push(torn);
      }
    } catch (error) {
      if (error instanceof StateError) throw error;
      // A file that vanished was compacted away by the process holding the store: not damage.
      if (missing(error)) continue;
      throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot read ${file}`, { file, cause: error });
    }
  }
  if (view) absent.push(...namedAbsent(view, new Set(entries)));
  for (const name of memo.keys()) if (!seen.has(name)) memo.delete(name);
  return { absent, suspicious, tornTails, stats };
}

async function checkLogFile(
  path: string,
  name: string,
  memo: Map<string, Verified>,
  checkedAtNs: bigint,
  stats: CheckStats,
): Promise<TornTail | null> {
  const file = join(path, name);
  const handle = await open(file, 'r');
  try {
    const stamp = stampOf(await handle.stat({ bigint: true }));
    const size = Number(stamp.size);
    const prior = memo.get(name);
    const tornTail = (detail: string, completeEnd: number): TornTail => ({ file, detail, completeEnd, size });
    if (prior?.kind === 'log' && unchanged(prior, stamp)) {
      stats.filesReused++;
      return prior.torn === undefined ? null : tornTail(prior.torn, prior.completeEnd);
    }
    // Logs are append-only: one that only grew is checked from its last whole record on.
    const grown = prior?.kind === 'log' && prior.stamp.ino === stamp.ino && stamp.size > prior.stamp.size;
    const from = grown ? prior.completeEnd : 0;
    const bytes = await readFrom(handle, from, size);
    stats.filesChecked++;
    stats.bytesRead += bytes.length;
    const result = checkLog(bytes, { offset: from });
    if (!result.ok && result.kind === 'damaged') {
      memo.delete(name);
      throw corrupted(path, `${name}: ${result.detail}`);
    }
    const torn = result.ok ? undefined : result.detail;
    memo.set(name, { kind: 'log', stamp, checkedAtNs, completeEnd: result.completeEnd, ...(torn !== undefined && { torn }) });
    return torn === undefined ? null : tornTail(torn, result.completeEnd);
  } finally {
    await handle.close();
  }
}
