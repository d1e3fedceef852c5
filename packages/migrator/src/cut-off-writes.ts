// json-only writes whose process ended between the intent line and the outcome (SIGKILL, a crash, a
// power cut): nothing else in this phase closes them (no gate drains, no LevelDB side to complete),
// so `status` names them, with whether the network file holds what each meant to write. A write
// whose process still runs is in flight, not cut off, and is never named.
import { parseKey } from '@deploystate/core';
import { digestOf } from './interrupted-writes.js';
import { lastWrites } from './journal-queries.js';
import { DUAL_WRITE_ENABLED, writerAlive, type Journal } from './journal.js';
import type { MigrationContext } from './context.js';
import type { CutOffWrite } from './types.js';

export type { CutOffWrite } from './types.js';

/**
 * Each key whose last json-only write after `sinceSeq` has no outcome and whose writer is gone, in
 * journal order. A later write of the key (a re-run of the script) supersedes it: the key drops out.
 */
export async function cutOffJsonOnlyWrites(journal: Journal, sinceSeq: number, ctx: MigrationContext): Promise<CutOffWrite[]> {
  // Only this migration's writes: one cut off before this clone's last dual-write enable was in a
  // json-only spell a rollback ended (and the copy and verify since settled the key), whatever
  // `sinceSeq` a state.json without this cut-over's evidence (unreadable, say) falls back to.
  const cut = [...(await lastWrites(journal, sinceSeq, { forgetAt: DUAL_WRITE_ENABLED })).values()]
    .filter((w) => w.outcome === undefined && w.intent.phase === 'json-only' && !writerAlive(w.intent))
    .map((w) => w.intent)
    .sort((a, b) => a.seq - b.seq);
  if (cut.length === 0) return [];
  const json = await ctx.json();
  const found: CutOffWrite[] = [];
  for (const intent of cut) {
    const { chainId, contractName } = parseKey(intent.key);
    const now = await json.get(chainId, contractName).then(digestOf, () => undefined);
    found.push({
      key: intent.key,
      op: intent.op,
      seq: intent.seq,
      pid: intent.pid,
      time: intent.time,
      file: ctx.registry.fileName(chainId),
      landed: now === undefined ? null : now === (intent.op === 'delete' ? null : intent.digest),
    });
  }
  return found;
}
