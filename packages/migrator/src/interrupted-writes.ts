// json-primary writes JSON first, then LevelDB. A process that ends between the two (SIGKILL, a
// crash, a machine that loses power) leaves its intent without an outcome, JSON holding the record
// and LevelDB the one before. Read-only commands count such a key as pending, never a difference,
// and cut-over completes it under the fence before it verifies (the drain of this phase): LevelDB
// gets what JSON holds, journalled as a write of its own, and every cut-off write gets an outcome.
import { canonicalDigest, compareKeys, ErrorCodes, parseKey, type DeploymentRecord } from '@deploystate/core';
import type { CommandContext } from './command-context.js';
import { underGateFence } from './fence.js';
import { writesWithOutcomes } from './journal-queries.js';
import type { IntentEntry, Journal, WriteOutcome } from './journal.js';
import { readState } from './state.js';

/** A key's json-primary writes with no outcome, and the values the journal vouches JSON may hold for it. */
export interface OpenWrites {
  open: IntentEntry[];
  /** Digests of the key's writes with no outcome and of its last write closed `ok` (null: a delete). */
  written: Set<string | null>;
}

/**
 * Every key with a write since `seq` that went JSON first (json-primary) and has no outcome (in
 * flight, or cut off), in key order; any of a key's writes counts, not only its last.
 */
export async function openJsonFirstWrites(journal: Journal, seq: number): Promise<Map<string, OpenWrites>> {
  // Per key: its open json-primary writes, and the value of its last write closed ok. An older ok
  // value is not vouched for: JSON holding it again is a revert (another program's), not this write.
  const byKey = new Map<string, { open: IntentEntry[]; lastOk?: string | null }>();
  for (const { intent, outcome } of await writesWithOutcomes(journal, seq)) {
    if (outcome !== undefined && outcome !== 'ok') continue;
    const writes = byKey.get(intent.key) ?? { open: [] };
    if (outcome === 'ok') writes.lastOk = intent.op === 'delete' ? null : intent.digest;
    else if (intent.phase === 'json-primary') writes.open.push(intent);
    byKey.set(intent.key, writes);
  }
  const open = new Map<string, OpenWrites>();
  for (const [key, writes] of [...byKey].sort(([a], [b]) => compareKeys(a, b))) {
    if (writes.open.length === 0) continue;
    const written = new Set<string | null>(writes.open.map((w) => (w.op === 'delete' ? null : w.digest)));
    if (writes.lastOk !== undefined) written.add(writes.lastOk);
    open.set(key, { open: writes.open, written });
  }
  return open;
}

/** Where the journal's writes of the migration begin (dual-write enable). */
export async function migrationJournalStart(c: Pick<CommandContext, 'files'>): Promise<number> {
  return (await readState(c.files)).dualWriteSinceSeq ?? 0;
}

/** A record's digest as the journal writes it; null for no record (a delete). */
export const digestOf = (record: DeploymentRecord | null): string | null => (record === null ? null : canonicalDigest(record));

/**
 * Completes every json-primary write cut off between its JSON write and its LevelDB write: under
 * the fence no write is in flight, so every write still open was cut off. Where JSON holds what a
 * journalled write of the key put there and LevelDB does not, LevelDB gets it, journalled as a
 * write of its own (intent and `ok`); what JSON holds from no journalled write (another program's)
 * is left to verify. Each cut-off write is closed: `ok` where both sides hold it, `secondary-failed`
 * where JSON got it and LevelDB did not, else `primary-failed`. Returns the keys LevelDB got.
 */
export async function completeInterruptedWrites(c: CommandContext, purpose: string): Promise<string[]> {
  const since = await migrationJournalStart(c);
  if ((await openJsonFirstWrites(c.journal, since)).size === 0) return [];
  return underGateFence(c.files, purpose, async () => {
    const open = await openJsonFirstWrites(c.journal, since);
    const completed: string[] = [];
    if (open.size === 0) return completed;
    const json = await c.ctx.json();
    const leveldb = await c.ctx.leveldb();
    const time = (): string => new Date(c.clock()).toISOString();
    for (const [key, writes] of open) {
      const { chainId, contractName } = parseKey(key);
      const inJson = await json.get(chainId, contractName);
      const jsonDigest = digestOf(inJson);
      let leveldbDigest = digestOf(await leveldb.get(chainId, contractName));
      if (writes.written.has(jsonDigest) && leveldbDigest !== jsonDigest) {
        const op = inJson === null ? 'delete' : 'put';
        const intent = await c.journal.appendOne({
          type: 'intent',
          key,
          op,
          digest: jsonDigest,
          ...(inJson !== null && { record: inJson }),
          time: time(),
          pid: process.pid,
          phase: 'json-primary',
        });
        if (inJson === null) await leveldb.delete(chainId, contractName);
        else await leveldb.put(inJson);
        await c.journal.appendOne({
          type: 'outcome',
          ref: intent.seq,
          ...(intent.id !== undefined && { refId: intent.id }),
          key,
          op,
          outcome: 'ok',
          durationMs: 0,
          time: time(),
          pid: process.pid,
          phase: 'json-primary',
        });
        leveldbDigest = jsonDigest;
        completed.push(key);
      }
      await closeCutOffWrites(c.journal, key, writes.open, { json: jsonDigest, leveldb: leveldbDigest, wrote: completed.includes(key) }, purpose, time);
    }
    return completed;
  });
}

/**
 * Gives each write cut off before its outcome one, as the gate that found it sees both sides now:
 * `ok` where both hold its value, `secondary-failed` where its JSON write landed and the gate wrote
 * LevelDB (`sides.wrote`), else `primary-failed`.
 */
export async function closeCutOffWrites(
  journal: Journal,
  key: string,
  open: readonly IntentEntry[],
  sides: { json: string | null; leveldb: string | null; wrote: boolean },
  purpose: string,
  time: () => string,
): Promise<void> {
  for (const cut of open) {
    const mine = cut.op === 'delete' ? null : cut.digest;
    const outcome: WriteOutcome = mine !== sides.json ? 'primary-failed' : mine === sides.leveldb && !sides.wrote ? 'ok' : 'secondary-failed';
    const what =
      outcome === 'primary-failed'
        ? 'JSON holds another value (its write never landed, or a later one replaced it)'
        : outcome === 'secondary-failed'
          ? `its JSON write landed and ${purpose} wrote it to LevelDB`
          : 'both sides hold its write';
    await journal.appendOne({
      type: 'outcome',
      ref: cut.seq,
      ...(cut.id !== undefined && { refId: cut.id }),
      key,
      op: cut.op,
      outcome,
      durationMs: 0,
      ...(outcome !== 'ok' && {
        error: { code: ErrorCodes.WRITE_FAILED, message: `${key}: the writing process (pid ${cut.pid}) ended before its outcome; ${what}` },
      }),
      time: time(),
      pid: process.pid,
      phase: cut.phase,
    });
  }
}
