// Queries over the journal: the keys written, the writes still open, and a bounded wait for
// writers in flight, each one streamed pass that never holds the whole file.
import { sleep } from '@deploystate/core';
import { writerAlive, type IntentEntry, type Journal, type JournalEntry, type OutcomeEntry, type WriteOutcome } from './journal.js';

/** The keys written (put or delete, probes excluded) by the entries, in first-seen order. */
export function journalledKeys(entries: Iterable<JournalEntry>): string[] {
  const keys = new Set<string>();
  for (const e of entries) if (e.type === 'intent' && !e.probe) keys.add(e.key);
  return [...keys];
}

/** `journalledKeys` over a stream (`Journal.entries()`), keeping only keys that pass `filter`. */
export async function streamJournalledKeys(
  entries: AsyncIterable<JournalEntry>,
  filter: (key: string) => boolean = () => true,
): Promise<string[]> {
  const keys = new Set<string>();
  for await (const e of entries) if (e.type === 'intent' && !e.probe && filter(e.key)) keys.add(e.key);
  return [...keys];
}

/** Intents (not probes) that have no outcome yet: writes in flight or interrupted by a crash. */
export function openIntents(entries: readonly JournalEntry[]): IntentEntry[] {
  const closed = new Set<number>();
  for (const e of entries) if (e.type === 'outcome') closed.add(e.ref);
  return entries.filter((e): e is IntentEntry => e.type === 'intent' && !closed.has(e.seq));
}

/** A key's last journalled write: its intent, every process that wrote the key, and the intent's outcome (undefined: open). */
export interface LastWrite {
  intent: IntentEntry;
  pids: Set<number>;
  outcome?: WriteOutcome;
}

/**
 * Each key's last write after `seq` (probes excluded), in one streamed pass. An outcome closes the
 * intent it names (by id; journals from before ids by seq); one closing an earlier intent of the
 * key changes nothing. With `forgetAt`, only the writes after the last event of that name count.
 */
export async function lastWrites(journal: Journal, seq: number, options: { forgetAt?: string } = {}): Promise<Map<string, LastWrite>> {
  const last = new Map<string, LastWrite>();
  const byId = new Map<string, string>();
  const bySeq = new Map<number, string>();
  for await (const e of journal.entries({ sinceSeq: seq })) {
    if (e.type === 'event' && e.event === options.forgetAt && !e.probe) {
      // `forgetAt`: an event that starts a new spell of writes; what came before is not asked about.
      last.clear();
      byId.clear();
      bySeq.clear();
    } else if (e.type === 'intent' && !e.probe) {
      const seen = last.get(e.key);
      last.set(e.key, { intent: e, pids: (seen?.pids ?? new Set()).add(e.pid) });
      if (e.id !== undefined) byId.set(e.id, e.key);
      bySeq.set(e.seq, e.key);
    } else if (e.type === 'outcome') {
      const key = (e.refId !== undefined ? byId.get(e.refId) : undefined) ?? bySeq.get(e.ref);
      const write = key === undefined ? undefined : last.get(key);
      const closes =
        write && (e.refId !== undefined && write.intent.id !== undefined ? e.refId === write.intent.id : e.ref === write.intent.seq);
      if (write && closes) write.outcome = e.outcome;
    }
  }
  return last;
}

/** Each write after `sinceSeq` (its intent; probes excluded) in journal order, with its outcome (undefined: none yet). */
export async function writesWithOutcomes(journal: Journal, sinceSeq: number): Promise<Array<{ intent: IntentEntry; outcome?: WriteOutcome }>> {
  const writes = new Map<number, { intent: IntentEntry; outcome?: WriteOutcome }>();
  for await (const e of journal.entries({ sinceSeq })) {
    if (e.type === 'intent' && !e.probe) writes.set(e.seq, { intent: e });
    else if (e.type === 'outcome') {
      const write = writes.get(e.ref);
      if (write) write.outcome = e.outcome;
    }
  }
  return [...writes.values()];
}

/** What one streamed pass over the journal after `sinceSeq` found, for keys that pass a filter. */
export interface JournalSummary {
  /** Keys written (put or delete, probes excluded), in first-seen order. */
  keys: string[];
  /** The writes (put or delete intents, probes excluded) to those keys. */
  writes: number;
  /** Intents without an outcome yet (writes in flight, or cut off by a crash). */
  open: IntentEntry[];
  lastSeq: number;
  torn: number;
  entries: number;
  /** The last write journalled `diverged`: its intent's seq and its key (what state.json's divergedBy records). */
  lastDiverged?: { seq: number; key: string };
  /** Outbox drains that failed, by the outbox entry's journal id, last failure last (few: only failures are kept). */
  drainFailures: ReadonlyMap<string, OutcomeEntry>;
}

/** One streamed pass: memory follows the distinct keys and open writes, not the journal's length. */
export async function summarizeJournal(
  journal: Journal,
  sinceSeq: number,
  filter: (key: string) => boolean = () => true,
): Promise<JournalSummary> {
  const keys = new Set<string>();
  const open = new Map<number, IntentEntry>();
  let end = { torn: 0, lastSeq: 0 };
  let entries = 0;
  let writes = 0;
  let lastDiverged: JournalSummary['lastDiverged'];
  const drainFailures = new Map<string, OutcomeEntry>();
  for await (const e of journal.entries({ sinceSeq, onEnd: (x) => (end = x) })) {
    entries++;
    if (e.type === 'intent' && !e.probe && filter(e.key)) {
      writes++;
      keys.add(e.key);
      open.set(e.seq, e);
    } else if (e.type === 'outcome') {
      open.delete(e.ref);
      if (e.outcome === 'diverged') lastDiverged = { seq: e.ref, key: e.key };
      else if (e.outcome === 'secondary-failed' && e.refId?.startsWith('outbox.')) {
        drainFailures.delete(e.refId);
        drainFailures.set(e.refId, e);
      }
    }
  }
  return { keys: [...keys], writes, open: [...open.values()], lastSeq: end.lastSeq, torn: end.torn, entries, ...(lastDiverged && { lastDiverged }), drainFailures };
}

/**
 * Waits (bounded) until every intent after `sinceSeq` whose key passes `filter` has an outcome,
 * so a reader sees both sides written. An intent from a dead process never closes: after the
 * timeout it is returned as still open.
 */
export async function waitForOutcomes(
  journal: Journal,
  sinceSeq: number,
  filter: (key: string) => boolean,
  timeoutMs = 5_000,
): Promise<JournalSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const summary = await summarizeJournal(journal, sinceSeq, filter);
    // A writer that is gone will never close its intent: waiting for it only delays the caller.
    if (summary.open.every((e) => !writerAlive(e)) || Date.now() >= deadline) return summary;
    await sleep(10);
  }
}
