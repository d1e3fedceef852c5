// LevelDB's write-ahead log format (leveldb/doc/log_format.md), checked byte by byte: 32 KiB
// blocks of records, each `crc32c(4) length(2) type(1)` then the payload; a logical record is
// FULL or FIRST, MIDDLE..., LAST. LevelDB (without paranoid checks, which classic-level does not
// expose) silently drops records that fail these checks, so a damaged log is found here or never.
//
// The one picture that is NOT damage is a torn tail: the final record incomplete and everything
// before it valid. That is what a writer killed mid-append (SIGKILL, power loss) leaves; the
// record was never acknowledged, and LevelDB's recovery drops it without loss.

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

/** LevelDB's masked form of a CRC, as stored in a log record header. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export type LogCheck =
  /** Every record whole and valid. `completeEnd` is the end of the last whole record. */
  | { ok: true; size: number; completeEnd: number }
  /**
   * A torn tail: the file ends inside its final record (or in zero fill after the last whole
   * record) and everything before is valid. `completeEnd` is the last whole record's end.
   */
  | { ok: false; kind: 'torn'; size: number; completeEnd: number; detail: string }
  /** A record fails its checksum or is malformed, or data follows a gap: damage, not a crash. */
  | { ok: false; kind: 'damaged'; size: number; detail: string };

export interface CheckLogOptions {
  /**
   * The file offset of `bytes[0]`: a record boundary (a previous check's `completeEnd`), so a
   * log that only grew since is checked from there on.
   */
  offset?: number;
  /** Receives each whole logical record's payload. */
  onRecord?: (payload: Uint8Array) => void;
}

const allZero = (bytes: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
};

/** Checks a log (or MANIFEST) file's bytes, or the part of it from `options.offset` on. */
export function checkLog(bytes: Uint8Array, options: CheckLogOptions | ((payload: Uint8Array) => void) = {}): LogCheck {
  const { offset = 0, onRecord } = typeof options === 'function' ? { onRecord: options } : options;
  const size = offset + bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (absolute: number): number => absolute - offset;
  let parts: Uint8Array[] = [];
  let completeEnd = offset;
  let fragmentStart = -1;
  const damaged = (detail: string): LogCheck => ({ ok: false, kind: 'damaged', size, detail });
  const torn = (detail: string): LogCheck => ({ ok: false, kind: 'torn', size, completeEnd, detail });

  let pos = offset;
  while (pos < size) {
    const blockEnd = pos - (pos % BLOCK) + BLOCK;
    if (blockEnd - pos < HEADER) {
      // The writer pads a block's last few bytes with zeros; anything else there is not its work.
      if (!allZero(bytes, at(pos), at(Math.min(blockEnd, size)))) return damaged(`non-zero block trailer at byte ${pos}`);
      pos = blockEnd;
      continue;
    }
    if (size - pos < HEADER) {
      return torn(`log ends inside a record header at byte ${pos}`);
    }
    const crc = view.getUint32(at(pos), true);
    const length = view.getUint16(at(pos) + 4, true);
    const type = bytes[at(pos) + 6] as number;
    if (type === 0 && length === 0) {
      // The writer never writes an empty header: zeros here are space the file system allocated
      // but the data never reached (power loss). Harmless at the very end; before data, LevelDB
      // would silently skip the rest of the block.
      if (allZero(bytes, at(pos), bytes.length)) return torn(`log ends in zero fill from byte ${pos}`);
      return damaged(`zeroed record header at byte ${pos} with data after it`);
    }
    const end = pos + HEADER + length;
    if (end > blockEnd || type < FULL || type > LAST) return damaged(`malformed log record at byte ${pos}`);
    if (end > size) return torn(`log ends inside a record at byte ${pos}`);
    if (unmask(crc) !== crc32c(bytes, at(pos) + 6, at(end))) return damaged(`log record at byte ${pos} fails its checksum`);
    const inFragment = fragmentStart >= 0;
    if ((type === FULL || type === FIRST) === inFragment) return damaged(`log record at byte ${pos} is out of sequence`);
    if (type === FIRST) fragmentStart = pos;
    if (onRecord) parts.push(bytes.subarray(at(pos) + HEADER, at(end)));
    if (type === FULL || type === LAST) {
      fragmentStart = -1;
      completeEnd = end;
      if (onRecord) {
        onRecord(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts));
        parts = [];
      }
    }
    pos = end;
  }
  if (fragmentStart >= 0) return torn(`log ends inside a record spanning blocks, begun at byte ${fragmentStart}`);
  return { ok: true, size, completeEnd };
}
