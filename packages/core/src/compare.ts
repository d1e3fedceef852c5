// The comparison of two stores: one pass over two key-ordered streams, finding records missing on
// either side and every differing field with both values, and both store digests on the way.
import { canonicalDigest, canonicalEncode, StoreDigest, textDigest } from './canonical.js';
import { ErrorCodes, StateError } from './errors.js';
import { compareKeys } from './keys.js';
import type { DeploymentRecord } from './record.js';

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

export interface StoreComparison {
  equal: boolean;
  left: StoreSide;
  right: StoreSide;
  /** Keys present on the left only, with their records. */
  onlyLeft: StoreEntry[];
  onlyRight: StoreEntry[];
  differing: RecordDifference[];
  /** Keys left out of the comparison on both sides. */
  excluded: string[];
}

export interface CompareOptions {
  /** Keys to leave out of both sides (exclusions, unmigratable keys). */
  exclude?: Iterable<string>;
  /** Stop collecting details past this many differences (counts and digests stay exact). */
  maxDetails?: number;
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

async function* ordered(source: EntrySource, side: string): AsyncGenerator<StoreEntry> {
  let last: string | undefined;
  for await (const entry of source) {
    if (last !== undefined && compareKeys(last, entry.key) >= 0) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${side} stream is not in key order at ${JSON.stringify(entry.key)}`, {
        key: entry.key,
      });
    }
    last = entry.key;
    yield entry;
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
export async function compareStores(
  leftSource: EntrySource,
  rightSource: EntrySource,
  options: CompareOptions = {},
): Promise<StoreComparison> {
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
    excluded: [],
  };
  let details = 0;
  const note = (push: () => void): void => {
    result.equal = false;
    if (details++ < maxDetails) push();
  };

  const left = ordered(leftSource, 'left')[Symbol.asyncIterator]();
  const right = ordered(rightSource, 'right')[Symbol.asyncIterator]();
  const nextOf = async (it: AsyncIterator<StoreEntry>): Promise<StoreEntry | undefined> => {
    for (;;) {
      const step = await it.next();
      if (step.done) return undefined;
      if (!exclude.has(step.value.key)) return step.value;
      excluded.add(step.value.key);
    }
  };

  let a = await nextOf(left);
  let b = await nextOf(right);
  while (a !== undefined || b !== undefined) {
    const order = a === undefined ? 1 : b === undefined ? -1 : compareKeys(a.key, b.key);
    if (order < 0 && a) {
      leftDigest.addDigest(a.key, a.digest ?? canonicalDigest(a.record));
      const entry = a;
      note(() => result.onlyLeft.push(entry));
      a = await nextOf(left);
    } else if (order > 0 && b) {
      rightDigest.addDigest(b.key, b.digest ?? canonicalDigest(b.record));
      const entry = b;
      note(() => result.onlyRight.push(entry));
      b = await nextOf(right);
    } else if (a && b) {
      const [da, db] = digestsOf(a, b);
      leftDigest.addDigest(a.key, da);
      rightDigest.addDigest(b.key, db);
      if (da !== db) {
        const [x, y] = [a, b];
        note(() => result.differing.push({ key: x.key, leftDigest: da, rightDigest: db, fields: diffRecords(x.record, y.record) }));
      }
      a = await nextOf(left);
      b = await nextOf(right);
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
  for await (const entry of ordered(source, 'store')) if (!exclude.has(entry.key)) digest.add(entry.key, entry.record);
  return { count: digest.size, digest: digest.digest() };
}
