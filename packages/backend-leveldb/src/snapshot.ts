// Consistent copies of a LevelDB folder that another process may hold open and write to. A copy
// counts only when CURRENT and the MANIFEST it names are unchanged across it: then the set of
// table files did not change, and the log copy is a prefix of the log, whose last (partial)
// record LevelDB itself would drop after a crash, so the copy is trimmed to whole records.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, StateError, errnoCode, isStateError, fileSystemError, fsErrorCode, leftByDeadProcess, removeOnInterrupt, sleep, type NetworkRegistry } from '@deploystate/core';
import { absentFiles, corrupted, incomplete, inspectFolder, isStoreFile, liveTables, manifestNamed } from './level-files.js';
import { DEFAULT_LOCK_WAIT, lockWaitBudgetMs, type LockWait } from './leveldb-options.js';
import { swapNotFinished, waitedForSwap } from './restore-swap.js';
import { copyInTurn } from './snapshot-turn.js';
import { checkLog } from './level-log.js';
import { LevelDbStore } from './leveldb-store.js';

export interface SnapshotOptions {
  /** How many times to copy before giving up while the store keeps changing. Default 5. */
  attempts?: number;
  /** How long to wait for a restore swapping its copy into `source`, as a store's open waits for a lock. */
  lockWait?: Partial<LockWait>;
}

export interface SnapshotResult {
  dest: string;
  /** How many copies it took. */
  attempts: number;
}

interface ManifestMark {
  current: string;
  size: number;
  mtimeMs: number;
}

async function manifestMark(source: string): Promise<ManifestMark | null> {
  try {
    const current = manifestNamed(await readFile(join(source, 'CURRENT'), 'utf8'));
    if (current === null) return null;
    const info = await stat(join(source, current));
    return { current, size: info.size, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** The errors of a write that found no room: the disk or quota full, or the file-size limit reached. */
const OUT_OF_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

const sameMark = (a: ManifestMark | null, b: ManifestMark | null): boolean =>
  a !== null && b !== null && a.current === b.current && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * The source is a store. Missing (or holding only LOCK and LOG) while a restore swaps its copy in,
 * it is waited for as a store's open waits (restore-swap.ts): a read-only command beside a restore
 * reads the restored folder rather than failing. Only after that wait, STORE_NOT_FOUND.
 */
async function assertSource(source: string, lockWait: LockWait, deadline: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const state = await inspectFolder(source);
    if (state.kind === 'headless') throw corrupted(source, 'CURRENT is missing while table, log or MANIFEST files are present');
    if (state.kind !== 'missing' && state.kind !== 'empty') return;
    if (await waitedForSwap(source, lockWait, attempt, deadline)) continue;
    const message = `no LevelDB store at ${source}`;
    throw swapNotFinished(source, message) ?? new StateError(ErrorCodes.STORE_NOT_FOUND, message, { file: source, hint: 'check the path (the default is ./leveldb)' });
  }
}

async function assertFreshDest(dest: string): Promise<void> {
  const entries = await readdir(dest).catch((error: { code?: unknown }) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  if (entries.length > 0)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${dest} is not empty; a copy never overwrites anything`, { file: dest });
}

/**
 * Copies the files the store cannot open without (isStoreFile: CURRENT, MANIFESTs, tables, logs).
 * Not LOCK (per process; the copy gets its own) nor LevelDB's text logs LOG and LOG.old: every open
 * moves LOG to LOG.old and starts a new LOG before it even asks for the lock, so a script waiting to
 * open renamed them during a copy made in LevelDB's turn, and the copy failed (ENOENT, taken for a
 * change) about one snapshot in forty beside a script reopening LevelDB for every put.
 */
async function copyFolder(source: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const name of await readdir(source)) {
    if (!isStoreFile(name)) continue;
    await copyFile(join(source, name), join(dest, name));
  }
}

/**
 * Cuts a copied log back to its last whole record and drops tables the MANIFEST does not name
 * (compaction output still being written), as LevelDB's own recovery would.
 */
async function settleCopy(dest: string): Promise<'ok' | 'damaged'> {
  const live = await liveTables(dest);
  for (const name of await readdir(dest)) {
    const table = /^(\d+)\.(ldb|sst)$/.exec(name);
    if (table && live && !live.has(Number(table[1]))) await rm(join(dest, name));
    if (!/^\d+\.log$/.test(name)) continue;
    const file = join(dest, name);
    const result = checkLog(await readFile(file));
    if (result.ok) continue;
    if (result.kind === 'damaged') return 'damaged';
    await truncate(file, result.completeEnd);
  }
  return 'ok';
}

/**
 * Copies the LevelDB folder `source` to `dest` (which must be missing or empty) so that the copy
 * is a consistent store, even while another process writes to `source`.
 */
export async function snapshotLevelDb(source: string, dest: string, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'attempts must be a positive integer');
  const lockWait = { ...DEFAULT_LOCK_WAIT, ...options.lockWait };
  const deadline = Date.now() + lockWaitBudgetMs(lockWait);
  await assertSource(source, lockWait, deadline);
  await assertFreshDest(dest);
  // Why the last attempt failed: a busy store is LOCKED (try again later), a damaged one CORRUPTED,
  // one without files it names STORE_INCOMPLETE.
  const BUSY: { damaged: boolean; text: string; absent?: string[] } = { damaged: false, text: 'the store kept changing during the copy' };
  let last = BUSY;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await rm(dest, { recursive: true, force: true });
      await sleep(10 * attempt);
      // A copy that raced a restore's first rename found files gone: the swap is waited for again.
      await assertSource(source, lockWait, deadline);
    }
    // The MANIFEST as the copy began, the copy, and the MANIFEST as it ended (in the turn, still within it).
    const copy = async (): Promise<[ManifestMark | null, ManifestMark | null]> => {
      const mark = await manifestMark(source);
      await copyFolder(source, dest);
      return [mark, await manifestMark(source)];
    };
    let before: ManifestMark | null;
    let after: ManifestMark | null;
    try {
      // After a copy that met a change (a writer reopening the store), in LevelDB's turn: no open between.
      const inTurn = attempt > 1 && last === BUSY ? await copyInTurn(source, copy, deadline) : undefined;
      [before, after] = inTurn ? inTurn[0] : await copy();
    } catch (error) {
      // A file compacted away mid-copy: the MANIFEST changed too; copy again.
      if (errnoCode(error) === 'ENOENT') {
        last = BUSY;
        continue;
      }
      // The machine's refusal as such (a full temp folder is DISK_FULL, naming where it ran out), never a broken install.
      // A copy runs out of room at its destination: copyFile's error names that `dest`, its `path` is the source.
      const { path: from, dest: to } = error as NodeJS.ErrnoException & { dest?: string };
      const path = (OUT_OF_ROOM.has(errnoCode(error) ?? '') ? to : from) ?? from ?? dest;
      throw new StateError(fsErrorCode(error), `cannot copy ${source} to ${dest}: ${(error as Error).message}`, { file: path, cause: error });
    }
    // No MANIFEST that CURRENT names, before and after: a damaged folder, not a busy one (a writer
    // switching MANIFESTs shows one on one side at least), unless a later attempt finds one.
    if (before === null && after === null) {
      const absent = await absentFiles(source);
      last = { damaged: true, text: 'CURRENT is missing, unreadable, or names a MANIFEST that does not exist', ...(absent.length > 0 && { absent }) };
      continue;
    }
    if (!sameMark(before, after)) {
      last = BUSY;
      continue;
    }
    // The copy is the folder at one moment: files its MANIFEST names and it lacks are not there.
    const absent = await absentFiles(dest);
    if (absent.length > 0) {
      last = { damaged: true, text: 'files that CURRENT and the MANIFEST name are missing', absent };
      continue;
    }
    if ((await settleCopy(dest)) === 'damaged') {
      last = { damaged: true, text: 'a log record in the copy fails its checksum' };
      continue;
    }
    return { dest, attempts: attempt };
  }
  await rm(dest, { recursive: true, force: true });
  if (last.absent) throw incomplete(source, last.absent);
  if (last.damaged) throw corrupted(source, last.text);
  throw new StateError(ErrorCodes.LOCKED, `could not take a consistent snapshot of ${source} in ${attempts} attempts: ${last.text}`, {
    file: source,
    hint: 'another process is writing heavily; try again when it is quieter, or stop it',
  });
}

export interface OpenSnapshotOptions extends SnapshotOptions {
  registry?: NetworkRegistry;
  /** Where the temp folder goes. Default: the OS temp folder. */
  tmpRoot?: string;
}

export interface OpenedSnapshot {
  store: LevelDbStore;
  /** The temp folder holding the copy. */
  dir: string;
  /** Closes the store and removes the copy. */
  dispose(): Promise<void>;
}

const SNAPSHOT_PREFIX = 'deploystate-snapshot-';
/** Who made a snapshot folder: a process killed while it held one leaves it behind. */
const OWNER_FILE = 'owner.json';
/** A folder with no owner file (made before owners were written) counts as left behind after this long. */
const UNOWNED_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Whether a snapshot folder was left behind: its process (on this host) is gone and it is older
 * than LEFTOVER_MIN_AGE_MS, or it names no owner (none written, or cut short by a kill) and is a day old.
 */
async function leftBehind(dir: string, host: string, now: number): Promise<boolean> {
  const { mtimeMs } = await stat(dir);
  let owner: { pid?: unknown; host?: unknown } | undefined;
  try {
    owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown; host?: unknown } | undefined;
  } catch (error) {
    // Unreadable for another reason than its absence or a cut-short text: not ours to judge.
    if (errnoCode(error) !== 'ENOENT' && !(error instanceof SyntaxError)) return false;
  }
  if (typeof owner?.pid !== 'number') return now - mtimeMs > UNOWNED_AGE_MS;
  return owner.host === host && leftByDeadProcess(owner.pid, mtimeMs, now);
}

/**
 * Removes the snapshot folders under `root` that processes killed while they held one left behind
 * (each is a copy of a whole LevelDB folder). Best effort: a folder it cannot judge stays. Returns
 * the folders removed.
 */
export async function sweepSnapshots(root: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = (await readdir(root)).filter((name) => name.startsWith(SNAPSHOT_PREFIX));
  } catch {
    return removed;
  }
  const host = hostname();
  const now = Date.now();
  for (const name of names) {
    const dir = join(root, name);
    try {
      if (!(await leftBehind(dir, host, now))) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

const TEMP_FOLDER_HINT =
  'check the temp folder (TMPDIR): it must exist, be writable and have room for a copy of the LevelDB folder (free space there, or point TMPDIR at a folder with room); the LevelDB folder itself was only read';

/** A read-only, open LevelDbStore over a fresh consistent copy of `source`. */
export async function openSnapshot(source: string, options: OpenSnapshotOptions = {}): Promise<OpenedSnapshot> {
  const root = options.tmpRoot ?? tmpdir();
  await sweepSnapshots(root);
  let dir: string;
  try {
    dir = await mkdtemp(join(root, SNAPSHOT_PREFIX));
  } catch (error) {
    // The temp folder (TMPDIR) is missing, full or not writable: said as such, naming it.
    throw new StateError(
      errnoCode(error) === 'ENOENT' ? ErrorCodes.WRITE_FAILED : fsErrorCode(error),
      `cannot make a snapshot folder in the temp folder ${root}: ${(error as Error).message}`,
      { file: root, cause: error, hint: TEMP_FOLDER_HINT, data: { tempFolder: root } },
    );
  }
  // A copy of the whole folder: removed if a signal stops the process first (the CLI runs these cleanups).
  const dropCleanup = removeOnInterrupt(dir);
  try {
    const owner = join(dir, OWNER_FILE);
    // A write() names no file of its own: a full temp folder is said naming where it ran out.
    await writeFile(owner, `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`).catch((error: unknown) => {
      throw fileSystemError(error, owner, 'cannot write the snapshot owner file');
    });
    const path = join(dir, 'leveldb');
    await snapshotLevelDb(source, path, {
      ...(options.attempts !== undefined && { attempts: options.attempts }),
      ...(options.lockWait !== undefined && { lockWait: options.lockWait }),
    });
    const store = new LevelDbStore({
      path,
      readOnly: true,
      create: false,
      idleCloseMs: 0,
      ...(options.registry !== undefined && { registry: options.registry }),
    });
    await store.open();
    return {
      store,
      dir,
      async dispose() {
        try {
          await store.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
          dropCleanup();
        }
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    dropCleanup();
    throw inTempFolder(error, dir, root);
  }
}

/**
 * A failure to write the copy in the temp folder (full, not writable) says so in `data.tempFolder`:
 * the LevelDB folder itself was only read, and a reader must not say that it cannot be opened.
 */
function inTempFolder(error: unknown, dir: string, root: string): unknown {
  if (!isStateError(error) || error.file === undefined || !error.file.startsWith(dir)) return error;
  if (error.code !== ErrorCodes.DISK_FULL && error.code !== ErrorCodes.PERMISSION_DENIED) return error;
  return new StateError(error.code, error.message, {
    file: error.file,
    hint: TEMP_FOLDER_HINT,
    data: { ...error.data, tempFolder: root },
    cause: error.cause ?? error,
  });
}
