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
const PID_PART = `.${process.pid.toString(36).padStart(7, '0')}.`;
const ZEROS = '000000000';

/**
 * A fresh outbox key: time, pid and a per-process counter, each in base 36 and fixed width (time
 * 9, pid 7, counter 8 digits), so keys from processes that take turns on one LevelDB never collide
 * and sort roughly in commit order (the drainer does not rely on it: it applies each key's value as
 * LevelDB holds it when it drains). The key carries the entry's time, pid and counter, so the value
 * holds only what the key cannot: short keys and values are most of what an entry costs a put.
 */
export function newOutboxId(): { id: string; seq: number; ms: number } {
  const seq = ++counter;
  const ms = Date.now();
  const time = ms.toString(36);
  const count = seq.toString(36);
  const id = `${OUTBOX_PREFIX}${ZEROS.slice(time.length)}${time}${PID_PART}${ZEROS.slice(count.length + 1)}${count}`;
  return { id, seq, ms };
}

/**
 * The stored value: `<op>\t<phase>\t<key>` (the key last, so it may hold any character; time, pid
 * and counter are in the entry's key). `seq` and `ms` are the ones newOutboxId() gave with the key;
 * an entry whose pid or phase the key cannot stand for (another pid, a phase with a tab) is stored
 * in the JSON form that earlier versions wrote, which reads back the same.
 */
export function encodeOutboxEntry(entry: NewOutboxEntry, seq: number, ms: number): string {
  const phase = entry.phase ?? '';
  if (entry.pid === process.pid && !phase.includes('\t')) return `${entry.op}\t${phase}\t${entry.key}`;
  const json = entry.phase === undefined ? '' : `,"phase":${JSON.stringify(entry.phase)}`;
  return `{"seq":${seq},"key":${JSON.stringify(entry.key)},"op":"${entry.op}","pid":${entry.pid}${json},"ms":${ms}}`;
}

/** An entry read back; undefined for a value that is not one (never thrown: the drainer removes it). */
export function decodeOutboxEntry(id: string, raw: string): OutboxEntry | undefined {
  return raw.startsWith('{') ? decodeJsonEntry(id, raw) : decodeCompactEntry(id, raw);
}

function decodeCompactEntry(id: string, raw: string): OutboxEntry | undefined {
  const opEnd = raw.indexOf('\t');
  const phaseEnd = opEnd < 0 ? -1 : raw.indexOf('\t', opEnd + 1);
  const op = raw.slice(0, opEnd);
  const parts = id.slice(OUTBOX_PREFIX.length).split('.');
  if (phaseEnd < 0 || (op !== 'put' && op !== 'delete') || parts.length !== 3) return undefined;
  const [ms, pid, seq] = parts.map((part) => parseInt(part, 36)) as [number, number, number];
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(pid) || !Number.isSafeInteger(seq)) return undefined;
  const phase = raw.slice(opEnd + 1, phaseEnd);
  return { id, seq, key: raw.slice(phaseEnd + 1), op, time: new Date(ms).toISOString(), pid, ...(phase !== '' && { phase }) };
}

/** The form earlier versions wrote (and this one for an entry its key cannot stand for). */
function decodeJsonEntry(id: string, raw: string): OutboxEntry | undefined {
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
