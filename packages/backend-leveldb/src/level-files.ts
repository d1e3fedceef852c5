// What is in a LevelDB folder, checked with plain file reads BEFORE LevelDB opens it: opening
// recovers (rewrites) the log and, with createIfMissing, would wipe a store whose CURRENT is gone,
// so damage has to be found while the files are still untouched.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';

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

export async function inspectFolder(path: string): Promise<FolderState> {
  let entries: string[];
  try {
    const info = await stat(path);
    if (!info.isDirectory()) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a folder, so it cannot hold a LevelDB store`, { file: path });
    }
    entries = await readdir(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { kind: 'missing' };
    throw error instanceof StateError ? error : new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot read ${path}`, { file: path, cause: error });
  }
  if (entries.includes('CURRENT')) return { kind: 'store', entries };
  if (entries.some((name) => DATA_FILE.test(name))) return { kind: 'headless', entries };
  return { kind: 'empty', entries };
}

export function corrupted(path: string, detail: string, cause?: unknown): StateError {
  return new StateError(ErrorCodes.CORRUPTED, `LevelDB store ${path} is damaged: ${detail}; its files were left untouched`, {
    file: path,
    hint: `make a repaired copy with repairCopy(${JSON.stringify(path)}, <new folder>) and inspect it; never repair in place without a backup`,
    ...(cause !== undefined && { cause }),
  });
}

// ---- the write-ahead log -------------------------------------------------------------------
// Format (leveldb/doc/log_format.md): 32 KiB blocks of records, each `crc32c(4) length(2) type(1)`
// then the payload; a logical record is FULL or FIRST, MIDDLE..., LAST. LevelDB (without
// paranoid checks, which classic-level does not expose) silently drops records that fail these
// checks, so a damaged log is found here or never.

const BLOCK = 32 * 1024;
const HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum LevelDB's log uses. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function unmask(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

export type LogCheck =
  | { ok: true; size: number }
  /** The file ends inside a record: an interrupted append. `completeEnd` is the last whole record's end. */
  | { ok: false; kind: 'truncated'; size: number; completeEnd: number; detail: string }
  /** A record fails its checksum or is malformed: garbage, not an interrupted append. */
  | { ok: false; kind: 'damaged'; size: number; detail: string };

/** Checks a log (or MANIFEST) file; `onRecord` receives each whole logical record's payload. */
export function checkLog(bytes: Uint8Array, onRecord?: (payload: Uint8Array) => void): LogCheck {
  const size = bytes.length;
  let parts: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let completeEnd = 0;
  let inFragment = false;
  for (let blockStart = 0; blockStart < size; blockStart += BLOCK) {
    const blockEnd = Math.min(blockStart + BLOCK, size);
    let pos = blockStart;
    while (blockEnd - pos >= HEADER) {
      const crc = view.getUint32(pos, true);
      const length = view.getUint16(pos + 4, true);
      const type = bytes[pos + 6] as number;
      if (type === 0 && length === 0) {
        pos = blockEnd; // zero padding (the writer's block trailer)
        break;
      }
      const end = pos + HEADER + length;
      if (end > blockStart + BLOCK || type < FULL || type > LAST) return { ok: false, kind: 'damaged', size, detail: `malformed log record at byte ${pos}` };
      if (end > size) return { ok: false, kind: 'truncated', size, completeEnd, detail: `log ends inside a record at byte ${pos}` };
      if (unmask(crc) !== crc32c(bytes, pos + 6, end)) return { ok: false, kind: 'damaged', size, detail: `log record at byte ${pos} fails its checksum` };
      const sequenceOk = type === FULL || type === FIRST ? !inFragment : inFragment;
      if (!sequenceOk) return { ok: false, kind: 'damaged', size, detail: `log record at byte ${pos} is out of sequence` };
      inFragment = type === FIRST || type === MIDDLE;
      if (onRecord) {
        parts.push(bytes.subarray(pos + HEADER, end));
        if (!inFragment) {
          onRecord(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts));
          parts = [];
        }
      }
      if (!inFragment) completeEnd = end;
      pos = end;
    }
    if (pos < blockEnd && blockEnd === size && blockEnd < blockStart + BLOCK) {
      const tail = bytes.subarray(pos, blockEnd);
      if (tail.some((b) => b !== 0)) return { ok: false, kind: 'truncated', size, completeEnd, detail: `log ends inside a record header at byte ${pos}` };
    }
  }
  if (inFragment) return { ok: false, kind: 'truncated', size, completeEnd, detail: 'log ends inside a fragmented record' };
  return { ok: true, size };
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

/** Live table file number -> size, or null when the MANIFEST cannot be read. */
export async function liveTables(path: string): Promise<Map<number, number> | null> {
  try {
    const current = (await readFile(join(path, 'CURRENT'), 'utf8')).trim();
    if (!/^MANIFEST-\d+$/.test(current)) return null;
    const live = new Map<number, number>();
    const result = checkLog(await readFile(join(path, current)), (edit) => {
      const at = { pos: 0 };
      while (at.pos < edit.length) {
        const tag = readVarint(edit, at);
        if (tag === 1) skipSlice(edit, at);
        else if (tag === 2 || tag === 3 || tag === 4 || tag === 9) readVarint(edit, at);
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
    return result.ok || result.kind === 'truncated' ? live : null;
  } catch {
    return null;
  }
}

export interface DamageCheck {
  /**
   * Problems that a process holding the store and writing right now could also cause (a log
   * ending inside a record, a table still being written): damage only if they persist.
   */
  suspicious: string[];
}

/**
 * Throws CORRUPTED for a log record that fails its checksum (no writer produces that). Returns
 * problems that may be a live writer's work in progress; the caller looks again before deciding.
 */
export async function checkDataFiles(path: string, entries: readonly string[]): Promise<DamageCheck> {
  const suspicious: string[] = [];
  const live = await liveTables(path);
  const present = new Set<number>();
  for (const name of entries) {
    const file = join(path, name);
    try {
      const table = /^(\d+)\.(ldb|sst)$/.exec(name);
      if (table) {
        const number = Number(table[1]);
        present.add(number);
        if (live && !live.has(number)) continue;
        const { size } = await stat(file);
        if (live && live.get(number) !== size) suspicious.push(`table file ${name} is ${size} bytes, its MANIFEST says ${live.get(number)} (truncated?)`);
        else if (!(await tableIntact(file))) suspicious.push(`table file ${name} is truncated or not a table`);
      } else if (/^\d+\.log$/.test(name)) {
        const result = checkLog(await readFile(file));
        if (!result.ok && result.kind === 'damaged') throw corrupted(path, `${name}: ${result.detail}`);
        if (!result.ok) suspicious.push(`${name} (${result.size} bytes): ${result.detail}`);
      }
    } catch (error) {
      if (error instanceof StateError) throw error;
      // A file that vanished was compacted away by the process holding the store: not damage.
      if ((error as { code?: unknown }).code === 'ENOENT') continue;
      throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot read ${file}`, { file, cause: error });
    }
  }
  for (const number of live?.keys() ?? []) {
    if (!present.has(number)) suspicious.push(`table file ${String(number).padStart(6, '0')}.ldb named by the MANIFEST is missing`);
  }
  return { suspicious };
}
