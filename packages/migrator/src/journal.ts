// The write journal (journal.ndjson): one JSON line per entry, each append ONE write() on an
// O_APPEND descriptor kept open, so appends from any number of processes never interleave (Linux
// local file systems) and the file's line order is the total order. Sequence numbers are that
// order, derived when reading; nothing is locked. Reading streams the file, never loading it whole.
// An append is a synchronous write() (microseconds into the page cache); making lines durable is
// a separate fdatasync that concurrent callers share (see sync and flushed).
import { closeSync, createReadStream, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, write, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import {
  ErrorCodes,
  errnoCode,
  fileSystemError,
  IdleRelease,
  isProcessAliveSince,
  StateError,
  stringifyLossless,
  type DeploymentRecord,
} from '@deploystate/core';
import { parseLine } from './journal-line.js';
import type { MigrationPhase } from './types.js';

export type WriteOutcome = 'ok' | 'primary-failed' | 'secondary-failed' | 'compensated' | 'diverged';

interface EntryBase {
  /** The entry's place in the journal (1-based, in file order), assigned when reading. */
  seq: number;
  /** Unique per entry (writer + counter); an intent's id is its outcome's `refId`. */
  id?: string;
  time: string;
  pid: number;
  phase: MigrationPhase;
  /** A reachability probe of verifyDualWrite: not a user write, never carried back. */
  probe?: boolean;
}

export interface IntentEntry extends EntryBase {
  type: 'intent';
  key: string;
  op: 'put' | 'delete';
  /** canonicalDigest of the record written; null for a delete. */
  digest: string | null;
  record?: DeploymentRecord;
}

export interface OutcomeEntry extends EntryBase {
  type: 'outcome';
  /** The seq of the intent this closes (0 when that intent lies before the part read). */
  ref: number;
  /** The id of the intent this closes (journals written before ids existed have only `ref`). */
  refId?: string;
  key: string;
  op: 'put' | 'delete';
  outcome: WriteOutcome;
  durationMs: number;
  error?: { code?: string; message: string };
}

export interface ShadowMismatchEntry extends EntryBase {
  type: 'shadow-mismatch';
  key: string;
  leveldbDigest: string | null;
  jsonDigest: string | null;
}

/** The event `dual-write enable` journals: a new migration starts there (the writes of an earlier one are behind it). */
export const DUAL_WRITE_ENABLED = 'dual-write-enabled';

/**
 * The event a finished carry-back into LevelDB journals (this clone's rollback, or its carry-back of
 * what a teammate's left behind): every JSON-side write up to `throughSeq` is in LevelDB or was
 * decided on, so a later carry-back starts after it and never undoes a leveldb-only delete since.
 */
export const CARRIED_BACK = 'carried-back';

export interface EventEntry extends EntryBase {
  type: 'event';
  event: string;
  detail?: string;
  /** CARRIED_BACK: the last seq the carry-back covered. */
  throughSeq?: number;
}

export type JournalEntry = IntentEntry | OutcomeEntry | ShadowMismatchEntry | EventEntry;
type Unsequenced<E> = E extends OutcomeEntry ? Omit<E, 'seq' | 'ref'> & { ref?: number } : Omit<E, 'seq'>;
export type NewJournalEntry = JournalEntry extends infer E ? (E extends JournalEntry ? Unsequenced<E> : never) : never;

export interface JournalRead {
  entries: JournalEntry[];
  /** Lines that are not complete JSON (a crash mid-append). */
  torn: number;
  lastSeq: number;
}

export interface AppendOptions {
  /**
   * fdatasync before returning. Default true; the factory passes false where no rollback depends on
   * the line, or where it asks for the sync itself (`sync()`) to run it beside the JSON write's.
   */
  durable?: boolean;
}

/** A checkpoint (seq -> byte offset) every this many entries lets a read start near `sinceSeq`. */
const CHECKPOINT_EVERY = 512;
const NEWLINE = 0x0a;
const SPACE = 0x20;
/** How far back from the journal's end withdraw() looks for the lines it withdraws (appended moments before). */
const WITHDRAW_WINDOW = 4 * 1024 * 1024;
/** Appends up to this size are one synchronous write(); larger ones go to the thread pool. */
const SYNC_WRITE_LIMIT = 256 * 1024;

const fdatasyncAsync = promisify(fdatasync);
const writeAsync = promisify(write);

/** One fdatasync, and the appends (counted in this process) it covers. */
interface JournalSync {
  upTo: number;
  done: Promise<void>;
}

interface ScanPoint {
  /** A line boundary in bytes. */
  offset: number;
  /** Entries before it. */
  seq: number;
}

interface ScannedLine {
  entry: JournalEntry | null;
  torn: boolean;
  /** Where the line starts, and the point after it. */
  start: number;
  end: ScanPoint;
}

export class Journal {
  private fd: number | undefined;
  /** The first append of this process starts on a new line if the file ends with a torn one. */
  private fenced = false;
  /** Appends made by this process; those up to `synced` are on disk, those up to `required` were asked to be. */
  private appended = 0;
  private synced = 0;
  private required = 0;
  /** The latest sync started; it covers every append before it. */
  /** The syncs running, in the order they started; the last that failed. */
  private readonly syncs: JournalSync[] = [];
  private failedSync: JournalSync | undefined;
  private readonly syncsRunning = new Set<Promise<void>>();
  private readonly writer = `${process.pid.toString(36)}.${randomBytes(4).toString('hex')}`;
  private counter = 0;
  /** How far this process has counted, so lastSeq reads only what was appended since. */
  private counted: ScanPoint = { offset: 0, seq: 0 };
  private checkpoints: ScanPoint[] = [{ offset: 0, seq: 0 }];
  private counting: Promise<unknown> = Promise.resolve();
  /** Intents counted whose outcome has not been counted yet (id -> seq), so a later outcome finds its ref. */
  private readonly openIds = new Map<string, number>();
  /** Entries this process appended whose seq a caller is waiting for, by id. */
  private readonly waiting = new Map<string, (entry: JournalEntry) => void>();
  /** Large appends in flight on the descriptor (appendLarge): never closed under one. */
  private readonly largeAppends = new Set<Promise<void>>();
  /** A store created per call and never closed keeps no journal open once it goes unused. */
  private readonly idle = new IdleRelease(() => this.releaseIdle());

  /** `lockFile` is no longer used (appends need no lock); kept so existing callers still compile. */
  constructor(
    readonly file: string,
    _lockFile?: string,
  ) {}

  /** The append descriptor (O_APPEND, readable for the torn-line check), opened once and kept. */
  private descriptor(): number {
    this.idle.touch();
    if (this.fd !== undefined) return this.fd;
    try {
      try {
        this.fd = openSync(this.file, 'a+');
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
        mkdirSync(dirname(this.file), { recursive: true });
        this.fd = openSync(this.file, 'a+');
      }
      return this.fd;
    } catch (error) {
      throw fileSystemError(error, this.file, 'cannot open');
    }
  }

  /** Whether the file ends in the middle of a line (a crash mid-append). */
  private endsTorn(fd: number): boolean {
    const { size } = fstatSync(fd);
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== NEWLINE;
  }

  /** A new entry id (writer + counter); a caller that prints a line itself (appendPrinted) takes one here. */
  nextId(): string {
    return `${this.writer}.${(++this.counter).toString(36)}`;
  }

  /** Writes whole lines in one write(); every entry gets an id (an intent's is its outcome's refId). */
  private async write(entries: readonly NewJournalEntry[], options: AppendOptions): Promise<string[]> {
    const ids: string[] = [];
    const lines = entries.map((entry) => {
      const { type, ...rest } = entry as NewJournalEntry & { seq?: number; id?: string };
      delete rest.seq;
      const id = rest.id ?? this.nextId();
      ids.push(id);
      return stringifyLossless({ type, ...rest, id });
    });
    await this.appendText(`${lines.join('\n')}\n`);
    if (options.durable ?? true) await this.sync();
    return ids;
  }

  /**
   * Appends one entry the caller printed (as write() prints it: `type` first, its id from nextId(),
   * no newline), not durable until a sync(): the factory's hot path. Done before it returns
   * (undefined) unless the line is large enough to go to the thread pool.
   */
  appendPrinted(line: string): Promise<void> | undefined {
    return this.appendText(`${line}\n`);
  }

  /** Whole lines in one write(): synchronous (undefined) up to SYNC_WRITE_LIMIT, else a promise. */
  private appendText(text: string): Promise<void> | undefined {
    const fd = this.descriptor();
    try {
      if (!this.fenced) {
        // A torn last line must stay a line of its own, or this entry would be glued to it.
        if (this.endsTorn(fd)) text = `\n${text}`;
        this.fenced = true;
      }
      const buffer = Buffer.from(text, 'utf8');
      if (buffer.length > SYNC_WRITE_LIMIT) return this.appendLarge(fd, buffer);
      let written = 0;
      try {
        // A regular file takes the whole buffer in one write(); a short write (disk full) is finished, not dropped.
        while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written, null);
      } catch (error) {
        throw this.appendFailed(error, fd, buffer, written);
      }
      this.appended++;
      return undefined;
    } catch (error) {
      throw error instanceof StateError ? error : this.appendFailed(error);
    }
  }

  private appendLarge(fd: number, buffer: Buffer): Promise<void> {
    const appending = (async () => {
      let written = 0;
      try {
        while (written < buffer.length) written += (await writeAsync(fd, buffer, written, buffer.length - written, null)).bytesWritten;
      } catch (error) {
        throw this.appendFailed(error, fd, buffer, written);
      }
      this.appended++;
    })();
    this.largeAppends.add(appending);
    void appending.catch(() => undefined).finally(() => this.largeAppends.delete(appending));
    return appending;
  }

  /**
   * The error of an append that failed, once the part of it that did reach the file (`written`
   * bytes of `buffer`: a disk that filled, a file-size limit, mid-append) is undone (undoPartialAppend).
   */
  private appendFailed(error: unknown, fd?: number, buffer?: Buffer, written = 0): StateError {
    if (fd !== undefined && buffer !== undefined && written > 0) undoPartialAppend(this.file, fd, buffer.subarray(0, written));
    // The next append starts on a line of its own, whatever this one left at the end of the file.
    this.fenced = false;
    return fileSystemError(error, this.file, 'cannot append to');
  }

  /**
   * Makes every line this process appended so far durable (one fdatasync, shared by the callers
   * whose lines it covers). Those lines are then required: `flushed()` waits for them.
   */
  sync(): Promise<void> {
    this.required = Math.max(this.required, this.appended);
    return this.syncTo(this.required);
  }

  /**
   * Asks for every line this process appended so far to be made durable, without starting the
   * sync: the next `flushed()` or `startFlush()` starts it. The factory's put asks so for its
   * intent line, and its JSON store starts the sync beside the temp file's own. Returns how many
   * lines are asked for: `flushed(that)` waits for those alone.
   */
  require(): number {
    this.required = Math.max(this.required, this.appended);
    return this.appended;
  }

  /**
   * Starts the sync of the lines asked for, if any is not on disk yet; a failure is the next
   * `flushed()`'s to report. Returns how many lines that is, for `flushed(that)`.
   */
  startFlush(): number {
    const upTo = this.required;
    this.syncTo(upTo).catch(() => undefined);
    return upTo;
  }

  /**
   * Resolves once every line a `sync()` or `require()` asked for is on disk (waiting for the syncs in flight);
   * rejects when that cannot be done, and again while no line was appended since a sync that failed. Starts no sync
   * for lines nobody asked to be durable. The JSON store calls it right before it replaces a file,
   * so a write's journal intent is on disk before the write can be. `upTo` (from `require()`): only
   * the lines appended by then, so a put is not failed by a later put's sync.
   */
  flushed(upTo = this.required): Promise<void> {
    return this.syncTo(upTo);
  }

  private syncTo(upTo: number): Promise<void> {
    if (this.synced >= upTo) return Promise.resolve();
    // The earliest sync running that covers these lines: one started later may fail on another
    // put's lines, and is not this caller's to wait for.
    for (const running of this.syncs) if (running.upTo >= upTo) return running.done;
    // A failed sync stays the answer for the lines it covered: a sync started again would report
    // nothing (Linux tells a writeback error once) and need not write what the failed one lost, so
    // a put whose intent it covered never takes that one for its own. Lines appended since start one afresh.
    if (this.failedSync && this.failedSync.upTo >= upTo) return this.failedSync.done;
    const covers = this.appended;
    const done = this.datasync().then(() => {
      this.synced = Math.max(this.synced, covers);
    });
    const entry: JournalSync = { upTo: covers, done };
    this.syncs.push(entry);
    this.syncsRunning.add(done);
    void done
      .then(
        () => undefined,
        () => {
          this.failedSync = entry;
        },
      )
      .finally(() => {
        this.syncs.splice(this.syncs.indexOf(entry), 1);
        this.syncsRunning.delete(done);
      });
    return done;
  }

  private async datasync(): Promise<void> {
    // Closed meanwhile: any descriptor of the file syncs the same data.
    const own = this.fd === undefined;
    let fd: number | undefined;
    try {
      fd = own ? openSync(this.file, 'r') : (this.fd as number);
      await fdatasyncAsync(fd);
    } catch (error) {
      throw fileSystemError(error, this.file, 'cannot sync');
    } finally {
      if (own && fd !== undefined) closeSync(fd);
    }
  }

  /**
   * Appends without learning the entries' sequence numbers: the factory's fast path. Returns each
   * entry's id (an outcome names its intent by `refId`).
   */
  record(entries: readonly NewJournalEntry[], options: AppendOptions = {}): Promise<string[]> {
    return this.write(entries, options);
  }

  /** Appends entries and returns them with their seq (their place in the file, found by id). */
  async append(entries: readonly NewJournalEntry[], options: AppendOptions = {}): Promise<JournalEntry[]> {
    const withIds = entries.map((e) => ({ ...e, id: (e as { id?: string }).id ?? this.nextId() }));
    const found = new Map<string, JournalEntry>();
    for (const e of withIds) this.waiting.set(e.id, (entry) => found.set(e.id, entry));
    try {
      await this.write(withIds as NewJournalEntry[], options);
      // This count (queued after any running one) reaches past these lines, so each is found.
      await this.countNew();
      return withIds.map((e) => {
        const entry = found.get(e.id);
        if (!entry)
          throw new StateError(ErrorCodes.WRITE_FAILED, `${this.file}: an appended entry was not found again (was the journal replaced?)`, {
            file: this.file,
          });
        return entry;
      });
    } finally {
      for (const e of withIds) this.waiting.delete(e.id);
    }
  }

  async appendOne(entry: NewJournalEntry, options: AppendOptions = {}): Promise<JournalEntry> {
    const [written] = await this.append([entry], options);
    return written as JournalEntry;
  }

  /** The last sequence number (0 for an empty or missing journal); reads only what was appended since the last call. */
  async lastSeq(): Promise<number> {
    return (await this.countNew()).seq;
  }

  /** Counts the lines appended since the last count, one count at a time. */
  private countNew(): Promise<ScanPoint> {
    const run = this.counting.then(async () => {
      const size = await stat(this.file).then(
        (s) => s.size,
        () => 0,
      );
      // A journal that shrank was replaced: count it again from the start.
      if (size < this.counted.offset) {
        this.counted = { offset: 0, seq: 0 };
        this.checkpoints = [{ offset: 0, seq: 0 }];
        this.openIds.clear();
      }
      if (size === this.counted.offset) return this.counted;
      for await (const line of this.lines(this.counted, this.openIds)) {
        const entry = line.entry;
        if (entry) {
          const last = this.checkpoints[this.checkpoints.length - 1] as ScanPoint;
          if (entry.seq - last.seq > CHECKPOINT_EVERY) this.checkpoints.push({ offset: line.start, seq: entry.seq - 1 });
          if (entry.id !== undefined) this.waiting.get(entry.id)?.(entry);
        }
        this.counted = line.end;
      }
      return this.counted;
    });
    this.counting = run.catch(() => undefined);
    return run;
  }

  /**
   * Streams the complete lines from `from`, giving each entry its seq and each outcome the seq of
   * its intent. A last line without its newline is reported torn but not consumed (`end` stays
   * before it): it may still be being written.
   */
  private async *lines(from: ScanPoint, intents = new Map<string, number>()): AsyncGenerator<ScannedLine> {
    let offset = from.offset;
    let seq = from.seq;
    const stream = createReadStream(this.file, { start: from.offset, highWaterMark: 256 * 1024 });
    try {
      let carry: Buffer | undefined;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
          const { entry, torn } = parseLine(data.toString('utf8', start, nl));
          const lineStart = offset;
          offset += nl + 1 - start;
          start = nl + 1;
          if (entry) {
            entry.seq = ++seq;
            if (entry.type === 'intent' && entry.id !== undefined) intents.set(entry.id, seq);
            if (entry.type === 'outcome' && entry.refId !== undefined) {
              entry.ref = intents.get(entry.refId) ?? 0;
              intents.delete(entry.refId);
            }
          }
          yield { entry, torn, start: lineStart, end: { offset, seq } };
        }
        carry = start < data.length ? data.subarray(start) : undefined;
      }
      // A last line without its newline: torn by a crash, or still being written. Reported, not consumed.
      if (carry && carry.toString('utf8').trim() !== '') yield { entry: null, torn: true, start: offset, end: { offset, seq } };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fileSystemError(error, this.file, 'cannot read');
    } finally {
      stream.destroy();
    }
  }

  /**
   * Every readable entry after `sinceSeq`, in file order, streamed (memory stays at one chunk).
   * Torn lines are skipped; `onEnd` gets their count and the last seq.
   */
  async *entries(
    options: { sinceSeq?: number; onEnd?: (end: { torn: number; lastSeq: number }) => void } = {},
  ): AsyncGenerator<JournalEntry> {
    const sinceSeq = options.sinceSeq ?? 0;
    await this.countNew();
    // Start at the last checkpoint at or before sinceSeq: an outcome of an intent before it gets ref 0.
    let from: ScanPoint = { offset: 0, seq: 0 };
    for (const point of this.checkpoints) if (point.seq <= sinceSeq) from = point;
    let torn = 0;
    let lastSeq = from.seq;
    for await (const line of this.lines(from)) {
      if (line.torn) torn++;
      lastSeq = line.end.seq;
      if (line.entry && line.entry.seq > sinceSeq) yield line.entry;
    }
    options.onEnd?.({ torn, lastSeq });
  }

  /** Every readable entry (optionally only those after `sinceSeq`), skipping torn lines. Holds them all: prefer `entries()`. */
  async read(options: { sinceSeq?: number } = {}): Promise<JournalRead> {
    const entries: JournalEntry[] = [];
    let end = { torn: 0, lastSeq: 0 };
    for await (const entry of this.entries({ ...options, onEnd: (e) => (end = e) })) entries.push(entry);
    return { entries, torn: end.torn, lastSeq: end.lastSeq };
  }

  /**
   * Withdraws whole lines this process appended (`text` as given to appendPrinted): each becomes an
   * `append-undone` event of the same length, in place (no new space; see undoPartialAppend). For the
   * intents of a write that changed nothing and whose failure the journal could not take (the disk
   * full): left open, they read as a write cut off. false, nothing changed, when they are not found
   * whole at a line's start within the file's last WITHDRAW_WINDOW bytes, or cannot be overwritten.
   */
  withdraw(text: string): boolean {
    const lines = Buffer.from(`${text}\n`, 'utf8');
    let fd: number | undefined;
    try {
      // One descriptor finds the lines and overwrites them: the file they were found in, even if it is replaced meanwhile.
      fd = openSync(this.file, 'r+');
      const size = fstatSync(fd).size;
      // One byte before the window too: the line start's newline.
      const from = Math.max(0, size - lines.length - WITHDRAW_WINDOW - 1);
      const tail = Buffer.alloc(size - from);
      readSync(fd, tail, 0, tail.length, from);
      // Each line holds its own id: the text is found once, or not at all.
      const at = tail.lastIndexOf(lines);
      if (at === -1) return false;
      // At a line's start, or after the spaces an append cut off and undone left there (undoneText),
      // which the next process's line follows on the same line.
      let start = at;
      while (start > 0 && tail[start - 1] === SPACE) start--;
      if (from + start > 0 && (start === 0 || tail[start - 1] !== NEWLINE)) return false;
      return overwriteAsUndone(fd, from + at, lines);
    } catch {
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Releases the append descriptor (reopened by the next append), once the syncs in flight on it are done. */
  async close(): Promise<void> {
    while (this.syncsRunning.size > 0 || this.largeAppends.size > 0) await Promise.allSettled([...this.syncsRunning, ...this.largeAppends]);
    this.idle.cancel();
    this.closeDescriptor();
  }

  /** The descriptor let go after a while unused, unless a sync or an append still runs on it. */
  private releaseIdle(): boolean {
    if (this.syncsRunning.size > 0 || this.largeAppends.size > 0) return false;
    this.closeDescriptor();
    return true;
  }

  private closeDescriptor(): void {
    const fd = this.fd;
    this.fd = undefined;
    // The next append looks again for a torn last line (another process may have left one since).
    this.fenced = false;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Already gone: nothing is lost, every append was one whole write().
    }
  }
}

/**
 * The event an entry becomes when the append that carried it failed part-way: see undoPartialAppend.
 * Its `detail` names the entry's type and key.
 */
export const APPEND_UNDONE = 'append-undone';

/**
 * An append is all or nothing. One that failed part-way (the disk filled, or the file reached the
 * process's file-size limit, after `done` of its bytes) would leave its complete lines as entries:
 * a putMany's first intents, read later as writes cut off, with nothing written. Its bytes are
 * overwritten in place, which needs no new space: each complete line by an `append-undone` event of
 * the same length (so every later entry keeps its seq, which a reader may have counted already), the
 * cut-off rest by spaces. They are found where this descriptor's last write() ended (O_APPEND moves
 * its offset there; /proc/self/fdinfo), or at the end of the file, and checked byte for byte first:
 * where another append has split them from the rest (a write after a short write), or they cannot
 * be found, they stay as they are, and read as before (open intents of a writer gone; see status).
 */
function undoPartialAppend(file: string, fd: number, done: Buffer): void {
  let own: number | undefined;
  try {
    // A descriptor of its own: a write at a position on the O_APPEND one would go to the end (Linux).
    // It must be the file appended to (/proc reopens it; by name, only where it is the same file): a
    // journal moved aside and replaced since `fd` was opened holds other processes' entries at that offset.
    own = sameFileOpened(fd, file);
    if (own === undefined) return;
    const appended = fstatSync(fd);
    const end = [descriptorOffset(fd), appended.size].find((at) => at !== undefined && at >= done.length && holds(fd, at - done.length, done));
    if (end !== undefined) overwriteAsUndone(own, end - done.length, done);
  } catch {
    // Left as it is: the error of the append is the one to report.
  } finally {
    if (own !== undefined) closeSync(own);
  }
}

/** `fd`'s file opened again for writing at a position, or undefined where neither way reaches it. */
function sameFileOpened(fd: number, file: string): number | undefined {
  const appended = fstatSync(fd);
  for (const path of [`/proc/self/fd/${fd}`, file]) {
    let own: number | undefined;
    try {
      own = openSync(path, 'r+');
      const opened = fstatSync(own);
      if (opened.ino === appended.ino && opened.dev === appended.dev) return own;
    } catch {
      // not this way
    }
    if (own !== undefined) closeSync(own);
  }
  return undefined;
}

/** Overwrites `bytes`, found at `at`, by their undoneText, durably, on a descriptor opened without O_APPEND; false when that fails. */
function overwriteAsUndone(fd: number, at: number, bytes: Buffer): boolean {
  try {
    const blank = undoneText(bytes);
    writeSync(fd, blank, 0, blank.length, at);
    fdatasyncSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Where a descriptor's file offset stands (Linux; undefined elsewhere). */
function descriptorOffset(fd: number): number | undefined {
  try {
    const pos = /^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return pos ? Number(pos[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the file holds `bytes` at `at`. */
function holds(fd: number, at: number, bytes: Buffer): boolean {
  const there = Buffer.alloc(bytes.length);
  return readSync(fd, there, 0, bytes.length, at) === bytes.length && there.equals(bytes);
}

/**
 * `done`'s bytes, every newline where it was: each complete line an `append-undone` event (padded
 * with spaces to its length; spaces alone when the event does not fit), the cut-off rest spaces.
 */
function undoneText(done: Buffer): Buffer {
  const out = Buffer.alloc(done.length, SPACE);
  let start = 0;
  for (let nl = done.indexOf(NEWLINE); nl !== -1; start = nl + 1, nl = done.indexOf(NEWLINE, start)) {
    out[nl] = NEWLINE;
    const event = undoneEvent(done.toString('utf8', start, nl));
    if (event !== undefined && Buffer.byteLength(event) <= nl - start) out.write(event, start, 'utf8');
  }
  return out;
}

/** The `append-undone` event that stands for an entry's line (undefined for a line that is no entry). */
function undoneEvent(line: string): string | undefined {
  const { entry } = parseLine(line);
  if (entry === null) return undefined;
  const key = 'key' in entry ? ` ${entry.key}` : '';
  return JSON.stringify({ type: 'event', event: APPEND_UNDONE, detail: `${entry.type}${key}`, time: entry.time, pid: entry.pid, phase: entry.phase });
}

/**
 * Whether the process that appended an entry may still be writing (the journal is local to this
 * host): its pid is alive and that process had started by the entry's time (a later one only
 * reuses the pid of a writer cut off).
 */
export function writerAlive(entry: Pick<EntryBase, 'pid' | 'time'>): boolean {
  return isProcessAliveSince(entry.pid, entry.time);
}
