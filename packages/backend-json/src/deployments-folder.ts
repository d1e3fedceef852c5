// The deployments folder on disk: opening (or creating) it, preparing its `.deploystate/`, and listing the state files in it.
import { mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ErrorCodes,
  StateError,
  compareKeys,
  errnoCode,
  fileSystemError,
  inProgressHere,
  isStateError,
  leftByDeadProcess,
  LEFTOVER_MIN_AGE_MS,
  listBesideGit,
  type NetworkRegistry,
} from '@deploystate/core';
import { STATE_DIR, tempFilePid } from './atomic.js';

/**
 * Opens the deployments folder: STORE_NOT_FOUND when it is missing (unless `create` and not `readOnly`, then
 * it is made) or not a folder; then its `.deploystate/` is prepared unless `readOnly`. Returns the
 * error writes must report when that folder cannot be made (something else in its place): reads
 * need none of it.
 */
export async function openDeploymentsFolder(location: string, create: boolean, readOnly: boolean): Promise<StateError | undefined> {
  // Synchronous calls, as for every small metadata call here (atomic.ts): each takes microseconds,
  // where its async form waits a thread-pool round trip, and a process pays them all at its first use.
  try {
    const info = statSync(location);
    if (!info.isDirectory()) throw new StateError(ErrorCodes.STORE_NOT_FOUND, `${location} is not a folder`, { file: location });
  } catch (error) {
    if (isStateError(error)) throw error;
    if (errnoCode(error) !== 'ENOENT')
      throw fileSystemError(error, location, 'cannot open');
    if (!create || readOnly) {
      throw new StateError(ErrorCodes.STORE_NOT_FOUND, `deployments folder ${location} does not exist`, {
        file: location,
        hint: 'create it, or pass create: true',
      });
    }
    await mkdir(location, { recursive: true }).catch((cause: unknown) => {
      throw fileSystemError(cause, location, 'cannot create');
    });
  }
  return readOnly ? undefined : prepareStateDir(location);
}

/**
 * Whether a temp file carrying this process's pid was last written before this process started: a
 * writer that died with the same pid left it (in a container every run may be pid 1). Ten seconds
 * before the start, so a clock stepped back a little never takes a live write's file for one.
 */
function madeBeforeThisProcess(mtimeMs: number): boolean {
  return mtimeMs < Date.now() - process.uptime() * 1000 - 10_000;
}

/**
 * `.deploystate/` with its .gitignore, and no temp files left by writers that died. Returns, rather
 * than throws, the error for a file standing where one of its folders goes: reads go on, writes
 * (which need its temp files, locks and backups) report it.
 */
export function prepareStateDir(location: string): StateError | undefined {
  const root = join(location, STATE_DIR);
  try {
    mkdirSync(join(root, 'tmp'), { recursive: true });
    mkdirSync(join(root, 'locks'), { recursive: true });
    mkdirSync(join(root, 'backups'), { recursive: true });
    try {
      writeFileSync(join(root, '.gitignore'), '*\n', { flag: 'wx' });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const now = Date.now();
    for (const name of readdirSync(join(root, 'tmp'))) {
      const pid = tempFilePid(name);
      if (pid === undefined) continue;
      const path = join(root, 'tmp', name);
      let mtimeMs: number;
      try {
        mtimeMs = statSync(path).mtimeMs;
      } catch {
        continue;
      }
      // A pid that looks dead (or like this one) from here can be a live writer in another pid
      // namespace sharing the folder (a container with a bind mount): only old leftovers go.
      // One of this process's own writes in progress (another store of it, mid-write) is never a
      // leftover, whatever its timestamps say (moved back by hand, or by a clock).
      const left =
        pid === process.pid
          ? !inProgressHere(path) && now - mtimeMs > LEFTOVER_MIN_AGE_MS && madeBeforeThisProcess(mtimeMs)
          : leftByDeadProcess(pid, mtimeMs, now);
      if (left) {
        try {
          unlinkSync(path);
        } catch {
          // Gone meanwhile: nothing left behind.
        }
      }
    }
  } catch (error) {
    // A read-only folder still serves reads; writes will report the permission problem.
    const failed = fileSystemError(error, root, 'cannot prepare');
    if (failed.code === ErrorCodes.PERMISSION_DENIED) return undefined;
    const blocked = [root, join(root, 'tmp'), join(root, 'locks'), join(root, 'backups')].find(notAFolder);
    if (blocked === undefined) throw failed;
    return new StateError(ErrorCodes.WRITE_FAILED, `${blocked} is not a folder: the JSON store keeps its temp files, locks and backups there, so it cannot write`, {
      file: blocked,
      hint: 'move that file away (it is no state file; the store makes the folder), then run the write again; reads are not affected',
      cause: error,
    });
  }
  return undefined;
}

function notAFolder(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Every entry of the deployments folder, listed once no git command rewrites it. A listing while
 * git rewrites the folder (a pull, checkout or reset) misses each file git has unlinked and not yet
 * written: that chain would read as holding nothing (a rollback from json-only would delete its
 * records from LevelDB; verify would report it missing). Every listing of the folder goes through here.
 */
export async function deploymentsEntries(location: string): Promise<Dirent[]> {
  try {
    // Made again when git began during it (listBesideGit): a wait before it alone left a reset in a
    // loop room to start between the wait and the listing (1 verify in 900 missed a whole chain).
    return await listBesideGit(location, () => readdir(location, { withFileTypes: true }));
  } catch (error) {
    throw fileSystemError(error, location, 'cannot list');
  }
}

/** The state files in the folder, by the chain they belong to (a chain may show twice mid-move). */
export async function stateFilesIn(location: string, registry: NetworkRegistry): Promise<Array<{ chainId: number; file: string }>> {
  const entries = await deploymentsEntries(location);
  const out: Array<{ chainId: number; file: string }> = [];
  for (const entry of entries) {
    // Anything under a state file's name is listed (a link, a folder, a FIFO, a socket), so reading
    // it names it (NOT_A_FILE): a chain left out would read as holding nothing, and a rollback from
    // json-only would delete its records from LevelDB.
    const chainId = registry.chainIdOfFile(entry.name);
    if (chainId !== undefined) out.push({ chainId, file: join(location, entry.name) });
  }
  return out.sort((a, b) => a.chainId - b.chainId || compareKeys(a.file, b.file));
}
