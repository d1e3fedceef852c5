// The written.json baseline of co-owned network files: per key, the last write the store made to JSON, folded from the journal.
import { existsSync, statSync, type BigIntStats } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStateFile, readStateFileBytes, withFileLock } from '@deploystate/backend-json';
import { canonicalDigest, ErrorCodes, isStateError, NetworkRegistry, type DeploymentRecord } from '@deploystate/core';
import { BaselineUnreadable, BaselineWriter, openBaseline, writeBaseline, type BaselineReader } from './written-file.js';
import { SpillFolder, type RecordSpill, type WrittenRecords } from './written-records.js';
import { Journal, writerAlive, type IntentEntry } from './journal.js';
import { resolvePaths, stateFiles } from './paths.js';
import type { MigrationContext } from './context.js';
import type { MigrationOptions, MigrationPhase } from './types.js';

/** The last write the store made to a key in JSON. */
export interface WrittenEntry {
  /**
   * The journal seq of the write's intent (its record is read back from there for a repair); 0 for
   * a record the product wrote without the journal (the copy, a restore, an import), which a
   * repair takes from LevelDB when LevelDB holds exactly it.
   */
  seq: number;
  op: 'put' | 'delete';
  /** canonicalDigest of the record written; null for a delete. */
  digest: string | null;
  /** The record's timestamp, in decimal (any size); for a delete, the write's time in ms. */
  timestamp: string;
  /**
   * Writes of the key by other scripts at the same time (each finished after this one began), any
   * of which may have replaced the file after it: what the file holds may be theirs, until the
   * key's next write.
   */
  also?: WrittenEntry[];
}

/** A write with no outcome, as the files check sees it: its entry, the phase it was routed in, and whether its process is gone. */
export type OpenWrite = WrittenEntry & { phase: MigrationPhase; cutOff: boolean };

export interface Baseline {
  version: 1;
  /** Every write up to this seq is folded into `written`. */
  scannedSeq: number;
  written: Record<string, WrittenEntry>;
}

export interface CoownedContext {
  stateDir: string;
  deployments: string;
  registry: NetworkRegistry;
  journal: Journal;
}

/** The files a migration command works with, as this module needs them. */
export function coownedContext(ctx: Pick<MigrationContext, 'files' | 'registry' | 'journal'>): CoownedContext {
  return { stateDir: ctx.files.stateDir, deployments: ctx.files.deployments, registry: ctx.registry, journal: ctx.journal };
}

const BASELINE_FILE = 'written.json';
const emptyBaseline = (): Baseline => ({ version: 1, scannedSeq: 0, written: {} });

function baselinePath(ctx: Pick<CoownedContext, 'stateDir'>): string {
  return join(ctx.stateDir, BASELINE_FILE);
}

/** Whether written.json exists (where it does not, the first check makes it from the files as they are then). */
export function hasBaseline(ctx: Pick<CoownedContext, 'stateDir'>): boolean {
  return existsSync(baselinePath(ctx));
}

/**
 * The baseline as recorded. Where none was ever recorded (a store migrated before this existed),
 * the records the files hold now are the start, and the whole journal is folded over them.
 */
async function readBaseline(ctx: CoownedContext): Promise<Baseline> {
  return (await readRecorded(ctx)).baseline;
}

/** written.json read ahead of its lock, with the stat signature it had before and after the read. */
export interface BaselineAhead {
  signature: string;
  baseline: Promise<Baseline | undefined>;
}

// A file modified this close to a read may be changed again within one timestamp tick, leaving the
// same signature (git's "racy" rule): such a read is not taken.
const RACY_MS = 25;

/** Whether written.json was last written long enough ago that a read of it now can be taken (see readBaselineAhead). */
export function baselineSettled(ctx: Pick<CoownedContext, 'stateDir'>): boolean {
  const stats = statSync(baselinePath(ctx), { bigint: true, throwIfNoEntry: false });
  return stats !== undefined && Date.now() - Number(stats.mtimeNs / 1_000_000n) > RACY_MS;
}

/**
 * Reads and parses written.json now, outside its lock (verify does, while its comparison runs on
 * other threads). The check under the lock takes it only while the file keeps the signature it had
 * before and after this read (readRecorded); a write to it in between, or one too close to the read
 * to tell by its stat, leaves it unused.
 */
export function readBaselineAhead(ctx: Pick<CoownedContext, 'stateDir'>): BaselineAhead | undefined {
  const path = baselinePath(ctx);
  const signature = signatureOf(path);
  if (signature === undefined) return undefined;
  const read = async (): Promise<Baseline | undefined> => {
    const text = await readFile(path, 'utf8');
    const after = statSync(path, { bigint: true, throwIfNoEntry: false });
    const settled = after !== undefined && signatureText(after) === signature && Date.now() - Number(after.mtimeNs / 1_000_000n) > RACY_MS;
    return settled ? parseRecorded(text) : undefined;
  };
  return { signature, baseline: read().catch(() => undefined) };
}

/** The baseline a written.json text holds, or undefined when it is not one (cut short, another shape). */
function parseRecorded(text: string): Baseline | undefined {
  try {
    // Native JSON: the file holds only strings and journal sequence numbers (safe integers), and
    // at 100k records it is about 19 MB, which the lossless codec reads and prints several times slower.
    const parsed = JSON.parse(text) as Baseline;
    if (parsed?.version === 1 && typeof parsed.scannedSeq === 'number' && typeof parsed.written === 'object') return parsed;
  } catch {
    // below
  }
  return undefined;
}

/**
 * readBaseline, and whether it is the file's content as recorded (not a start made up for an absent
 * or unreadable file). `ahead`: the file read before, taken when the file still has its signature.
 */
async function readRecorded(ctx: CoownedContext, ahead?: BaselineAhead): Promise<{ baseline: Baseline; recorded: boolean }> {
  if (ahead !== undefined && signatureOf(baselinePath(ctx)) === ahead.signature) {
    const baseline = await ahead.baseline;
    if (baseline !== undefined) return { baseline, recorded: true };
  }
  let text: string;
  try {
    text = await readFile(baselinePath(ctx), 'utf8');
  } catch {
    const start = emptyBaseline();
    await adoptFiles(ctx, start, await chainsInFolder(ctx));
    return { baseline: start, recorded: false };
  }
  const parsed = parseRecorded(text);
  // A baseline cut short is rebuilt from the whole journal: slower, never wrong.
  return parsed ? { baseline: parsed, recorded: true } : { baseline: emptyBaseline(), recorded: false };
}

/**
 * Read, change and write the baseline under its own lock (one short lock; the journal is read
 * inside). `unchanged(result)`: the change left a baseline read from its file as it was, so the
 * file is not written again (at 100k records its rewrite is a large part of a verify).
 * `foldOnly`: the change only folds the journal further (a check's record of how far it read), so
 * where the disk has no room for the new file (DISK_FULL) the recorded one stays and the result
 * stands: the next check folds the same writes again. At 100k records the file is about 19 MB, and
 * a rollback on a full disk must not stop for it.
 */
export async function updateBaseline<T>(
  ctx: CoownedContext,
  change: (baseline: Baseline) => Promise<T>,
  unchanged: (result: T) => boolean = () => false,
  ahead?: BaselineAhead,
  foldOnly = false,
): Promise<T> {
  const file = baselinePath(ctx);
  return withFileLock(
    file,
    async () => {
      const { baseline, recorded } = await readRecorded(ctx, ahead);
      const result = await change(baseline);
      if (recorded && unchanged(result)) return result;
      try {
        await writeBaseline(file, baseline, join(ctx.stateDir, 'tmp'));
      } catch (error) {
        if (!(foldOnly && recorded && isStateError(error, ErrorCodes.DISK_FULL))) throw error;
      }
      return result;
    },
    { lockDir: ctx.stateDir },
  );
}

export function timestampOf(record: DeploymentRecord): string {
  return String(record.timestamp);
}

function entryOf(intent: IntentEntry): WrittenEntry {
  return {
    seq: intent.seq,
    op: intent.op,
    digest: intent.digest,
    timestamp: intent.op === 'put' && intent.record ? timestampOf(intent.record) : String(Date.parse(intent.time) || 0),
  };
}

/**
 * Folds the journal after `baseline.scannedSeq` into it: each write that reached JSON (outcome ok)
 * becomes its key's entry. Folding stops before the first write still in flight (its writer alive),
 * so `scannedSeq` never passes a write that may yet complete; writes after it that completed are
 * returned (`unfolded`), to be checked now but folded next time. A write whose process died before
 * its outcome is passed: `open`, when given, gets it (with those in flight), as what the file may
 * hold instead of the key's entry, and the check adopts it where the file holds it (adoptCutOff).
 */
export async function fold(
  journal: Journal,
  baseline: Baseline,
  folded: { count: number } = { count: 0 },
  open?: Map<string, OpenWrite[]>,
): Promise<Map<string, WrittenEntry>> {
  const intents = new Map<number, IntentEntry>();
  // Each write that reached JSON, and the seq of its outcome.
  const ok = new Map<number, number>();
  const closed = new Set<number>();
  // A journal shorter than the baseline was replaced: fold the new one from its start.
  if ((await journal.lastSeq()) < baseline.scannedSeq) baseline.scannedSeq = 0;
  let lastSeq = baseline.scannedSeq;
  for await (const e of journal.entries({ sinceSeq: baseline.scannedSeq, onEnd: (end) => (lastSeq = end.lastSeq) })) {
    if (e.type === 'intent' && !e.probe) intents.set(e.seq, e);
    else if (e.type === 'outcome' && intents.has(e.ref)) {
      closed.add(e.ref);
      if (e.outcome === 'ok') ok.set(e.ref, e.seq);
    }
  }
  const unfolded = new Map<string, WrittenEntry>();
  // Per key, this pass's writes that reached JSON, with the seq of their outcome. The journal orders
  // writes by their intents, written before each JSON write: two scripts writing one key at once may
  // replace the file in the other order. (A write folded in an earlier pass finished before any
  // write of this one began: folding never passes a write in flight.)
  const recent = new Map<string, Array<{ entry: WrittenEntry; doneAt: number }>>();
  let settled = true;
  for (const [seq, intent] of intents) {
    if (!closed.has(seq)) {
      const alive = writerAlive(intent);
      open?.set(intent.key, [...(open.get(intent.key) ?? []), { ...entryOf(intent), phase: intent.phase, cutOff: !alive }]);
      if (!alive) continue;
      if (settled) baseline.scannedSeq = seq - 1;
      settled = false;
      continue;
    }
    const doneAt = ok.get(seq);
    if (doneAt === undefined) continue;
    const entry = entryOf(intent);
    const overlapping = (recent.get(intent.key) ?? []).filter((write) => write.doneAt > seq);
    if (overlapping.length > 0) entry.also = overlapping.map((write) => write.entry);
    recent.set(intent.key, [...overlapping, { entry: { ...entry, also: undefined }, doneAt }]);
    if (settled) {
      baseline.written[intent.key] = entry;
      folded.count++;
    } else unfolded.set(intent.key, entry);
  }
  if (settled) baseline.scannedSeq = Math.max(baseline.scannedSeq, lastSeq);
  return unfolded;
}

/**
 * A network file's text, read as the store reads it (a FIFO or link in its place is refused at once,
 * never waited on); null when nothing is there.
 */
export async function networkFileText(file: string): Promise<string | null> {
  const bytes = await readStateFileBytes(file);
  return bytes === undefined ? null : bytes.toString('utf8');
}

export function fileOf(ctx: CoownedContext, chainId: number): string {
  return join(ctx.deployments, ctx.registry.fileName(chainId));
}

/** Baselines this process folded, by file, with the signature of the file they were read from. */
const foldedCache = new Map<string, { signature: string; baseline: Baseline }>();

/**
 * The baseline with the journal folded in, without writing it. While written.json is unchanged the
 * fold of the last call is continued (from its first write in flight), so a deploy script's checks
 * read only what was journalled since, never the whole journal again.
 */
export async function foldedBaseline(
  ctx: CoownedContext,
): Promise<{ baseline: Baseline; unfolded: Map<string, WrittenEntry>; open: Map<string, OpenWrite[]> }> {
  const path = baselinePath(ctx);
  // The first check anywhere records the start, so the files as they are now (not as a later rewrite leaves them) are it.
  if (signatureOf(path) === undefined) await updateBaseline(ctx, (baseline) => fold(ctx.journal, baseline));
  const signature = signatureOf(path) ?? 'absent';
  const hit = foldedCache.get(path);
  const baseline = hit && hit.signature === signature ? hit.baseline : await readBaseline(ctx);
  const open = new Map<string, OpenWrite[]>();
  const unfolded = await fold(ctx.journal, baseline, undefined, open);
  foldedCache.set(path, { signature, baseline });
  return { baseline, unfolded, open };
}

/** The chains whose state file is in the deployments folder. */
export async function chainsInFolder(ctx: CoownedContext): Promise<Set<number>> {
  const chains = new Set<number>();
  const names = await readdir(ctx.deployments).catch(() => [] as string[]);
  for (const name of names) {
    const chainId = ctx.registry.chainIdOfFile(name);
    if (chainId !== undefined && fileOf(ctx, chainId) === join(ctx.deployments, name)) chains.add(chainId);
  }
  return chains;
}

/**
 * After a write the product made itself (copy, restore, import): every record the named chains'
 * files hold now (all chains by default) is the new baseline, and keys they no longer hold leave it.
 * A file that cannot be read keeps its old baseline. `known`: what the writer itself recorded of
 * files it wrote; a file still exactly as written is taken from there, any other is read and parsed.
 * The baseline is rewritten entry by entry and each file's records go through a spill file, so
 * this holds one network file's records at a time, never the whole store's baseline.
 */
export async function moveBaseline(ctx: CoownedContext, chains?: ReadonlySet<number>, known?: WrittenRecords): Promise<void> {
  const file = baselinePath(ctx);
  const spills = new SpillFolder(join(ctx.stateDir, 'tmp'));
  try {
    await withFileLock(
      file,
      async () => {
        let old: BaselineReader | undefined;
        let unreadable = false;
        try {
          old = await openBaseline(file);
        } catch (error) {
          if (!(error instanceof BaselineUnreadable)) throw error;
          unreadable = true;
        }
        const adopted = new Map<number, AdoptedChain>();
        for (const chainId of chains ?? (await chainsInFolder(ctx))) {
          const spill = await spilledRecords(ctx, chainId, spills, known);
          if (spill) adopted.set(chainId, { spill, underJournal: false });
        }
        // None recorded yet: the files as they are now are the start, with the journal folded over them (as readBaseline does).
        if (!old && !unreadable) {
          for (const chainId of await chainsInFolder(ctx)) {
            if (adopted.has(chainId)) continue;
            const spill = await spilledRecords(ctx, chainId, spills);
            if (spill) adopted.set(chainId, { spill, underJournal: true });
          }
        }
        try {
          await rewriteBaseline(ctx, old, adopted);
        } catch (error) {
          // A baseline cut short is rebuilt from the whole journal: slower, never wrong.
          if (!(error instanceof BaselineUnreadable)) throw error;
          await rewriteBaseline(ctx, undefined, adopted);
        }
      },
      { lockDir: ctx.stateDir },
    );
  } finally {
    await spills.remove();
  }
}

/** A chain whose file's records replace its entries; `underJournal`: writes folded from the journal still win over them. */
interface AdoptedChain {
  spill: RecordSpill;
  underJournal: boolean;
}

const chainOfEntry = (key: string): number => Number(key.slice(0, key.indexOf('-')));

/** The baseline file rewritten: `old`'s entries with the journal folded over them, the adopted chains' entries replaced. */
async function rewriteBaseline(ctx: CoownedContext, old: BaselineReader | undefined, adopted: ReadonlyMap<number, AdoptedChain>): Promise<void> {
  const delta: Baseline = { version: 1, scannedSeq: old?.scannedSeq ?? 0, written: {} };
  await fold(ctx.journal, delta);
  const folded = (key: string): boolean => Object.hasOwn(delta.written, key);
  const replaced = (key: string): boolean => adopted.get(chainOfEntry(key))?.underJournal === false;
  const writer = await BaselineWriter.create(baselinePath(ctx), join(ctx.stateDir, 'tmp'), delta.scannedSeq);
  try {
    if (old) for await (const [key, entry] of old.entries()) if (!folded(key) && !adopted.has(chainOfEntry(key))) await writer.add(key, entry);
    for (const key of Object.keys(delta.written)) if (!replaced(key)) await writer.add(key, delta.written[key] as WrittenEntry);
    for (const { spill, underJournal } of adopted.values()) {
      if (underJournal) {
        for await (const [key, entry] of spill.records()) if (!folded(key)) await writer.add(key, entry);
      } else {
        // Every entry stays: copied as printed, with no parse or print per record.
        for await (const text of spill.printed()) await writer.addPrinted(text);
      }
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit();
}

/** Each record a chain's file holds now, from the writer's record of it or parsed; undefined when the file cannot be read. */
async function spilledRecords(ctx: CoownedContext, chainId: number, spills: SpillFolder, known?: WrittenRecords): Promise<RecordSpill | undefined> {
  const taken = known?.take(fileOf(ctx, chainId));
  if (taken) return taken;
  const records = await recordsInFile(ctx, chainId);
  if (!records) return undefined;
  const spill = await spills.spill(chainId);
  for (const [name, { digest, timestamp }] of records) await spill.add(name, digest, timestamp);
  await spill.close();
  return spill;
}

type AdoptedRecords = Iterable<[string, { digest: string; timestamp: string }]>;

/** Each record of a chain's file now with its digest and timestamp; undefined when the file cannot be read. */
async function recordsInFile(ctx: CoownedContext, chainId: number): Promise<AdoptedRecords | undefined> {
  const file = fileOf(ctx, chainId);
  let records: Map<string, DeploymentRecord>;
  try {
    const text = await networkFileText(file);
    records = text === null ? new Map() : parseStateFile(text, file, chainId).records;
  } catch {
    return undefined;
  }
  return (function* () {
    for (const [name, record] of records) yield [name, { digest: canonicalDigest(record), timestamp: timestampOf(record) }];
  })();
}

/** The records the chains' files hold now replace the chains' entries (a file that cannot be read keeps its own). */
async function adoptFiles(ctx: CoownedContext, baseline: Baseline, chains: Iterable<number>): Promise<void> {
  for (const chainId of chains) {
    const records = await recordsInFile(ctx, chainId);
    if (!records) continue;
    const prefix = `${chainId}-`;
    for (const key of Object.keys(baseline.written)) if (key.startsWith(prefix)) delete baseline.written[key];
    for (const [name, { digest, timestamp }] of records) baseline.written[`${prefix}${name}`] = { seq: 0, op: 'put', digest, timestamp };
  }
}

/**
 * `moveBaseline` for a command that wrote network files without a Migration open (restore of a
 * JSON file, import into JSON): those are the product's own writes. Nothing to do without a journal.
 */
export async function acceptNetworkFiles(options: MigrationOptions, chains?: readonly number[]): Promise<void> {
  const files = stateFiles(resolvePaths(options));
  if (!existsSync(files.journal)) return;
  const journal = new Journal(files.journal);
  try {
    await moveBaseline(
      { stateDir: files.stateDir, deployments: files.deployments, registry: options.registry ?? new NetworkRegistry(), journal },
      chains === undefined ? undefined : new Set(chains),
    );
  } finally {
    await journal.close();
  }
}

/**
 * After a rollback's carry-back the JSON side is no longer written: the baseline starts afresh. On
 * a disk with no room for even the emptied file beside the old one, the old one goes first (its
 * room is what the new one takes; gone, a check would start from the files as they are).
 */
export async function forgetBaseline(ctx: CoownedContext): Promise<void> {
  const forget = (): Promise<void> =>
    updateBaseline(ctx, async (baseline) => {
      await fold(ctx.journal, baseline);
      baseline.written = {};
    });
  try {
    await forget();
  } catch (error) {
    if (!isStateError(error, ErrorCodes.DISK_FULL)) throw error;
    await rm(baselinePath(ctx), { force: true });
    await forget();
  }
}

export function signatureOf(file: string): string | undefined {
  try {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false });
    return s ? signatureText(s) : undefined;
  } catch {
    return undefined;
  }
}

/** The signature (signatureOf) of a file as one stat of it found it. */
export function signatureText(s: Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>): string {
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}
