// Whether the file systems a command or a deploy script writes to take a write now, found by
// writing: a real temp file, removed again, in the state folder's tmp (local, ignored by git) where
// that shares the file system, else in the folder itself. Free space and free inodes beside it.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rm, stat, statfs } from 'node:fs/promises';
import { STATE_DIR } from '@deploystate/backend-json/atomic';
import { dirname, join } from 'node:path';
import { errnoCode, fileSystemError, type StateError } from '@deploystate/core';
import type { NextCommand } from './machine.js';

/** The state folder's tmp, where a write check of the state folder's own file system writes. */
export const stateTmp = (stateDir: string): string => join(stateDir, 'tmp');

/** The device a folder (or, when it does not exist yet, its nearest existing parent) lives on. */
async function deviceOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).dev;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    return undefined;
  }
}

/**
 * Writes a temp file on `folder`'s file system and removes it, in a git-ignored folder there: the
 * state folder's tmp, or the JSON store's own `.deploystate/tmp` in a deployments folder. Where the
 * file system holds neither (a fresh project, LevelDB on a disk of its own), nothing is written in
 * a folder a team commits: its write permission is asked for instead. Throws the StateError the
 * write got (PERMISSION_DENIED naming a read-only file system, DISK_FULL).
 */
export async function assertWritesWork(stateDir: string, folder: string): Promise<void> {
  const here = await deviceOf(folder);
  // Nothing there yet: whatever writes there creates it first, and finds out then.
  if (here === undefined) return;
  for (const [base, tmp] of [
    [stateDir, stateTmp(stateDir)],
    [join(folder, STATE_DIR), join(folder, STATE_DIR, 'tmp')],
  ] as const) {
    if ((await deviceOf(base)) !== here) continue;
    await mkdir(tmp, { recursive: true }).catch((error: unknown) => {
      throw fileSystemError(error, tmp, 'could not make the folder');
    });
    await assertWritableFolder(tmp);
    return;
  }
  await access(folder, constants.W_OK).catch((error: unknown) => {
    throw fileSystemError(error, folder, 'could not write in');
  });
}

export interface FileSystemRoom {
  /** Bytes a process that is not root may still write. */
  freeBytes: number;
  totalBytes: number;
  freeInodes: number;
  /** 0 where the file system keeps no count of inodes (btrfs): then free inodes say nothing. */
  totalInodes: number;
}

/** Below this share of the whole (or these few), space or inodes count as nearly exhausted. */
const NEARLY_SHARE = 0.01;
const NEARLY_BYTES = 1024 * 1024;
const NEARLY_INODES = 64;

function roomOf(fs: { bavail: number; bsize: number; blocks: number; ffree: number; files: number }): FileSystemRoom {
  return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize, freeInodes: fs.ffree, totalInodes: fs.files };
}

/** The room on the file system that holds `path` (or, when it does not exist yet, its nearest existing folder). */
export async function fileSystemRoom(path: string): Promise<FileSystemRoom> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return roomOf(await statfs(at));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || dirname(at) === at) throw error;
    }
  }
}

/** No free space, or no free inode, where the file system counts them. */
export function roomExhausted(room: FileSystemRoom): 'space' | 'inodes' | undefined {
  if (room.totalInodes > 0 && room.freeInodes === 0) return 'inodes';
  if (room.freeBytes === 0) return 'space';
  return undefined;
}

/** Space or inodes below 1 % of the whole (or under 1 MiB / 64 inodes left). */
export function roomNearlyExhausted(room: FileSystemRoom): 'space' | 'inodes' | undefined {
  if (room.totalInodes > 0 && room.freeInodes < Math.max(NEARLY_INODES, room.totalInodes * NEARLY_SHARE)) return 'inodes';
  if (room.freeBytes < Math.max(NEARLY_BYTES, Math.min(room.totalBytes * NEARLY_SHARE, 64 * NEARLY_BYTES))) return 'space';
  return undefined;
}

/** Bytes as MiB with one decimal, as readiness and status say room. */
export const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** `12.0 MiB free, 1800 inodes free` (inodes left out where the file system keeps no count). */
export function describeRoom(room: FileSystemRoom): string {
  return `${mib(room.freeBytes)} free${room.totalInodes > 0 ? `, ${room.freeInodes} inodes free` : ''}`;
}

/**
 * Writes a small temp file in `folder` (synced, then removed again): whether the file system takes
 * a write now. Throws the StateError a real write would get, naming `folder` (PERMISSION_DENIED
 * saying the file system is read-only on EROFS, DISK_FULL saying no free inodes where that is why).
 */
export async function assertWritableFolder(folder: string): Promise<void> {
  const file = join(folder, `.deploystate-write-check.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    const handle = await open(file, 'wx', 0o600);
    created = true;
    try {
      await handle.write('write check\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fileSystemError(error, folder, 'could not write a file in') satisfies StateError;
  } finally {
    if (created) await rm(file, { force: true }).catch(() => undefined);
  }
}

/** One file system status reads: the folders on it, its room, and what refuses writes there. */
export interface FileSystemStatus {
  /** Which of the project's folders it holds: `leveldb`, `deployments`, `state`. */
  holds: Array<'leveldb' | 'deployments' | 'state'>;
  /** The first of those folders, as a path. */
  path: string;
  room: FileSystemRoom;
  /** No free space, or no free inode: every new write there fails (DISK_FULL). */
  exhausted?: 'space' | 'inodes';
  /** Less than 1 % left (or a few MiB / inodes). */
  nearlyExhausted?: 'space' | 'inodes';
  /** A test file could not be written there (a read-only file system: PERMISSION_DENIED, EROFS). */
  notWritable?: { code: string; message: string };
}

/**
 * The file systems holding LevelDB, the deployments folder and the state folder, one entry each
 * (the folders that share one together): free space, free inodes and whether a write works there
 * (a temp file, removed again, in the state folder's tmp where it shares the file system).
 */
export async function projectFileSystems(paths: { leveldb: string; deployments: string; stateDir: string }): Promise<FileSystemStatus[]> {
  const folders = [
    ['leveldb', paths.leveldb],
    ['deployments', paths.deployments],
    ['state', paths.stateDir],
  ] as const;
  const byDevice = new Map<number | string, FileSystemStatus>();
  for (const [name, path] of folders) {
    const device = (await nearestDevice(path)) ?? path;
    const known = byDevice.get(device);
    if (known) {
      known.holds.push(name);
      continue;
    }
    const room = await fileSystemRoom(path).catch(() => undefined);
    if (room === undefined) continue;
    const entry: FileSystemStatus = { holds: [name], path, room };
    const exhausted = roomExhausted(room);
    const nearly = exhausted ?? roomNearlyExhausted(room);
    if (exhausted) entry.exhausted = exhausted;
    else if (nearly) entry.nearlyExhausted = nearly;
    try {
      await assertWritesWork(paths.stateDir, path);
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      entry.notWritable = { code: typeof e.code === 'string' ? e.code : 'WRITE_FAILED', message: String(e.message ?? error) };
    }
    byDevice.set(device, entry);
  }
  return [...byDevice.values()];
}

const FOLDER_NAMES = { leveldb: 'LevelDB', deployments: 'deployments', state: 'state folder' } as const;

/** The folders a file system holds and where, as status names them: `LevelDB, deployments: /p/leveldb`. */
export function describeHeld(disk: FileSystemStatus): string {
  return `${disk.holds.map((h) => FOLDER_NAMES[h]).join(', ')}: ${disk.path}`;
}

/**
 * Why every command status lists fails now, when one of the project's file systems refuses writes
 * (read-only, or no free space or inodes): each writes the state folder at least (its journal, its
 * state, verify's evidence, analyze's and report's files), and most write LevelDB or the network
 * files too. A file system whose test write failed is named by that write's error first (a
 * read-only one may report no free space too). Undefined when every file system takes writes.
 */
export function diskRefusal(disks: readonly FileSystemStatus[]): { code: string; reason: string } | undefined {
  for (const disk of disks) {
    const refusesWrites = { code: disk.notWritable?.code ?? '', reason: `the file system of the ${describeHeld(disk)} refuses writes` };
    if (disk.notWritable && disk.notWritable.code !== 'DISK_FULL') return refusesWrites;
    if (disk.exhausted) return { code: 'DISK_FULL', reason: `no free ${disk.exhausted} on the file system of the ${describeHeld(disk)}` };
    if (disk.notWritable) return refusesWrites;
  }
  return undefined;
}

/** status's next commands, none of them ready while a file system refuses writes (`refusal`, from diskRefusal); a gate that blocks one keeps its reason. */
export function blockedByDisk(next: readonly NextCommand[], refusal: { code: string; reason: string } | undefined): NextCommand[] {
  if (refusal === undefined) return [...next];
  return next.map((n) => (n.ready ? { ...n, ready: false, blockedBy: `${refusal.code}: ${refusal.reason}` } : n));
}

/** The device of `path` or of its nearest existing parent. */
async function nearestDevice(path: string): Promise<number | undefined> {
  for (let at = path; ; at = dirname(at)) {
    const device = await deviceOf(at).catch(() => undefined);
    if (device !== undefined) return device;
    if (dirname(at) === at) return undefined;
  }
}

/**
 * What a deploy script's store needs to write besides what a copy of the project shows: LevelDB's
 * LOCK opened for writing (where it reads or writes LevelDB), a file written in the deployments
 * folder (where it writes JSON) and in the state folder (its journal). Nothing stays: the LOCK is
 * only opened, each test file removed. Throws the error the script would get, naming the real file.
 */
export async function assertDeployScriptCanWrite(
  paths: { leveldb: string; deployments: string; stateDir: string },
  sides: { leveldb: boolean; json: boolean },
): Promise<void> {
  if (sides.leveldb) {
    const lock = join(paths.leveldb, 'LOCK');
    try {
      // r+: opened for writing as LevelDB opens it, never created or changed.
      await (await open(lock, 'r+')).close();
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw fileSystemError(error, lock, 'cannot open for writing');
      // No LOCK yet: LevelDB creates one in its folder.
      await assertWritesWork(paths.stateDir, paths.leveldb);
    }
  }
  if (sides.json && (await deviceOf(paths.deployments)) !== undefined) {
    // A write there goes to the store's temp folder, then is renamed into the folder itself.
    await assertWritesWork(paths.stateDir, paths.deployments);
    await access(paths.deployments, constants.W_OK).catch((error: unknown) => {
      throw fileSystemError(error, paths.deployments, 'could not write in');
    });
  }
  await assertWritesWork(paths.stateDir, paths.stateDir);
}
