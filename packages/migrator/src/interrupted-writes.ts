// json-primary writes JSON first, then LevelDB. A process that ends between the two (SIGKILL, a
// crash, a machine that loses power) leaves its intent without an outcome, JSON holding the record
// and LevelDB the one before: read-only commands count such a key as pending, never a difference,
// and cut-over completes the write into LevelDB under the fence before it verifies (the drain of
// this phase), journalling the outcome the writer would have.
import { canonicalDigest, compareKeys, ErrorCodes, parseKey } from '@deploystate/core';
import type { CommandContext } from './command-context.js';
import { underGateFence } from './fence.js';
import { lastWrites } from './journal-queries.js';
import type { IntentEntry, Journal } from './journal.js';
import { readState } from './state.js';

/** Each key whose last write since `seq` went JSON first (json-primary) and has no outcome: in flight, or cut off. */
export async function openJsonFirstWrites(journal: Journal, seq: number): Promise<IntentEntry[]> {
  const open: IntentEntry[] = [];
  for (const { intent, outcome } of (await lastWrites(journal, seq)).values())
    if (outcome === undefined && intent.phase === 'json-primary') open.push(intent);
  return open.sort((a, b) => compareKeys(a.key, b.key));
}

/** Where the journal's writes of the migration begin (dual-write enable). */
export async function migrationJournalStart(c: Pick<CommandContext, 'files'>): Promise<number> {
  return (await readState(c.files)).dualWriteSinceSeq ?? 0;
}

/**
 * Completes every json-primary write cut off between its JSON write and its LevelDB write: under
 * the fence no write is in flight, so every such write still open was cut off. Where JSON holds what
 * the write wrote (a delete: no record), LevelDB gets it and the write closes `ok`; otherwise the
 * process ended before its JSON write, nothing was written, and it closes `primary-failed`. Returns
 * the keys completed.
 */
export async function completeInterruptedWrites(c: CommandContext, purpose: string): Promise<string[]> {
  const since = await migrationJournalStart(c);
  if ((await openJsonFirstWrites(c.journal, since)).length === 0) return [];
  await c.journal.lastSeq(); // counted before the fence, so under it only the lines since are read
  return underGateFence(c.files, purpose, async () => {
    const open = await openJsonFirstWrites(c.journal, since);
    const completed: string[] = [];
    if (open.length === 0) return completed;
    const json = await c.ctx.json();
    const leveldb = await c.ctx.leveldb();
    for (const intent of open) {
      const { chainId, contractName } = parseKey(intent.key);
      const now = await json.get(chainId, contractName);
      const landed = intent.op === 'delete' ? now === null : now !== null && canonicalDigest(now) === intent.digest;
      if (landed) {
        if (now === null) await leveldb.delete(chainId, contractName);
        else await leveldb.put(now);
        completed.push(intent.key);
      }
      await c.journal.appendOne({
        type: 'outcome',
        ref: intent.seq,
        ...(intent.id !== undefined && { refId: intent.id }),
        key: intent.key,
        op: intent.op,
        outcome: landed ? 'ok' : 'primary-failed',
        durationMs: 0,
        ...(!landed && {
          error: { code: ErrorCodes.WRITE_FAILED, message: `${intent.key}: the writing process (pid ${intent.pid}) ended before its JSON write` },
        }),
        time: new Date(c.clock()).toISOString(),
        pid: process.pid,
        phase: 'json-primary',
      });
    }
    return completed;
  });
}
