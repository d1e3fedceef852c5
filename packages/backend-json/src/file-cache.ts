// The JSON store's parsed files: a bounded LRU of one entry per chain, revalidated by a stat before
// each use, so another process's completed write is seen by the next read. An entry modified
// within a timestamp tick of when it was read is checked once more by its bytes (git's "racy" rule,
// stat-tick.ts: a tick of two seconds when the file system keeps whole seconds).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, errnoCode, fileSystemError, gitStepInProgress, isStateError, readBesideGit, type NetworkRegistry } from '@deploystate/core';
import { parseStateFile, type StateFileModel } from './file-format.js';
import type { StateFileLayout } from './record-splice.js';
import { isRacy, racyUntil } from './stat-tick.js';
import { kindOf, notAFile, openStateFile } from './state-path.js';

export interface FileSignature {
  mode: number;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface LoadedFile {
  /** Where the chain's file is (its registry name, or chain-<id>.json not yet moved). */
  file: string;
  /** Null when the chain has no file. */
  model: StateFileModel | null;
  /** The bytes read or written (compared directly, cheaper than hashing them), so a write that changes nothing is skipped. */
  bytes?: Buffer;
  signature?: FileSignature;
  readAt?: number;
  sortedNames?: string[];
  /** How this store printed these bytes, when it did: the next write splices into it (record-splice.ts). */
  layout?: StateFileLayout;
  /**
   * Loaded with a git command stopped part-way (core's gitStepInProgress: a rebase's conflict or
   * `break`): the file may hold an older version of a record than any commit.
   */
  besideGit?: boolean;
}

// Files up to this size are re-read synchronously (a few microseconds from the page cache, less
// than the thread-pool round trips of the async calls); larger ones asynchronously.
const SYNC_READ_LIMIT = 256 * 1024;
// A racy entry a put prints from at once is compared while its temp file syncs, where a
// synchronous read of up to this much holds up nothing that would not wait for the sync anyway.
const SHADOW_READ_LIMIT = 1024 * 1024;

export function sameSignature(a: FileSignature, b: FileSignature): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.dev === b.dev;
}

function toSignature(s: { mode: bigint; dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): FileSignature {
  return { mode: Number(s.mode & 0o777n), dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

/** A synchronous stat: a few microseconds, several times cheaper than the async round trip, and done on every read. */
export function signatureOf(path: string): FileSignature | null {
  try {
    // No exception for a missing file: a chain not yet written is a normal case, and a thrown error costs more than the stat.
    // lstat: a link or folder put where the file was never passes for the file (state-path.ts).
    const s = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return s ? toSignature(s) : null;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw fileSystemError(error, path, 'cannot read');
  }
}

/** Whether anything is at `path` (signatureOf's question without its bigints): a write asks it to pick its file. */
export function entryExists(path: string): boolean {
  return plainStatOf(path) !== undefined;
}

/**
 * A chain's existing file: under its registry name (`canonical`), else as `chain-<id>.json` not yet
 * moved (`fallback`); undefined when neither is there. The file its writes go to, and whose lock
 * they take, is this, else its registry name: one rule for the store and updateDeploymentFile, so
 * neither makes a second file for a chain.
 */
export function existingChainFile(canonical: string, fallback: string | undefined): string | undefined {
  if (entryExists(canonical)) return canonical;
  return fallback !== undefined && entryExists(fallback) ? fallback : undefined;
}

/** Where a chain stored before its name was registered lives until its next write (`chain-<id>.json`); undefined for a chain the registry does not know. */
export function unmovedChainFile(dir: string, registry: NetworkRegistry, chainId: number): string | undefined {
  return registry.isKnown(chainId) ? join(dir, `chain-${chainId}.json`) : undefined;
}

/**
 * A signature as a plain (not bigint) lstat reports it: numbers, and milliseconds computed as Node
 * computes them from seconds and nanoseconds, so an unchanged file compares equal. Building
 * bigints costs a read from memory more than the stat's own system call does.
 */
export interface PlainSignature {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const msOf = (ns: bigint): number => Number(ns / 1_000_000_000n) * 1000 + Number(ns % 1_000_000_000n) / 1e6;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A bigint stat's signature fields as a plain stat of the same file reports them; undefined where a
 * number would not hold one exactly (the caller then compares bigint stats). A plain stat's
 * milliseconds resolve a quarter of a microsecond, finer than the clock tick that stamps files.
 */
export function plainSignature(stats: Pick<FileSignature, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>): PlainSignature | undefined {
  if (stats.dev > SAFE || stats.ino > SAFE || stats.size > SAFE) return undefined;
  return { dev: Number(stats.dev), ino: Number(stats.ino), size: Number(stats.size), mtimeMs: msOf(stats.mtimeNs), ctimeMs: msOf(stats.ctimeNs) };
}

/** The signature as a plain stat reports it, and until when it cannot vouch for its file (stat-tick.ts). */
function plainOf(signature: FileSignature): PlainSignature & { racyUntil: number } {
  const { dev, ino, size, mtimeNs, ctimeNs } = signature;
  const plain = { dev: Number(dev), ino: Number(ino), size: Number(size), mtimeMs: msOf(mtimeNs), ctimeMs: msOf(ctimeNs) };
  return { ...plain, racyUntil: racyUntil(mtimeNs) };
}


/**
 * Whether the file at `path` is still the version `base` signs (inode, device, size, modification
 * time), told by one plain lstat, as cached() tells it; undefined where a double cannot hold one of
 * base's numbers exactly (the caller then takes a bigint stat). A write asks it on its way to the
 * rename, where a bigint stat's fields cost more than its system call.
 */
export function stillVersion(path: string, base: FileSignature): boolean | undefined {
  const was = plainSignature(base);
  if (was === undefined) return undefined;
  const now = plainStatOf(path);
  return now !== undefined && now.ino === was.ino && now.dev === was.dev && now.size === was.size && now.mtimeMs === was.mtimeMs;
}

/** Whether the inode at `path` (lstat) is `ino`: a plain stat where the number is exact, else a bigint one. */
export function inodeAt(path: string, ino: bigint): boolean {
  if (ino > SAFE) return lstatSync(path, { bigint: true, throwIfNoEntry: false })?.ino === ino;
  return lstatSync(path, { throwIfNoEntry: false })?.ino === Number(ino);
}

/** A plain lstat of the file; undefined when it is missing (the caller then takes the full path). */
function plainStatOf(path: string): PlainSignature | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(error, path, 'cannot read');
  }
}

/**
 * Signature and bytes from one open file, so the cache never pairs one version's stat with another's
 * bytes; null when absent. With `expected` (the bytes a racy entry holds), a file of that size is
 * read into `scratch` and compared there: `bytes` is then `expected` itself when they match, so
 * the check allocates nothing, and a copy of what was read when they do not.
 */
async function readSigned(
  file: string,
  sizeHint: bigint | undefined,
  expected?: Buffer,
  scratch?: { buffer: Buffer },
): Promise<{ signature: FileSignature; bytes: Buffer } | null> {
  if (sizeHint !== undefined && sizeHint <= BigInt(SYNC_READ_LIMIT)) {
    const read = readSmall(file, expected, scratch);
    if (read !== 'large') return read;
  }
  const handle = await openStateFile(file);
  if (!handle) return null;
  try {
    const s = await handle.stat({ bigint: true });
    return { signature: toSignature(s), bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}

/** readSigned's synchronous read, for a file expected to be small: 'large' when it has grown past `limit`. */
function readSmall(
  file: string,
  expected?: Buffer,
  scratch?: { buffer: Buffer },
  limit = SYNC_READ_LIMIT,
): { signature: FileSignature; bytes: Buffer } | null | 'large' {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO at the path opens at once (and is refused below) instead of waiting for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw notAFile(file, 'a symbolic link');
    throw fileSystemError(error, file, 'cannot read');
  }
  try {
    const s = fstatSync(fd, { bigint: true });
    const kind = kindOf(s);
    if (kind !== undefined) throw notAFile(file, kind);
    // Small enough for one synchronous read; a file that grew since the stat above falls back.
    if (s.size <= BigInt(limit)) {
      const size = Number(s.size);
      const comparing = expected !== undefined && scratch !== undefined && expected.length === size;
      if (comparing && scratch.buffer.length < size) scratch.buffer = Buffer.allocUnsafe(Math.max(size, 2 * scratch.buffer.length));
      const into = comparing ? scratch.buffer.subarray(0, size) : Buffer.allocUnsafe(size);
      let offset = 0;
      while (offset < size) {
        const n = readSync(fd, into, offset, size - offset, offset);
        if (n === 0) break;
        offset += n;
      }
      const read = into.subarray(0, offset);
      const bytes = comparing ? (expected.equals(read) ? expected : Buffer.from(read)) : read;
      return { signature: toSignature(s), bytes };
    }
  } finally {
    closeSync(fd);
  }
  return 'large';
}

export interface FileCacheOptions {
  enabled: boolean;
  /** How many files are held (least recently used go first). */
  files: number;
  /** The chain's file under its registry name. */
  canonicalFile(chainId: number): string;
  /** Where a chain stored before it was registered lives until its next write. */
  fallbackFile(chainId: number): string | undefined;
  /** JsonFileStoreOptions.chainRenamed: true when the chain's name changed, so its file is looked for again. */
  renamed?(chainId: number): boolean;
}

export class FileCache {
  private readonly entries = new Map<number, LoadedFile>();
  /** Each kept signature as a plain stat reports it, for cached()'s check. */
  private readonly plain = new WeakMap<FileSignature, PlainSignature & { racyUntil: number }>();
  /** Where a racy entry's file is read to be compared with its bytes (grown as needed, never beyond SHADOW_READ_LIMIT). */
  private readonly scratch = { buffer: Buffer.alloc(0) };

  constructor(private readonly options: FileCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  delete(chainId: number): void {
    this.entries.delete(chainId);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * The chain's cached file when one stat shows its registry-named file unchanged and not racy;
   * undefined when load() must look further. Synchronous, so a read served from memory costs no
   * promise of its own.
   */
  cached(chainId: number): LoadedFile | undefined {
    const hit = this.entries.get(chainId);
    if (hit?.signature === undefined || hit.readAt === undefined) return undefined;
    const file = this.options.canonicalFile(chainId);
    if (hit.file !== file) return undefined;
    const now = plainStatOf(file);
    if (now === undefined) return undefined;
    let seen = this.plain.get(hit.signature);
    if (seen === undefined) this.plain.set(hit.signature, (seen = plainOf(hit.signature)));
    // As sameSignature, on numbers: a value a double cannot hold exactly is left to load()'s bigint
    // stat. A plain stat's milliseconds resolve a quarter of a microsecond, finer than the clock tick
    // that stamps files, and a write after the entry was read is stamped a tick past the time it
    // holds (below, stat-tick.ts), so no change can compare equal.
    if (now.ino > Number.MAX_SAFE_INTEGER || now.dev > Number.MAX_SAFE_INTEGER || now.size > Number.MAX_SAFE_INTEGER) return undefined;
    if (
      now.ino !== seen.ino ||
      now.dev !== seen.dev ||
      now.size !== seen.size ||
      now.mtimeMs !== seen.mtimeMs ||
      now.ctimeMs !== seen.ctimeMs
    )
      return undefined;
    if (hit.readAt <= seen.racyUntil) return undefined;
    this.touch(chainId, hit);
    return hit;
  }

  /**
   * Whether the chain's entry (with no chain: any entry) was loaded beside git (LoadedFile.besideGit)
   * and the git command stands stopped still: a mark whose command has ended is dropped (stats only
   * while one is set).
   */
  loadedBesideGit(chainId?: number): boolean {
    const stillStopped = (entry: LoadedFile | undefined): boolean => {
      if (entry?.besideGit !== true) return false;
      if (gitStepInProgress(dirname(entry.file)) !== undefined) return true;
      entry.besideGit = false;
      return false;
    };
    if (chainId !== undefined) return stillStopped(this.entries.get(chainId));
    let any = false;
    for (const entry of this.entries.values()) any = stillStopped(entry) || any;
    return any;
  }

  /** The chain's entry as it is held, with no stat: the file as this cache last read or wrote it. */
  held(chainId: number): LoadedFile | undefined {
    return this.entries.get(chainId);
  }

  /**
   * The entry load() would compare with the file's bytes before trusting it (racy, stat-tick.ts),
   * when it is small enough to be compared synchronously: a writer may print from it at once and
   * call holdsBytes() while its temp file syncs, instead of waiting for the read (write-queue.ts).
   */
  racyEntry(chainId: number): LoadedFile | undefined {
    const hit = this.entries.get(chainId);
    if (hit?.bytes === undefined || hit.signature === undefined || hit.readAt === undefined) return undefined;
    if (hit.signature.size > BigInt(SHADOW_READ_LIMIT) || hit.file !== this.options.canonicalFile(chainId)) return undefined;
    return isRacy(hit.readAt, hit.signature.mtimeNs) ? hit : undefined;
  }

  /**
   * Reads the entry's file now and compares it with the entry's bytes, as load() does for a racy
   * entry: true when they are the same (the entry stands, signed by this read); false when the
   * file changed, is gone or has grown past a synchronous read (the entry is dropped, so the next
   * load() reads the file afresh).
   */
  holdsBytes(chainId: number, entry: LoadedFile): boolean {
    const readAt = Date.now();
    let read: ReturnType<typeof readSmall> = null;
    try {
      read = entry.bytes === undefined ? null : readSmall(entry.file, entry.bytes, this.scratch, SHADOW_READ_LIMIT);
    } catch {
      // Whatever the file is now, load() says it with the right error.
    }
    if (read !== null && read !== 'large' && read.bytes === entry.bytes) {
      entry.signature = read.signature;
      entry.readAt = readAt;
      return true;
    }
    if (this.entries.get(chainId) === entry) this.entries.delete(chainId);
    return false;
  }

  /**
   * The chain's file, parsed; from the cache when its stat is unchanged and not racy. A file
   * missing, or that does not parse, while a git command rewrites the work tree (checkout, reset,
   * stash, merge) is one git is between unlinking and writing: read again once git is done.
   * Before, a deploy script reading during a teammate's pull got null for a deployed contract
   * (and deployed it again) or a CORRUPTED "empty text".
   */
  load(chainId: number): Promise<LoadedFile> {
    const canonical = this.options.canonicalFile(chainId);
    const folder = dirname(canonical);
    // Missing, and still missing with git not at work: the chain has no file (the common case, one stat more).
    return readBesideGit(folder, () => this.loadOnce(chainId), {
      missing: (loaded) => loaded.model === null,
      unfinished: (error) => isStateError(error, ErrorCodes.CORRUPTED),
      exists: () => entryExists(canonical),
    }).then((loaded) => {
      loaded.besideGit = gitStepInProgress(folder) !== undefined;
      return loaded;
    });
  }

  private async loadOnce(chainId: number): Promise<LoadedFile> {
    const canonical = this.options.canonicalFile(chainId);
    const hit = this.entries.get(chainId);
    // An entry racy by its own stat (a put right after another) is compared by its bytes whatever
    // a stat would show now, and the read's own fstat signs them: no stat before it.
    if (hit?.file === canonical && hit.bytes !== undefined && hit.signature !== undefined && hit.readAt !== undefined) {
      if (isRacy(hit.readAt, hit.signature.mtimeNs)) return this.readFresh(chainId, canonical, hit.signature.size, hit);
    }
    return this.loadByStat(chainId, canonical);
  }

  private async loadByStat(chainId: number, canonical: string, followed = false): Promise<LoadedFile> {
    let file = canonical;
    let signature = signatureOf(canonical);
    const fallback = signature ? undefined : this.options.fallbackFile(chainId);
    if (fallback) {
      signature = signatureOf(fallback);
      file = fallback;
    }
    if (!signature) {
      this.entries.delete(chainId);
      // Renamed meanwhile (rename-network): looked for under the new name, never read as empty.
      if (!followed && this.options.renamed?.(chainId)) return this.loadByStat(chainId, this.options.canonicalFile(chainId), true);
      return { file: canonical, model: null };
    }
    const hit = this.entries.get(chainId);
    const same = hit !== undefined && hit.file === file && hit.signature !== undefined && sameSignature(hit.signature, signature);
    if (same && hit.readAt !== undefined && !isRacy(hit.readAt, signature.mtimeNs)) {
      this.touch(chainId, hit);
      return hit;
    }
    // Unchanged by stat but racy (modified within a timestamp tick of when it was read or written,
    // so another writer's same-size change in place could hide behind the same stat): the bytes
    // decide, and only a change costs a parse. This holds for the store's own writes too.
    return this.readFresh(chainId, file, signature.size, same ? hit : undefined);
  }

  private async readFresh(chainId: number, file: string, sizeHint: bigint, racy?: LoadedFile): Promise<LoadedFile> {
    const readAt = Date.now();
    const read = await readSigned(file, sizeHint, racy?.bytes, this.scratch);
    if (!read) return this.loadByStat(chainId, this.options.canonicalFile(chainId));
    const { signature, bytes } = read;
    // The same bytes (under whatever stat they have now): the entry stands, with the read's signature.
    if (racy?.bytes !== undefined && (bytes === racy.bytes || racy.bytes.equals(bytes))) {
      racy.signature = signature;
      racy.readAt = readAt;
      this.remember(chainId, racy);
      return racy;
    }
    const model = parseStateFile(bytes.toString('utf8'), file, chainId);
    const loaded: LoadedFile = { file, model, bytes, signature, readAt };
    this.remember(chainId, loaded);
    return loaded;
  }

  /** Marks an entry most recently used. */
  private touch(chainId: number, hit: LoadedFile): void {
    this.entries.delete(chainId);
    this.entries.set(chainId, hit);
  }

  remember(chainId: number, loaded: LoadedFile): void {
    if (!this.options.enabled) return;
    this.entries.delete(chainId);
    this.entries.set(chainId, loaded);
    while (this.entries.size > this.options.files) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
  }
}
