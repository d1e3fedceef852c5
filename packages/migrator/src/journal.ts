// The write journal (journal.ndjson): one JSON line per entry, appended and fsynced, sequence
// numbers assigned under a short lock so any number of processes append safely. A crash
// mid-append leaves a torn last line, which the reader skips and the next append fences off.
import { open, readFile, stat } from 'node:fs/promises';
import { parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { appendDurable } from './durable.js';
import { withLock } from './lock.js';
import type { MigrationPhase } from './types.js';

export type WriteOutcome = 'ok' | 'primary-failed' | 'secondary-failed' | 'compensated' | 'diverged';

interface EntryBase {
  seq: number;
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
  /** The intent this closes. */
  ref: number;
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

export interface EventEntry extends EntryBase {
  type: 'event';
  event: string;
  detail?: string;
}

export type JournalEntry = IntentEntry | OutcomeEntry | ShadowMismatchEntry | EventEntry;
export type NewJournalEntry = JournalEntry extends infer E ? (E extends JournalEntry ? Omit<E, 'seq'> : never) : never;

export interface JournalRead {
  entries: JournalEntry[];
  /** Lines that are not complete JSON (a crash mid-append). */
  torn: number;
  lastSeq: number;
}

const TAIL_BYTES = 64 * 1024;

function parseLine(line: string): JournalEntry | null {
  if (line.trim() === '') return null;
  try {
    const value = parseLossless(line) as JournalEntry;
    return typeof value === 'object' && value !== null && Number.isSafeInteger(value.seq) ? value : null;
  } catch {
    return null;
  }
}

export class Journal {
  constructor(
    readonly file: string,
    private readonly lockFile: string,
  ) {}

  /** Appends entries with consecutive sequence numbers; returns them as written. */
  async append(entries: readonly NewJournalEntry[]): Promise<JournalEntry[]> {
    return withLock(this.lockFile, { waitMs: 15_000, command: 'journal append' }, async () => {
      const { lastSeq, endsClean } = await this.tail();
      let seq = lastSeq;
      const written = entries.map((entry) => ({ ...entry, seq: ++seq }) as JournalEntry);
      const text = written.map((e) => stringifyLossless(e)).join('\n');
      // A torn last line must stay a line of its own, or the next entry would be lost with it.
      await appendDurable(this.file, `${endsClean ? '' : '\n'}${text}\n`);
      return written;
    });
  }

  async appendOne(entry: NewJournalEntry): Promise<JournalEntry> {
    const [written] = await this.append([entry]);
    return written as JournalEntry;
  }

  /** The last sequence number (0 for an empty or missing journal). */
  async lastSeq(): Promise<number> {
    return (await this.tail()).lastSeq;
  }

  private async tail(): Promise<{ lastSeq: number; endsClean: boolean }> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch {
      return { lastSeq: 0, endsClean: true };
    }
    if (size === 0) return { lastSeq: 0, endsClean: true };
    const start = Math.max(0, size - TAIL_BYTES);
    const handle = await open(this.file, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      text = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
    const endsClean = text.endsWith('\n');
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      // The first line of a tail window may be cut: only trust it when the window is the file.
      if (i === 0 && start > 0) break;
      const entry = parseLine(lines[i] as string);
      if (entry) return { lastSeq: entry.seq, endsClean };
    }
    if (start > 0) return { lastSeq: (await this.read()).lastSeq, endsClean };
    return { lastSeq: 0, endsClean };
  }

  /** Every readable entry (optionally only those after `sinceSeq`), skipping torn lines. */
  async read(options: { sinceSeq?: number } = {}): Promise<JournalRead> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], torn: 0, lastSeq: 0 };
      throw error;
    }
    const entries: JournalEntry[] = [];
    let torn = 0;
    let lastSeq = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const entry = parseLine(line);
      if (!entry) {
        torn++;
        continue;
      }
      if (entry.seq > lastSeq) lastSeq = entry.seq;
      if (options.sinceSeq === undefined || entry.seq > options.sinceSeq) entries.push(entry);
    }
    return { entries, torn, lastSeq };
  }
}

/** The keys written (put or delete, probes excluded) by the entries, in first-seen order. */
export function journalledKeys(entries: readonly JournalEntry[]): string[] {
  const keys = new Set<string>();
  for (const e of entries) if (e.type === 'intent' && !e.probe) keys.add(e.key);
  return [...keys];
}

/** Intents (not probes) that have no outcome yet: writes in flight or interrupted by a crash. */
export function openIntents(entries: readonly JournalEntry[]): IntentEntry[] {
  const closed = new Set<number>();
  for (const e of entries) if (e.type === 'outcome') closed.add(e.ref);
  return entries.filter((e): e is IntentEntry => e.type === 'intent' && !closed.has(e.seq));
}

/**
 * Waits (bounded) until every intent after `sinceSeq` whose key passes `filter` has an outcome,
 * so a reader sees both sides written. An intent from a dead process never closes: after the
 * timeout it is returned as still open.
 */
export async function waitForOutcomes(journal: Journal, sinceSeq: number, filter: (key: string) => boolean, timeoutMs = 5_000): Promise<{ read: JournalRead; open: IntentEntry[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await journal.read({ sinceSeq });
    const open = openIntents(read.entries).filter((e) => filter(e.key) && !e.probe);
    if (open.length === 0 || Date.now() >= deadline) return { read, open };
    await new Promise((r) => setTimeout(r, 10));
  }
}
