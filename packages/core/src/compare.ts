// The comparison of two stores: one pass over two key-ordered streams, finding records missing on
// either side and every differing field with both values, and both store digests on the way.
import { canonicalDigest, canonicalEncode, StoreDigest, textDigest } from './canonical.js';
import { ErrorCodes, StateError } from './errors.js';
import { compareKeys } from './keys.js';
import { compareIntegers, type DeploymentRecord } from './record.js';

export interface StoreEntry {
  key: string;
  record: DeploymentRecord;
  /** The record's canonicalDigest, when the source already computed it (then nothing hashes it again). */
  digest?: string;
}

export interface FieldDifference {
  field: string;
  left: unknown;
  right: unknown;
}

export interface RecordDifference {
  key: string;
  leftDigest: string;
  rightDigest: string;
  fields: FieldDifference[];
}

export interface StoreSide {
  count: number;
  digest: string;
}

/** How many differences of each kind a comparison found. */
export interface DifferenceCounts {
  onlyLeft: number;
  onlyRight: number;
  differing: number;
}

export interface StoreComparison {
  equal: boolean;
  left: StoreSide;
  right: StoreSide;
  /** Keys present on the left only, with their records (the first ones, when `truncated`). */
  onlyLeft: StoreEntry[];
  onlyRight: StoreEntry[];
  differing: RecordDifference[];
  /** Every difference of each kind, exact however many the lists hold (`maxDetails` caps only the lists). */
  counts: DifferenceCounts;
  /** The lists stop short of `counts`: they hold the first `maxDetails` differences in key order. */
  truncated: boolean;
  /** Keys left out of the comparison on both sides. */
  excluded: string[];
}

export interface CompareOptions {
  /** Keys to leave out of both sides (exclusions, unmigratable keys). */
  exclude?: Iterable<string>;
  /** Stop listing differences past this many, of all kinds together (`counts` and digests stay exact; `truncated` says so). */
  maxDetails?: number;
  /** Called with the kind and key of each difference past `maxDetails` (counted, not listed): for a caller that must account for every one. */
  onUnlisted?: (kind: keyof DifferenceCounts, key: string) => void;
}

type EntrySource = AsyncIterable<StoreEntry> | Iterable<StoreEntry>;

/** Field-level differences of two records (top-level fields, compared canonically). */
export function diffRecords(left: DeploymentRecord, right: DeploymentRecord): FieldDifference[] {
  const fields = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort(compareKeys);
  const out: FieldDifference[] = [];
  for (const field of fields) {
    const a = Object.hasOwn(left, field) ? left[field] : undefined;
    const b = Object.hasOwn(right, field) ? right[field] : undefined;
    const ea = a === undefined ? undefined : canonicalEncode(a);
    const eb = b === undefined ? undefined : canonicalEncode(b);
    if (ea !== eb) out.push({ field, left: a, right: b });
  }
  return out;
}

/** Entries a batch at a time: each batch in key order, and the batches in order. */
export type BatchSource = AsyncIterable<readonly StoreEntry[]> | Iterable<readonly StoreEntry[]>;

/** One entry per batch, for a source that yields entries one by one. */
export async function* oneByOne(source: EntrySource): AsyncGenerator<readonly StoreEntry[]> {
  for await (const entry of source) yield [entry];
}

/**
 * The entry one side is at, past excluded keys, checking that keys only ascend. Within a batch it
 * moves without waiting (`stepInBatch`), so a source that yields large batches costs no promise
 * per record.
 */
class Cursor {
  current: StoreEntry | undefined;
  private batch: readonly StoreEntry[] = [];
  private at = 0;
  private last: string | undefined;
  private readonly batches: AsyncIterator<readonly StoreEntry[]> | Iterator<readonly StoreEntry[]>;

  constructor(
    source: BatchSource,
    private readonly side: string,
    private readonly exclude: ReadonlySet<string>,
    private readonly excluded: Set<string>,
  ) {
    this.batches = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** Moves to the next entry of the batch in hand; false when that batch is used up. */
  stepInBatch(): boolean {
    while (this.at < this.batch.length) {
      const entry = this.batch[this.at++] as StoreEntry;
      if (this.last !== undefined && compareKeys(this.last, entry.key) >= 0) {
        throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${this.side} stream is not in key order at ${JSON.stringify(entry.key)}`, {
          key: entry.key,
        });
      }
      this.last = entry.key;
      if (this.exclude.has(entry.key)) {
        this.excluded.add(entry.key);
        continue;
      }
      this.current = entry;
      return true;
    }
    return false;
  }

  /** Moves to the next entry, reading batches as needed; `current` is undefined at the end. */
  async step(): Promise<void> {
    while (!this.stepInBatch()) {
      const next = await this.batches.next();
      if (next.done) {
        this.current = undefined;
        return;
      }
      this.batch = next.value;
      this.at = 0;
    }
  }
}

/** Both records' digests: given ones as they are; equal canonical texts hash once, not twice. */
function digestsOf(a: StoreEntry, b: StoreEntry): [string, string] {
  if (a.digest !== undefined && b.digest !== undefined) return [a.digest, b.digest];
  if (a.digest !== undefined) return [a.digest, canonicalDigest(b.record)];
  if (b.digest !== undefined) return [canonicalDigest(a.record), b.digest];
  const ta = canonicalEncode(a.record);
  const tb = canonicalEncode(b.record);
  const da = textDigest(ta);
  return [da, ta === tb ? da : textDigest(tb)];
}

/** Compares two key-ordered streams of records in one pass. */
export function compareStores(leftSource: EntrySource, rightSource: EntrySource, options: CompareOptions = {}): Promise<StoreComparison> {
  return compareStoreBatches(oneByOne(leftSource), oneByOne(rightSource), options);
}

/** compareStores over sources that yield their entries in batches (no promise per record within a batch). */
export async function compareStoreBatches(leftSource: BatchSource, rightSource: BatchSource, options: CompareOptions = {}): Promise<StoreComparison> {
  const exclude = new Set(options.exclude ?? []);
  const maxDetails = options.maxDetails ?? Number.POSITIVE_INFINITY;
  const excluded = new Set<string>();
  const leftDigest = new StoreDigest();
  const rightDigest = new StoreDigest();
  const result: StoreComparison = {
    equal: true,
    left: { count: 0, digest: '' },
    right: { count: 0, digest: '' },
    onlyLeft: [],
    onlyRight: [],
    differing: [],
    counts: { onlyLeft: 0, onlyRight: 0, differing: 0 },
    truncated: false,
    excluded: [],
  };
  let details = 0;
  const onUnlisted = options.onUnlisted;
  const note = (kind: keyof DifferenceCounts, key: string, push: () => void): void => {
    result.equal = false;
    result.counts[kind]++;
    if (details++ < maxDetails) push();
    else {
      result.truncated = true;
      onUnlisted?.(kind, key);
    }
  };

  const left = new Cursor(leftSource, 'left', exclude, excluded);
  const right = new Cursor(rightSource, 'right', exclude, excluded);
  await left.step();
  await right.step();
  for (;;) {
    const a = left.current;
    const b = right.current;
    if (a === undefined && b === undefined) break;
    // One entry on both sides (a source that found both records equal) is at one key.
    const order = a === undefined ? 1 : b === undefined ? -1 : a === b ? 0 : compareKeys(a.key, b.key);
    if (order < 0 && a) {
      leftDigest.addDigest(a.key, a.digest ?? canonicalDigest(a.record));
      note('onlyLeft', a.key, () => result.onlyLeft.push(a));
      if (!left.stepInBatch()) await left.step();
    } else if (order > 0 && b) {
      rightDigest.addDigest(b.key, b.digest ?? canonicalDigest(b.record));
      note('onlyRight', b.key, () => result.onlyRight.push(b));
      if (!right.stepInBatch()) await right.step();
    } else if (a && b) {
      const [da, db] = digestsOf(a, b);
      leftDigest.addDigest(a.key, da);
      rightDigest.addDigest(b.key, db);
      if (da !== db) {
        note('differing', a.key, () => result.differing.push({ key: a.key, leftDigest: da, rightDigest: db, fields: diffRecords(a.record, b.record) }));
      }
      if (!left.stepInBatch()) await left.step();
      if (!right.stepInBatch()) await right.step();
    }
  }
  result.left = { count: leftDigest.size, digest: leftDigest.digest() };
  result.right = { count: rightDigest.size, digest: rightDigest.digest() };
  result.excluded = [...excluded].sort(compareKeys);
  return result;
}

/** The digest and count of one key-ordered stream. */
export async function digestStore(source: EntrySource, options: Pick<CompareOptions, 'exclude'> = {}): Promise<StoreSide> {
  const exclude = new Set(options.exclude ?? []);
  const digest = new StoreDigest();
  const cursor = new Cursor(oneByOne(source), 'store', exclude, new Set());
  for (await cursor.step(); cursor.current; await cursor.step()) digest.add(cursor.current.key, cursor.current.record);
  return { count: digest.size, digest: digest.digest() };
}

/** What putting a restored version in place of the current one takes away, by key. */
export interface RestoreLoss {
  /** Keys the current version holds and the restored one does not. */
  lacks: string[];
  /** Keys whose record in the current version is newer (by `timestamp`) than the restored one's. */
  older: string[];
}

/**
 * What a restore of `restored` over `current` (records by key) takes away: records only `current`
 * holds (written since the restored version was kept, or brought in through git), and records it
 * holds newer by timestamp. A record changed with its timestamp kept (damage a restore is for) is
 * not counted.
 */
export function restoreLoss(
  current: ReadonlyMap<string, Pick<DeploymentRecord, 'timestamp'>>,
  restored: ReadonlyMap<string, Pick<DeploymentRecord, 'timestamp'>>,
): RestoreLoss {
  const lacks: string[] = [];
  const older: string[] = [];
  for (const [key, record] of current) {
    const back = restored.get(key);
    if (back === undefined) lacks.push(key);
    else if (compareIntegers(record.timestamp, back.timestamp) > 0) older.push(key);
  }
  return { lacks: lacks.sort(compareKeys), older: older.sort(compareKeys) };
}

/** How many records a restore takes away. */
export function restoreLossCount(loss: RestoreLoss): number {
  return loss.lacks.length + loss.older.length;
}

/**
 * STORES_DIFFER for a restore that would take records away (`restoreLoss`), naming them; the keys
 * are in `data` (`lacks`, `older`). `consent` names what restores it anyway.
 */
export function restoreLossError(target: string, backup: string, loss: RestoreLoss, consent: string): StateError {
  const keys = [...loss.lacks, ...loss.older];
  const listed = `${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ` and ${keys.length - 10} more` : ''}`;
  return new StateError(
    ErrorCodes.STORES_DIFFER,
    `restoring ${backup} over ${target} would take away ${keys.length} record(s) it holds (${loss.lacks.length} missing from the backup, ${loss.older.length} older there): ${listed}`,
    {
      file: target,
      hint: `written since the backup was kept, or brought in through git; to restore it anyway (what it replaces is kept aside), ${consent}`,
      data: { lacks: loss.lacks, older: loss.older },
    },
  );
}
