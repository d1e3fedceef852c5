// The outbox: writes that LevelDB committed and that still have to reach a second store (the JSON
// files in dual-write). An entry is stored in the same batch as the record, under a reserved key
// space that no record key can take (`<chainId>-` starts with a digit) and that every reader skips.

/** Every outbox key starts with this; it sorts before every record key and no record key can start with it. */
export const OUTBOX_PREFIX = '\u0000outbox\u0000';
/** The first key after the outbox's key space. */
export const OUTBOX_END = '\u0000outbox\u0001';

/** One write LevelDB committed that the second store has not received yet. */
export interface OutboxEntry {
  /** Where the entry is stored (its outbox key); pass it back to remove the entry. */
  id: string;
  /** Order of the entry within the process that wrote it. */
  seq: number;
  /** The record key written. */
  key: string;
  op: 'put' | 'delete';
  // No digest of the value: nothing reads one from the entry. The drainer applies the value
  // LevelDB holds when it drains (a later write of the key wins) and journals that value's
  // canonical digest, off the put's path. Entries written with a digest still read back.
  /** When LevelDB committed it (ISO 8601). */
  time: string;
  pid: number;
  /** Anything else the writer wants back when the entry is drained (the migration phase, say). */
  phase?: string;
}

/** What a writer passes: the store assigns the id and seq. */
export type NewOutboxEntry = Omit<OutboxEntry, 'id' | 'seq' | 'time'>;

export function isOutboxKey(key: string): boolean {
  return key.startsWith(OUTBOX_PREFIX);
}

let counter = 0;
/** The pid part of this process's outbox keys, printed once. */
const PID_PART = `.${process.pid.toString().padStart(10, '0')}.`;
const ZEROS = '000000000000000';

/**
 * A fresh outbox key: time, pid and a per-process counter, so keys from processes that take turns
 * on one LevelDB never collide and sort roughly in commit order (the drainer does not rely on it:
 * it applies each key's value as LevelDB holds it when it drains).
 */
export function newOutboxId(): { id: string; seq: number; ms: number } {
  const seq = ++counter;
  const ms = Date.now();
  const time = String(ms);
  const count = String(seq);
  const id = `${OUTBOX_PREFIX}${ZEROS.slice(time.length)}${time}${PID_PART}${ZEROS.slice(count.length + 3)}${count}`;
  return { id, seq, ms };
}

/**
 * The stored form keeps the time in ms (an ISO string costs more than the rest of the entry to
 * print). Printed field by field: it is on every dual-write put's path, and only the key and the
 * phase are text that needs escaping. The writer's entry is read field by field, never spread
 * into a new object with `seq` and `ms` (a spread costs ten times the whole print here).
 */
export function encodeOutboxEntry(entry: NewOutboxEntry, seq: number, ms: number): string {
  const phase = entry.phase === undefined ? '' : `,"phase":${jsonString(entry.phase)}`;
  return `{"seq":${seq},"key":${jsonString(entry.key)},"op":"${entry.op}","pid":${entry.pid}${phase},"ms":${ms}}`;
}

/** Characters JSON.stringify escapes in a string (quote, backslash, controls, any surrogate to be safe). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON text: quoted as it is when nothing in it needs escaping, as a record key nearly never does. */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** An entry read back; undefined for a value that is not one (never thrown: the drainer removes it). */
export function decodeOutboxEntry(id: string, raw: string): OutboxEntry | undefined {
  try {
    const value = JSON.parse(raw) as Partial<OutboxEntry>;
    if (typeof value.key !== 'string' || (value.op !== 'put' && value.op !== 'delete')) return undefined;
    return {
      id,
      seq: typeof value.seq === 'number' ? value.seq : 0,
      key: value.key,
      op: value.op,
      time: new Date(typeof (value as { ms?: unknown }).ms === 'number' ? (value as { ms: number }).ms : 0).toISOString(),
      pid: typeof value.pid === 'number' ? value.pid : 0,
      ...(typeof value.phase === 'string' && { phase: value.phase }),
    };
  } catch {
    return undefined;
  }
}
