// verify's comparison, a chain at a time. Each chain's network file is read, parsed, printed and
// digested ahead on a worker thread (verdict-pool.ts, chain-verdict.ts) while this thread scans
// LevelDB and groups its rows by chain; this thread walks each chain's rows against its file's
// verdict (a string comparison per record where the two agree) and hands the chains to the
// comparison in key order, one batch per side. The workers so do the parsing, printing and
// hashing, a file each at a time; while every worker is busy, this thread works out a waiting file too.
import { decodeEntry, type LevelDbStore } from '@deploystate/backend-leveldb';
import type { JsonFileStore } from '@deploystate/backend-json';
import {
  compareKeys,
  compareStoreBatches,
  parseLossless,
  tryParseKey,
  type CompareOptions,
  type DeploymentRecord,
  type InvalidEntry,
  type StoreComparison,
  type StoreEntry,
} from '@deploystate/core';
import { walkChain, type ChainJob, type ChainVerdict, type FileVerdict } from './chain-verdict.js';
import { validateFile, type SchemaReport } from './file-validation.js';
import type { KnownFileDigests } from './file-digests.js';
import type { VerdictPool } from './verdict-pool.js';

const chainOrder = (a: number, b: number): number => compareKeys(`${a}-`, `${b}-`);

/** A LevelDB value as an entry: its digest as worked out, the record decoded only when asked for (a difference's details). */
class StoredEntry implements StoreEntry {
  private decoded: DeploymentRecord | undefined;

  constructor(
    readonly key: string,
    readonly digest: string,
    private readonly raw: string,
  ) {}

  get record(): DeploymentRecord {
    if (this.decoded === undefined) {
      const decoded = decodeEntry(this.key, this.raw);
      // A value given a digest decoded once already (on the worker), with this same code.
      if (!('record' in decoded)) throw new Error(`${this.key}: ${decoded.finding.message}`);
      this.decoded = decoded.record;
    }
    return this.decoded;
  }
}

/** A file's record as an entry: printing is exact and parsing its compact text gives the record back. */
class FileEntry implements StoreEntry {
  private parsed: DeploymentRecord | undefined;

  constructor(
    readonly key: string,
    readonly digest: string,
    private readonly text: string,
  ) {}

  get record(): DeploymentRecord {
    this.parsed ??= parseLossless(this.text) as DeploymentRecord;
    return this.parsed;
  }
}

/** What one chain hands the comparison: each side's entries and the entries it could not read. */
interface ChainBatches {
  left: StoreEntry[];
  leftInvalid: InvalidEntry[];
  right: StoreEntry[];
  rightInvalid: InvalidEntry[];
  verdict: ChainVerdict;
}

/** A chain's job and its verdict on the way, or LevelDB rows whose keys are not record keys. */
type Segment =
  | { job: ChainJob; keys: string[]; verdict: Promise<ChainVerdict>; batches?: Promise<ChainBatches> }
  | { rows: Array<[string, string]> };

interface Slot {
  promise: Promise<Segment | undefined>;
  resolve: (segment: Segment | undefined) => void;
  reject: (error: unknown) => void;
}

function slot(): Slot {
  let resolve!: Slot['resolve'];
  let reject!: Slot['reject'];
  const promise = new Promise<Segment | undefined>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited by both sides of the comparison, unless it ended first: never an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The segments in key order, read by both sides of the comparison, each at its own pace. The scan
 * stays at most `ahead` segments past the side that is furthest behind, so the chains held in
 * memory are those being compared and those on the workers, unless a side asks for a segment not
 * yet scanned: the comparison waits for it (one side may need to look past chains it holds nothing
 * of, such as LevelDB's chains without a file, while the other is still at the first of them).
 */
class SegmentFeed {
  private readonly slots: Array<Slot | undefined> = [];
  private pushed = 0;
  private end: { error?: unknown } | undefined;
  // Per side (0: LevelDB's, 1: the JSON one), the segments it is done with.
  private readonly done = [0, 0];
  // The furthest segment a side has asked for.
  private wanted = -1;
  private wake: (() => void) | undefined;
  stopped = false;

  constructor(private readonly ahead: number) {}

  private at(i: number): Slot {
    while (this.slots.length <= i) {
      const next = slot();
      if (this.end && this.slots.length >= this.pushed) {
        if ('error' in this.end) next.reject(this.end.error);
        else next.resolve(undefined);
      }
      this.slots.push(next);
    }
    return this.slots[i] as Slot;
  }

  push(segment: Segment): void {
    this.at(this.pushed++).resolve(segment);
  }

  finish(error?: unknown): void {
    this.end = error === undefined ? {} : { error };
    for (let i = this.pushed; i < this.slots.length; i++) {
      if (error === undefined) this.slots[i]?.resolve(undefined);
      else this.slots[i]?.reject(error);
    }
  }

  /** The i-th segment (undefined past the last). */
  next(i: number): Promise<Segment | undefined> {
    if (i >= this.pushed) {
      this.wanted = Math.max(this.wanted, i);
      this.wake?.();
    }
    return this.at(i).promise;
  }

  /** One side is done with the i-th segment; once both are, it is let go. */
  passed(side: 0 | 1, i: number): void {
    this.done[side] = i + 1;
    if (Math.min(this.done[0] as number, this.done[1] as number) > i) this.slots[i] = undefined;
    this.wake?.();
  }

  /** Waits until the scan may push another segment (or the comparison has stopped). */
  async room(): Promise<void> {
    while (!this.stopped && this.wanted < this.pushed && this.pushed - Math.min(this.done[0] as number, this.done[1] as number) >= this.ahead) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}

export interface ChainComparison {
  leveldb: LevelDbStore;
  json: JsonFileStore;
  /** Per chain with a state file, in chain order: the file the store reads (compared) and any others (only validated). */
  files: ReadonlyMap<number, { read: string; others: string[] }>;
  pool: VerdictPool;
  onLeftInvalid: (entry: InvalidEntry) => void;
  onRightInvalid: (entry: InvalidEntry) => void;
  /** The schema validation of every state file compared, added to as each chain is. */
  schema: SchemaReport;
  /** Each compared file's record digests, for the co-owned files check after the comparison. */
  known: KnownFileDigests;
  /** Called once the scan has read all of LevelDB (the rest is the workers' and the comparison's). */
  onScanned?: () => void;
  /** Called once the first files are on their way to the pool (before the scan begins). */
  onFilesQueued?: () => void;
}

/**
 * The chains' files read, parsed, validated and printed on the pool ahead of the scan, in chain
 * order, at most `ahead` not yet taken: a file needs no LevelDB value, so the workers start on the
 * first files while this thread scans, instead of waiting for each chain's rows. Each chain's values
 * are then walked against its file's verdict on this thread (walkChain), which holds them.
 */
class FileReadAhead {
  private readonly order: number[];
  private next = 0;
  private readonly waiting = new Map<number, Promise<FileVerdict>>();

  constructor(
    private readonly c: ChainComparison,
    private readonly ahead: number,
  ) {
    this.order = [...c.files.keys()];
    this.fill();
  }

  /** The chain's file verdict (read now if it was not read ahead); the next file starts. */
  take(chainId: number): Promise<FileVerdict> {
    const verdict = this.waiting.get(chainId) ?? this.start(chainId);
    this.waiting.delete(chainId);
    // Every chain before it was taken (the scan goes in chain order): none of them is read now.
    const at = this.order.indexOf(chainId, this.next);
    if (at >= 0) this.next = at + 1;
    this.fill();
    return verdict;
  }

  private fill(): void {
    while (this.waiting.size < this.ahead && this.next < this.order.length) {
      const chainId = this.order[this.next++] as number;
      this.waiting.set(chainId, this.start(chainId));
    }
  }

  private start(chainId: number): Promise<FileVerdict> {
    const verdict = this.c.pool.file({ chainId, file: this.c.files.get(chainId)?.read as string });
    // Awaited by the chain's segment, unless the comparison ended first: never an unhandled rejection.
    verdict.catch(() => undefined);
    return verdict;
  }
}

/**
 * Files read ahead and not yet reached by the scan, at most: two per thread and one more. A thread
 * taken by a chain then still finds the next file waiting when it is done (with one ahead per
 * thread, the worker sat idle 0.3-0.6 s each time this thread held the scan back by working out a
 * file itself), while a store of many chains holds a few files' texts at a time, not all of them.
 */
const FILES_AHEAD = (threads: number): number => 2 * (threads + 1) + 1;

/** Scans LevelDB and pushes every chain's job (with its verdict under way) and every row that is not a record key, in key order. */
async function scan(c: ChainComparison, feed: SegmentFeed, reads: FileReadAhead): Promise<void> {
  const fileChains = [...c.files.keys()];
  let nextFile = 0;
  let job: ChainJob | undefined;
  // The chain's LevelDB keys, kept here (the worker needs only the names).
  let keys: string[] = [];
  let prefix = '';
  let odd: Array<[string, string]> = [];
  const push = async (segment: ChainJob | Array<[string, string]>, jobKeys: string[] = []): Promise<boolean> => {
    await feed.room();
    if (feed.stopped) return false;
    if (Array.isArray(segment)) feed.push({ rows: segment });
    else {
      // A chain with a file: its values walked here against the file read ahead; without one, decoded on the pool.
      const verdict = segment.file === undefined ? c.pool.run(segment) : reads.take(segment.chainId).then((file) => walkChain(segment, file));
      verdict.catch(() => undefined);
      feed.push({ job: segment, keys: jobKeys, verdict });
    }
    return true;
  };
  // The chain scanned so far, then the odd rows after it, then the chains with a file only that come before `until`.
  const settle = async (until: number | undefined): Promise<boolean> => {
    if (job && !(await push(job, keys))) return false;
    job = undefined;
    if (odd.length > 0 && !(await push(odd))) return false;
    odd = [];
    while (nextFile < fileChains.length && (until === undefined || chainOrder(fileChains[nextFile] as number, until) < 0)) {
      const chainId = fileChains[nextFile++] as number;
      if (!(await push({ chainId, file: c.files.get(chainId)?.read as string, names: [], raws: [] }))) return false;
    }
    return true;
  };
  for await (const rows of c.leveldb.iterateRaw()) {
    for (const [key, raw] of rows) {
      if (job && key.length > prefix.length && key.startsWith(prefix)) {
        job.names.push(key.slice(prefix.length));
        job.raws.push(raw);
        keys.push(key);
        continue;
      }
      const place = tryParseKey(key);
      if (!place) {
        odd.push([key, raw]);
        continue;
      }
      if (!(await settle(place.chainId))) return;
      const hasFile = fileChains[nextFile] === place.chainId;
      if (hasFile) nextFile++;
      keys = [key];
      job = { chainId: place.chainId, ...(hasFile && { file: c.files.get(place.chainId)?.read }), names: [place.contractName], raws: [raw] };
      prefix = `${place.chainId}-`;
    }
  }
  if (!(await settle(undefined))) return;
  c.pool.finish();
  c.onScanned?.();
}

/** A chain's entries for both sides, from its verdict; a file that is not a state file of the chain is read through the store, as alone. */
async function chainBatches(c: ChainComparison, job: ChainJob, keys: readonly string[], verdict: ChainVerdict): Promise<ChainBatches> {
  const out: ChainBatches = { left: [], leftInvalid: [...verdict.leftInvalid], right: [], rightInvalid: [], verdict };
  const { chainId } = job;
  if (!verdict.parsed) {
    keys.forEach((key, i) => {
      const decoded = decodeEntry(key, job.raws[i] as string);
      if ('record' in decoded) out.left.push({ key, record: decoded.record });
      else out.leftInvalid.push(decoded);
    });
    for await (const entry of c.json.iterate({ chainId, onInvalid: (entry) => out.rightInvalid.push(entry) })) out.right.push(entry);
    return out;
  }
  for (const [name, finding] of verdict.rightInvalid) out.rightInvalid.push({ key: `${chainId}-${name}`, finding });
  const { left, right, leftAt, rightTexts } = verdict;
  const names = verdict.names ?? job.names;
  for (let i = 0; i < names.length; i++) {
    const l = left[i] as string;
    const r = right[i] as string | null;
    const at = leftAt ? (leftAt[i] as number) : i;
    if (l === '' && r === '') continue;
    const key = at >= 0 ? (keys[at] as string) : `${chainId}-${names[i] as string}`;
    const stored = l === '' ? undefined : new StoredEntry(key, l, job.raws[at] as string);
    if (stored) out.left.push(stored);
    // The same digest: one entry serves both sides (it is never asked for its record).
    if (r === null) out.right.push(stored as StoredEntry);
    else if (r !== '') out.right.push(new FileEntry(key, r, rightTexts[i] as string));
  }
  return out;
}

function batchesOf(c: ChainComparison, segment: Exclude<Segment, { rows: unknown }>): Promise<ChainBatches> {
  segment.batches ??= segment.verdict.then((verdict) => chainBatches(c, segment.job, segment.keys, verdict));
  return segment.batches;
}

/** LevelDB's side: each chain's entries, its undecodable values and odd rows reported as they are reached. */
async function* leftSide(c: ChainComparison, feed: SegmentFeed): AsyncGenerator<StoreEntry[]> {
  for (let i = 0; ; i++) {
    const segment = await feed.next(i);
    if (!segment) return;
    if ('rows' in segment) {
      const entries: StoreEntry[] = [];
      for (const [key, raw] of segment.rows) {
        const decoded = decodeEntry(key, raw);
        if ('record' in decoded) entries.push({ key, record: decoded.record });
        else c.onLeftInvalid(decoded);
      }
      yield entries;
    } else {
      const batches = await batchesOf(c, segment);
      for (const entry of batches.leftInvalid) c.onLeftInvalid(entry);
      yield batches.left;
    }
    feed.passed(0, i);
  }
}

/** The JSON side: each chain's file records, its schema validation and its records' digests noted for the co-owned check. */
async function* rightSide(c: ChainComparison, feed: SegmentFeed): AsyncGenerator<StoreEntry[]> {
  for (let i = 0; ; i++) {
    const segment = await feed.next(i);
    if (!segment) return;
    if (!('rows' in segment)) {
      const files = c.files.get(segment.job.chainId);
      for (const other of files?.others ?? []) await validateFile(other, c.schema);
      const batches = await batchesOf(c, segment);
      const { verdict } = batches;
      if (verdict.file !== undefined && !verdict.parsed) await validateFile(verdict.file, c.schema);
      if (verdict.parsed && verdict.file !== undefined) noteFile(c, verdict, segment.job);
      for (const entry of batches.rightInvalid) c.onRightInvalid(entry);
      yield batches.right;
    }
    feed.passed(1, i);
  }
}

/** The parsed file's schema validation, and each record's digest for the co-owned check (while the file is as it was read). */
function noteFile(c: ChainComparison, verdict: ChainVerdict, job: ChainJob): void {
  c.schema.files += verdict.schema.files;
  c.schema.errors.push(...verdict.schema.errors);
  c.schema.skipped.push(...verdict.schema.skipped);
  const seen = c.known.begin(verdict.file as string, verdict.before);
  if (!seen) return;
  const { left, right, timestamps } = verdict;
  const names = verdict.names ?? job.names;
  for (let i = 0; i < names.length; i++) {
    const digest = right[i] === null ? left[i] : right[i];
    if (digest) seen.records.set(names[i] as string, { digest, timestamp: timestamps[i] as string });
  }
  for (const [name] of verdict.rightInvalid) seen.invalid.add(name);
}

/** Compares LevelDB and the state files chain by chain (see the top of this file). */
export async function compareByChain(c: ChainComparison, options: CompareOptions): Promise<StoreComparison> {
  // Chains under way: one on each worker and one on this thread, and the one compared.
  const feed = new SegmentFeed(c.pool.threads + 2);
  const reads = new FileReadAhead(c, FILES_AHEAD(c.pool.threads));
  c.onFilesQueued?.();
  const scanned = scan(c, feed, reads).then(
    () => feed.finish(),
    (error: unknown) => feed.finish(error),
  );
  try {
    return await compareStoreBatches(leftSide(c, feed), rightSide(c, feed), options);
  } finally {
    feed.stop();
    await scanned;
  }
}
