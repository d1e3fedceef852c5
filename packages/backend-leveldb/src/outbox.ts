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
/** When this process started writing entries: its keys carry it, and each entry its time since. */
const STARTED_MS = Date.now();
const ZEROS = '000000000000';
/** The part of this process's outbox keys that never changes: its start (base 36) and pid (base 36). */
const WRITER = `${OUTBOX_PREFIX}${STARTED_MS.toString(36).padStart(9, '0')}.${process.pid.toString(36).padStart(7, '0')}.`;

/**
 * A fresh outbox key: the writing process's start and pid, then its counter (12 decimal digits),
 * so keys from processes that take turns on one LevelDB never collide, and one process's keys sort
 * in the order it wrote them (the drainer does not rely on order: it applies each key's value as
 * LevelDB holds it when it drains). Only the counter is printed per put: printing a time costs a
 * cold process as much as the rest of the entry, so the entry's time goes in its value as the
 * milliseconds since the start, a small integer.
 */
export function newOutboxId(): { id: string; seq: number; ms: number } {
  const seq = ++counter;
  const count = String(seq);
  return { id: `${WRITER}${ZEROS.slice(count.length)}${count}`, seq, ms: Date.now() };
}

/**
 * The stored value: `<op>\t<phase>\t<ms since the writer started>\t<key>` (the key last, so it may
 * hold any character; the start, pid and counter are in the entry's key). `seq` and `ms` are the
 * ones newOutboxId() gave with the key; an entry whose pid or phase the key cannot stand for
 * (another pid, a phase with a tab) is stored in the JSON form earlier versions wrote, which reads
 * back the same.
 */
export function encodeOutboxEntry(entry: NewOutboxEntry, seq: number, ms: number): string {
  const phase = entry.phase ?? '';
  if (entry.pid === process.pid && !phase.includes('\t')) return `${entry.op}\t${phase}\t${ms - STARTED_MS}\t${entry.key}`;
  const json = entry.phase === undefined ? '' : `,"phase":${JSON.stringify(entry.phase)}`;
  return `{"seq":${seq},"key":${JSON.stringify(entry.key)},"op":"${entry.op}","pid":${entry.pid}${json},"ms":${ms}}`;
}

/** An entry read back; undefined for a value that is not one (never thrown: the drainer removes it). */
export function decodeOutboxEntry(id: string, raw: string): OutboxEntry | undefined {
  return raw.startsWith('{') ? decodeJsonEntry(id, raw) : decodeCompactEntry(id, raw);
}

function decodeCompactEntry(id: string, raw: string): OutboxEntry | undefined {
  const fields: string[] = [];
  let from = 0;
  for (let i = 0; i < 3; i++) {
    const tab = raw.indexOf('\t', from);
    if (tab < 0) return undefined;
    fields.push(raw.slice(from, tab));
    from = tab + 1;
  }
  const [op, phase, since] = fields as [string, string, string];
  const parts = id.slice(OUTBOX_PREFIX.length).split('.');
  if ((op !== 'put' && op !== 'delete') || parts.length !== 3 || !/^-?\d+$/.test(since)) return undefined;
  const started = parseInt(parts[0] as string, 36);
  const pid = parseInt(parts[1] as string, 36);
  const seq = Number(parts[2]);
  const ms = started + Number(since);
  if (![started, pid, seq, ms].every(Number.isSafeInteger)) return undefined;
  return { id, seq, key: raw.slice(from), op, time: new Date(ms).toISOString(), pid, ...(phase !== '' && { phase }) };
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
