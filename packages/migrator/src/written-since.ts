// Reading the sides while deploy scripts keep writing. A command takes the fence exclusively only
// for a moment (the quiet point: no write in flight, the journal's position noted), snapshots and
// reads both sides without it, and then counts a key journalled after the quiet
// point as pending, never as a difference: it was written while the sides were read. A gate
// re-checks exactly those keys under the fence before it switches.
import { compareKeys } from '@deploystate/core';
import type { MigrationContext } from './context.js';
import { underGateFence } from './fence.js';
import { streamJournalledKeys } from './journal-queries.js';
import type { Journal } from './journal.js';
import type { SideComparison } from './types.js';

/**
 * The journal's last seq, read under the fence held exclusively for this moment only: every write
 * journalled up to it is complete on both sides, so a snapshot taken after it holds them all, and
 * any write it does not hold is journalled after it (a drain journals under the fence too).
 */
export async function quietPoint(ctx: Pick<MigrationContext, 'files' | 'journal'>, purpose: string, timeoutMs?: number): Promise<number> {
  // Counted up to now first, so under the fence only the lines appended meanwhile are read.
  await ctx.journal.lastSeq();
  return underGateFence(ctx.files, purpose, () => ctx.journal.lastSeq(), timeoutMs);
}

/** The keys journalled (put or delete) after `seq`. */
export async function keysWrittenSince(journal: Journal, seq: number): Promise<Set<string>> {
  return new Set(await streamJournalledKeys(journal.entries({ sinceSeq: seq })));
}

/**
 * The comparison with every difference on a key written after the quiet point `since` moved to
 * `pending`. The journal is read under the fence: a drain journals its writes after it made them,
 * and holds the fence shared until it has. A comparison whose details were cut short stays unequal.
 */
export async function settleWrittenSince(
  ctx: Pick<MigrationContext, 'files' | 'journal'>,
  comparison: SideComparison,
  since: number,
  maxDetails: number,
): Promise<SideComparison> {
  if (comparison.equal) return comparison;
  await ctx.journal.lastSeq();
  const written = await underGateFence(ctx.files, 'verify', () => keysWrittenSince(ctx.journal, since));
  if (written.size === 0) return comparison;
  const moved = new Set<string>();
  const keep = <T extends { key: string }>(list: T[]): T[] =>
    list.filter((entry) => {
      if (!written.has(entry.key)) return true;
      moved.add(entry.key);
      return false;
    });
  const cutShort = comparison.onlyLeft.length + comparison.onlyRight.length + comparison.differing.length >= maxDetails;
  const onlyLeft = keep(comparison.onlyLeft);
  const onlyRight = keep(comparison.onlyRight);
  const differing = keep(comparison.differing);
  const equal = !cutShort && onlyLeft.length + onlyRight.length + differing.length === 0 && comparison.unreadable.every((u) => u.known);
  const pending = [...new Set([...(comparison.pending ?? []), ...moved])].sort(compareKeys);
  return { ...comparison, equal, onlyLeft, onlyRight, differing, pending };
}
