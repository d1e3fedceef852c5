// The one error class of the toolkit. Codes are the contract: messages may change, codes may not.
import { readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export const ErrorCodes = {
  /** A value is not a DeploymentRecord (missing name, non-integer chainId, wrong types). */
  INVALID_RECORD: 'INVALID_RECORD',
  /** A key is not of the form `${chainId}-${contractName}`. */
  INVALID_KEY: 'INVALID_KEY',
  /** An argument or option given to an API or command is not acceptable. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A configuration file or registry entry is malformed. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** An operation was called on a store that is not open (never opened, or closed). */
  STORE_CLOSED: 'STORE_CLOSED',
  /** The store, file or folder that read-only work needs does not exist. */
  STORE_NOT_FOUND: 'STORE_NOT_FOUND',
  /** Stored data cannot be read: undecodable value, truncated file, damaged database. */
  CORRUPTED: 'CORRUPTED',
  /**
   * A LevelDB folder lacks files its own CURRENT or MANIFEST names (a git commit that left out the
   * files LevelDB's last open made): nothing is damaged, the files are elsewhere.
   */
  STORE_INCOMPLETE: 'STORE_INCOMPLETE',
  /** Another process holds the store, file or migration lock after the bounded wait. */
  LOCKED: 'LOCKED',
  /**
   * The operating system's file lock cannot be used: its native module did not load for this
   * platform, the file system does not honour advisory locks, or the lock file was removed or
   * replaced while held. Nothing was written.
   */
  LOCK_UNAVAILABLE: 'LOCK_UNAVAILABLE',
  /** The backend could not be opened or reached for a reason other than a lock or damage. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** A write did not complete; what was stored before is intact. */
  WRITE_FAILED: 'WRITE_FAILED',
  /** The disk is full (ENOSPC, EDQUOT); what was stored before is intact. */
  DISK_FULL: 'DISK_FULL',
  /** The operating system denied access (EACCES, EPERM, EROFS). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** A file declares a schemaVersion newer than this version understands. */
  UNSUPPORTED_SCHEMA_VERSION: 'UNSUPPORTED_SCHEMA_VERSION',
  /** A file or record names a chainId that disagrees with its place or with the registry. */
  CHAIN_MISMATCH: 'CHAIN_MISMATCH',
  /** The persisted migration state file is unreadable or inconsistent. */
  MIGRATION_STATE_INVALID: 'MIGRATION_STATE_INVALID',
  /** The command is not allowed in the current migration state. */
  TRANSITION_REFUSED: 'TRANSITION_REFUSED',
  /** A gate (clean verify, soak, acknowledged findings) is not satisfied. */
  GATE_FAILED: 'GATE_FAILED',
  /** Writes are refused right now (a rollback is running). */
  WRITES_REFUSED: 'WRITES_REFUSED',
  /** The two sides of a dual write disagree and could not be reconciled. */
  DIVERGED: 'DIVERGED',
  /** Records that cannot be migrated exist and are not excluded. */
  UNMIGRATABLE_RECORDS: 'UNMIGRATABLE_RECORDS',
  /** No usable backup exists for a restore. */
  BACKUP_NOT_FOUND: 'BACKUP_NOT_FOUND',
  /** Two stores or a store and its expectation differ (compare, verify). */
  STORES_DIFFER: 'STORES_DIFFER',
  /** A remote endpoint (RPC) could not be reached or answered wrongly. */
  ENDPOINT_UNAVAILABLE: 'ENDPOINT_UNAVAILABLE',
  /** A JSON object in a stored file names one key twice; rewriting it would drop a value. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** Something other than a regular file (a folder, a symbolic link, a socket) is where a state file belongs. */
  NOT_A_FILE: 'NOT_A_FILE',
  /**
   * A read could not tell whether the record exists (the store stayed busy past the wait): never
   * "absent". As a warning's code: a lost-write check that could not run, for a cause with no code.
   */
  PRESENCE_UNKNOWN: 'PRESENCE_UNKNOWN',
  /** A network file no longer holds a record the store wrote there: other code rewrote the file. */
  FOREIGN_OVERWRITE: 'FOREIGN_OVERWRITE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface StateErrorDetails {
  /** The file or folder involved, when there is one. */
  file?: string;
  /** The record key involved, when there is one. */
  key?: string;
  /** A position in a file, when known. */
  position?: { line: number; column: number; offset?: number };
  /** What the operator can do next. */
  hint?: string;
  /** Structured detail for machines (the findings a gate wants acknowledged, the keys that differ). */
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class StateError extends Error {
  override readonly name = 'StateError';
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly position: StateErrorDetails['position'];
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details: StateErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.key = details.key;
    this.position = details.position;
    this.hint = details.hint ?? osErrorHint(details.cause, details.file);
    this.data = details.data;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.file !== undefined && { file: this.file }),
      ...(this.key !== undefined && { key: this.key }),
      ...(this.position !== undefined && { position: this.position }),
      ...(this.hint !== undefined && { hint: this.hint }),
      ...(this.data !== undefined && { data: this.data }),
      ...(this.cause instanceof Error && { cause: { message: this.cause.message, code: (this.cause as { code?: unknown }).code } }),
    };
  }
}

export function isStateError(error: unknown, code?: ErrorCode): error is StateError {
  return error instanceof StateError && (code === undefined || error.code === code);
}

/** The errno code (`'ENOENT'`, `'EEXIST'`, ...) of an operating-system error; undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a process with this id exists on this host and can still act. Signal 0 only probes: EPERM
 * means the process exists but belongs to another user, so it counts as alive (its lock or temp file
 * is live). A zombie (Linux: killed or ended, its parent not yet told) counts as gone: it holds no
 * descriptor and will never finish a write, though signal 0 still finds it until it is reaped.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) !== 'EPERM') return false;
  }
  const state = processStateLetter(pid);
  return state !== 'Z' && state !== 'X';
}

/**
 * The fields of a /proc/<pid>/stat line from the third on (`[state, ppid, ...]`: field N is at
 * N - 3). The command name (field 2) is in parentheses and may hold spaces or parentheses: the
 * fields follow the last ')'.
 */
export function statFieldsAfterName(stat: string): string[] {
  const end = stat.lastIndexOf(')');
  return end === -1 ? [] : stat.slice(end + 2).split(' ');
}

/** Linux: /proc/<pid>/stat's fields from the third on (statFieldsAfterName); undefined elsewhere or when it cannot be read. */
export function procStatFields(pid: number): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return statFieldsAfterName(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Linux: the state letter of /proc/<pid>/stat (R, S, D, T, t, Z, X...); undefined elsewhere or when it cannot be read. */
export function processStateLetter(pid: number): string | undefined {
  return procStatFields(pid)?.[0] || undefined;
}

/**
 * How old a temp file or folder a dead process made must be before a sweep removes it: a pid can
 * look dead from here and be alive in another pid namespace sharing the folder (a container with
 * a bind mount), and no write or snapshot of ours stays unfinished this long.
 */
export const LEFTOVER_MIN_AGE_MS = 10 * 60 * 1000;

/** Whether a temp file or folder named for process `pid`, last changed at `mtimeMs`, was left by a process now gone. */
export function leftByDeadProcess(pid: number, mtimeMs: number, now: number = Date.now()): boolean {
  return pid !== process.pid && now - mtimeMs > LEFTOVER_MIN_AGE_MS && !isProcessAlive(pid);
}

/**
 * An operating-system error as a StateError naming the file (`<doing> <file>: <reason>`, the code
 * from fsErrorCode): errors of a write() to a descriptor name no path of their own. A StateError
 * passes as it is.
 */
export function fileSystemError(error: unknown, file: string, doing: string): StateError {
  if (error instanceof StateError) return error;
  const errno = errnoCode(error);
  const said = error instanceof Error ? error.message : String(error);
  const reason =
    errno === 'EFBIG'
      ? "the file would grow past this process's file-size limit (EFBIG, `ulimit -f`)"
      : errno === 'EROFS'
        ? `${READ_ONLY_REASON} (${said})`
        : errno === 'ENOSPC' && outOfInodes(file)
          ? `${NO_INODES_REASON} (${said})`
          : said;
  return new StateError(fsErrorCode(error), `${doing} ${file}: ${reason}`, { file, cause: error });
}

/** What EROFS means to the operator: not the file's owner or mode, the whole file system. */
export const READ_ONLY_REASON =
  'its file system is read-only (EROFS): mounted read-only, or turned read-only by the kernel after a disk error';

/** The hint of EROFS (the code stays PERMISSION_DENIED): owner and mode are not the cause. */
export const READ_ONLY_HINT =
  'the file system is read-only: remount it read-write (`mount -o remount,rw <mount point>`); if the kernel turned it read-only after an error (see `dmesg`), check the disk (fsck) first, then run again (nothing stored was lost)';

/** ENOSPC with space left: every inode of the file system is used. */
export const NO_INODES_REASON = 'no free inodes are left on its file system (ENOSPC with space free: too many files)';

/** The hint of ENOSPC for want of inodes (the code stays DISK_FULL): freeing bytes does not help, removing files does. */
export const NO_INODES_HINT =
  'the file system has space but no free inodes (`df -i` shows it): remove files you do not need there (many small ones), then run the command again (nothing stored was lost)';

/**
 * Whether the file system holding `path` (or its nearest existing folder) has no free inode left
 * while it keeps count of them and has space: synchronous and cheap, for where an ENOSPC error is built.
 */
export function outOfInodes(path: string): boolean {
  for (let at = path; ; at = dirname(at)) {
    try {
      const fs = statfsSync(at);
      return fs.files > 0 && fs.ffree === 0 && fs.bavail > 0;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || dirname(at) === at) return false;
    }
  }
}

/**
 * What to do about EFBIG (LevelDB says "File too large"): the process's file-size limit (`ulimit -f`,
 * a container's or service's fsize limit), rarely the file system's largest file. Freeing disk space
 * does not help, raising the limit does; the code stays WRITE_FAILED.
 */
export const FILE_SIZE_LIMIT_HINT =
  "the file would grow past this process's file-size limit (`ulimit -f`; a container's or service's fsize limit) or the largest file its file system holds: raise the limit (`ulimit -f unlimited` in the shell that runs it) and run again; what was stored is intact";

/**
 * The hint of an operating-system error whose code's own hint would mislead: every StateError caused
 * by one carries it unless it gives its own. EROFS (PERMISSION_DENIED) is no owner or mode to fix;
 * ENOSPC without free inodes (DISK_FULL) no space to free: `file` is where to look for that.
 */
function osErrorHint(cause: unknown, file: string | undefined): string | undefined {
  const errno = errnoCode(cause);
  if (errno === 'EFBIG') return FILE_SIZE_LIMIT_HINT;
  if (errno === 'EROFS') return READ_ONLY_HINT;
  if (errno === 'ENOSPC' && file !== undefined && outOfInodes(file)) return NO_INODES_HINT;
  return undefined;
}

/** Maps an operating-system error from a write to the code that tells the operator what to do. */
export function fsErrorCode(error: unknown): ErrorCode {
  const code = errnoCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') return ErrorCodes.DISK_FULL;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return ErrorCodes.PERMISSION_DENIED;
  if (code === 'ENOENT') return ErrorCodes.STORE_NOT_FOUND;
  // A folder where a file is read or written.
  if (code === 'EISDIR') return ErrorCodes.NOT_A_FILE;
  // EFBIG (a file-size limit) too: the disk has room, and the error's hint names the limit.
  return ErrorCodes.WRITE_FAILED;
}
