// Reading the sides while deploy scripts keep writing. A command takes the fence exclusively only
// for a moment (the quiet point: no write in flight, the journal's position noted), snapshots and
// reads both sides without it, and then counts a key journalled after the quiet
// point as pending, never as a difference: it was written while the sides were read. A gate
// re-checks exactly those keys under the fence before it switches.
import {
  canonicalDigest,
  compareIntegers,
  compareKeys,
  type Integer,
  type JsonNumber,
  type RecordDifference,
  type StoreEntry,
} from '@deploystate/core';
import type { MigrationContext } from './context.js';
import { underGateFence } from './fence.js';
import { lastWrites, streamJournalledKeys, writesWithOutcomes } from './journal-queries.js';
import type { Journal } from './journal.js';
import type { MigrationPhase, SideComparison } from './types.js';

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
 * `comparison` with only the listed differences `keep` keeps, each kind's count less those it took
 * out and less `unlistedAway` (those past the lists' cap the caller took out by key). A difference
 * past the cap that no key tells apart stays counted, and the comparison unequal.
 */
function keepListed(
  comparison: SideComparison,
  keep: {
    onlyLeft: (entry: StoreEntry) => boolean;
    onlyRight: (entry: StoreEntry) => boolean;
    differing: (diff: RecordDifference) => boolean;
  },
  unlistedAway: Readonly<Record<keyof SideComparison['counts'], number>> = { onlyLeft: 0, onlyRight: 0, differing: 0 },
): SideComparison {
  const onlyLeft = comparison.onlyLeft.filter(keep.onlyLeft);
  const onlyRight = comparison.onlyRight.filter(keep.onlyRight);
  const differing = comparison.differing.filter(keep.differing);
  const { counts } = comparison;
  const kept = {
    onlyLeft: counts.onlyLeft - (comparison.onlyLeft.length - onlyLeft.length) - unlistedAway.onlyLeft,
    onlyRight: counts.onlyRight - (comparison.onlyRight.length - onlyRight.length) - unlistedAway.onlyRight,
    differing: counts.differing - (comparison.differing.length - differing.length) - unlistedAway.differing,
  };
  const equal = kept.onlyLeft + kept.onlyRight + kept.differing === 0 && comparison.unreadable.every((u) => u.known);
  return { ...comparison, equal, onlyLeft, onlyRight, differing, counts: kept };
}

/** The keys of the differences a comparison counted past its lists (CompareOptions.onUnlisted), by kind. */
export type UnlistedKeys = Record<keyof SideComparison['counts'], string[]>;

/**
 * The comparison with every difference on a key written after the quiet point `since` moved to
 * `pending`: the listed ones, and those counted past the lists (`unlisted`), so the verdict does
 * not depend on how many are listed. The journal is read under the fence: a drain journals its
 * writes after it made them, and holds the fence shared until it has.
 */
export async function settleWrittenSince(
  ctx: Pick<MigrationContext, 'files' | 'journal'>,
  comparison: SideComparison,
  since: number,
  unlisted?: UnlistedKeys,
): Promise<SideComparison> {
  if (comparison.equal) return comparison;
  await ctx.journal.lastSeq();
  const written = await underGateFence(ctx.files, 'verify', () => keysWrittenSince(ctx.journal, since));
  if (written.size === 0) return comparison;
  const moved = new Set<string>();
  const keep = (entry: { key: string }): boolean => {
    if (!written.has(entry.key)) return true;
    moved.add(entry.key);
    return false;
  };
  // Counted past the lists, each such key is taken off its kind's count as a listed one is.
  const away = (keys: readonly string[] | undefined): number => (keys ?? []).filter((key) => !keep({ key })).length;
  const settled = keepListed(
    comparison,
    { onlyLeft: keep, onlyRight: keep, differing: keep },
    { onlyLeft: away(unlisted?.onlyLeft), onlyRight: away(unlisted?.onlyRight), differing: away(unlisted?.differing) },
  );
  const pending = [...new Set([...(comparison.pending ?? []), ...moved])].sort(compareKeys);
  return { ...settled, pending };
}

/** What the journal says a key holds on both sides after `seq`: its digest (null: deleted), or unknown. */
export type JournalledValue = { digest: string | null } | 'unknown';

/**
 * For each key journalled after `seq`, the digest of its last write when the journal alone tells
 * what both sides hold: one writing process (its writes are in order), and the last write closed
 * `ok` (both sides written). Any other case (writers of the same key racing, an intent still open,
 * a failed or compensated write) is unknown: the caller reads that key from the sides.
 */
export async function lastWrittenValues(journal: Journal, seq: number): Promise<Map<string, JournalledValue>> {
  const values = new Map<string, JournalledValue>();
  for (const [key, { intent, pids, outcome }] of await lastWrites(journal, seq))
    values.set(key, pids.size === 1 && outcome === 'ok' ? { digest: intent.op === 'delete' ? null : intent.digest } : 'unknown');
  return values;
}

/** What json-only's comparison knows of the cut-over. */
export interface CutoverBaseline {
  /** The journal seq of the cut-over's verify: this clone's own (undefined in a clone that did not cut over). */
  since?: number;
  /** Only writes routed in this phase count (a clone with no cut-over evidence: its json-only writes). */
  onlyPhase?: MigrationPhase;
  /** LevelDB's record digests as the cut-over recorded them (phase.json, committed: every clone has them). */
  atCutover?: Readonly<Record<string, string>>;
}

/** Per key, the digests of the writes journalled after `since` that closed `ok` or have no outcome (null: a delete). */
async function journalledSince(journal: Journal, since: number, onlyPhase?: MigrationPhase): Promise<Map<string, Set<string | null>>> {
  // A write with no outcome is one in flight, or one whose process died after (or before) its
  // JSON write: JSON is the only side written, so where it holds that write's value, it was written.
  const written = new Map<string, Set<string | null>>();
  for (const { intent, outcome } of await writesWithOutcomes(journal, since)) {
    if (onlyPhase !== undefined && intent.phase !== onlyPhase) continue;
    if (outcome !== undefined && outcome !== 'ok') continue;
    (written.get(intent.key) ?? written.set(intent.key, new Set()).get(intent.key))?.add(intent.op === 'delete' ? null : intent.digest);
  }
  return written;
}

/**
 * Whether JSON's record is newer than LevelDB's by its timestamp, as a later write's is (the rule the
 * co-owned check applies to a record changed elsewhere): a record changed with its timestamp kept (a
 * rewrite that lost a digit) or gone back in time is not.
 */
function newerByTimestamp(diff: RecordDifference): boolean {
  const timestamp = diff.fields.find((f) => f.field === 'timestamp');
  if (timestamp === undefined) return false;
  return compareIntegers(timestamp.right as Integer | JsonNumber, timestamp.left as Integer | JsonNumber) > 0;
}

/**
 * json-only: LevelDB stays as the cut-over left it while writes go on in JSON. A difference is
 * explained by a write journalled since the cut-over (`since`, its verify's seq) that closed `ok`,
 * or has no outcome, with the value JSON holds now (a delete: absent): `writtenSinceCutover`. A
 * record JSON got since the cut-over some other way (a teammate's write through git, which no local
 * journal holds, or another program), while LevelDB still holds what it held at the cut-over
 * (`atCutover`), is no difference either: `writtenElsewhere`. It must be new there, or newer than
 * LevelDB's by its timestamp. A record gone from JSON, or changed without a newer timestamp, that
 * this clone's journal does not explain is still a difference.
 */
export async function explainWrittenSinceCutover(
  journal: Journal,
  comparison: SideComparison,
  cutover: CutoverBaseline,
): Promise<SideComparison> {
  if (comparison.equal) return comparison;
  const written = cutover.since === undefined ? new Map<string, Set<string | null>>() : await journalledSince(journal, cutover.since, cutover.onlyPhase);
  const { atCutover } = cutover;
  if (written.size === 0 && atCutover === undefined) return comparison;
  const explained: string[] = [];
  const elsewhere: string[] = [];
  // LevelDB's side (its digest; undefined: no record) as the cut-over left it: the change is JSON's.
  const leveldbAsAtCutover = (key: string, leveldb: string | undefined): boolean =>
    atCutover !== undefined && (Object.hasOwn(atCutover, key) ? atCutover[key] : undefined) === leveldb;
  const keep =
    <T extends { key: string }>(digestNow: (entry: T) => string | null, fromElsewhere: (entry: T) => boolean) =>
    (entry: T): boolean => {
      if (written.get(entry.key)?.has(digestNow(entry))) explained.push(entry.key);
      else if (fromElsewhere(entry)) elsewhere.push(entry.key);
      else return true;
      return false;
    };
  const kept = keepListed(comparison, {
    onlyLeft: keep(() => null, () => false),
    onlyRight: keep((entry) => canonicalDigest(entry.record), (entry) => leveldbAsAtCutover(entry.key, undefined)),
    differing: keep(
      (diff) => diff.rightDigest,
      (diff) => newerByTimestamp(diff) && leveldbAsAtCutover(diff.key, diff.leftDigest),
    ),
  });
  return {
    ...kept,
    writtenSinceCutover: explained.sort(compareKeys),
    ...(elsewhere.length > 0 && { writtenElsewhere: elsewhere.sort(compareKeys) }),
  };
}
