// Phase 3, the bulk copy: JSON = LevelDB minus exclusions, one replaceChain per chain in key
// order, a checkpoint after each file, backups before the first write, and never overwriting a
// key that a deploy script wrote (journalled) after the copy's snapshot began.
import { basename } from 'node:path';
import { NewChainFile, type ReplaceChainResult } from '@deploystate/backend-json';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { decodeEntry } from '@deploystate/backend-leveldb';
import {
  canonicalDigest,
  canonicalDigests,
  compareKeys,
  ErrorCodes,
  parseKey,
  StateError,
  type DeploymentRecord,
  type InvalidEntry,
  type StateStore,
} from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import { finishCopy } from './copy-finish.js';
import { planCopy, type CopyRun } from './copy-plan.js';
import { underChainFence } from './copy-source.js';
import { chainOfKey, FreshChainCopy, newerKeys } from './copy-stream.js';
import { waitForOutcomes } from './journal-queries.js';
import { pushTiming, timing, updateState } from './state.js';
import { unreadableCollector, unreadableJsonError } from './unreadable.js';
import type { CopyProgress, CopyReport } from './types.js';
import type { WrittenFile, WrittenRecords } from './written-records.js';

export interface CopyOptions {
  dryRun?: boolean;
  /** Continue an interrupted copy from its checkpoint (default true). */
  resume?: boolean;
  /**
   * Records read between progress events (default 1000); each chain's end is an event too, and
   * only those are written to progress.json. Each network file is still written once.
   */
  batchSize?: number;
  exclude?: string[];
  onProgress?: (progress: CopyProgress) => void;
}

async function readChain(
  store: StateStore,
  chainId: number,
  skip: Set<string>,
  onInvalid: (entry: InvalidEntry) => void = () => undefined,
): Promise<Map<string, DeploymentRecord>> {
  const out = new Map<string, DeploymentRecord>();
  for await (const { key, record } of store.iterate({ chainId, onInvalid })) if (!skip.has(key)) out.set(key, record);
  return out;
}

/**
 * The records of one chain as LevelDB holds them, gathered from the single pass in key order:
 * parallel arrays (no map, no per-entry object), handed to replaceChain as they are, with each
 * record's digest from the pass so nothing hashes a record twice.
 */
interface ChainBatch {
  chainId: number;
  keys: string[];
  records: DeploymentRecord[];
  digests: string[];
}

const emptyBatch = (chainId: number): ChainBatch => ({ chainId, keys: [], records: [], digests: [] });

/**
 * `writtenRecords`, when given, receives each file the copy wrote with its records' digests and
 * timestamps, tied to the file's signature right after the write (the co-owned files baseline takes
 * a file still exactly as written from there instead of parsing and hashing it again).
 */
export async function bulkCopy(ctx: MigrationContext, options: CopyOptions = {}, writtenRecords?: WrittenRecords): Promise<CopyReport> {
  const run = await planCopy(ctx, options);
  if (writtenRecords) run.writtenRecords = writtenRecords;
  try {
    await copyPass(run);
    return await finishCopy(run);
  } finally {
    // A chain's end still going on when the pass failed ends first (its file in place or dropped).
    await run.finishing?.catch(() => undefined);
    // A pass that failed mid-chain leaves no temp file of the chain it was printing.
    await run.printing?.abort().catch(() => undefined);
    await run.json.close();
    await run.source.dispose();
  }
}

async function progress(run: CopyRun, chainId: number, persist: boolean): Promise<void> {
  const { ctx } = run;
  if (run.done > run.total) run.totalKnown = false;
  run.total = Math.max(run.total, run.done);
  const elapsed = Math.max(1, ctx.now() - run.started);
  const rate = (run.done / elapsed) * 1000;
  const p: CopyProgress = {
    done: run.done,
    total: run.total,
    totalKnown: run.totalKnown,
    rate,
    etaMs: rate > 0 && run.totalKnown ? Math.round(((run.total - run.done) / rate) * 1000) : 0,
    chainId,
    file: run.json.fileFor(chainId),
  };
  run.options.onProgress?.(p);
  if (persist && !run.dryRun)
    await writeFileDurable(ctx.files.progress, `${JSON.stringify({ ...p, at: isoNow(ctx), pid: process.pid }, null, 2)}\n`);
}

/**
 * One pass over LevelDB in key order: key order groups each chain. A chain with no state file is
 * written as it is read (nothing of it held); a chain with a file has its records held until its
 * end, to be compared with the file's (memory bounded by the largest network file, not the store).
 * Then the chains only JSON holds.
 */
async function copyPass(run: CopyRun): Promise<void> {
  const { source, json, exclusions } = run;
  let batch: ChainBatch | undefined;
  let chain: number | undefined;
  const jsonChains = new Set((await json.listStateFiles()).map((f) => f.chainId));
  const flush = async (): Promise<void> => {
    if (run.printing) {
      const done = run.printing;
      run.printing = undefined;
      // Its end (fsyncs, a rename, the state's checkpoint) goes on while the pass reads and prints the
      // next chain: one end at a time, in chain order, each after the one before has succeeded.
      finishing(run, done, run.blocking.length > 0);
    }
    if (!batch) return;
    await run.finishing;
    jsonChains.delete(batch.chainId);
    const ready = batch;
    // Released before the chain is written, so the pass holds one chain, not two.
    batch = undefined;
    // After a record that cannot be migrated, nothing more is written: the run stops listing them all.
    if (run.blocking.length === 0) await underChainFence(run, () => copyChain(run, ready));
  };
  const startChain = async (id: number): Promise<void> => {
    chain = id;
    // A chain a resumed copy finished is read for the digests only.
    if (run.chainsDone.has(id)) return;
    if (jsonChains.has(id)) batch = emptyBatch(id);
    else run.printing = new FreshChainCopy(run, id);
  };
  // Records of the chain being printed as read, handed to it a run at a time (one wait, not one per record).
  const toPrint = emptyBatch(0);
  const print = async (): Promise<void> => {
    if (toPrint.records.length === 0) return;
    await run.printing?.add(toPrint.records, toPrint.digests);
    toPrint.records = [];
    toPrint.digests = [];
  };
  run.backups.passStarted();
  // The snapshot's rows a batch at a time, each decoded here as the store's iterate decodes it (no
  // generator step per record), and the batch's records digested together (one print for them all).
  for await (const rows of source.store.iterateRaw()) {
    const decoded = rows.map(([key, raw]) => decodeEntry(key, raw));
    const records: DeploymentRecord[] = [];
    for (const entry of decoded) if ('record' in entry) records.push(entry.record);
    const digests = canonicalDigests(records);
    let next = 0;
    for (let i = 0; i < rows.length; i++) {
      const entry = decoded[i] as ReturnType<typeof decodeEntry>;
      const key = (rows[i] as [string, string])[0];
      if (!('record' in entry)) {
        await print();
        run.unmigratable.add(key);
        run.undecodable.push(key);
        if (!exclusions.has(key)) run.blocking.push(key);
        continue;
      }
      const { record } = entry;
      const recordDigest = digests[next++] as string;
      if (chain !== record.chainId) {
        await print();
        await flush();
        await startChain(record.chainId);
      }
      run.done++;
      run.passDigest.addDigest(key, recordDigest);
      if (exclusions.has(key)) continue;
      if (run.digest !== run.passDigest) run.digest.addDigest(key, recordDigest);
      if (run.printing) {
        toPrint.records.push(record);
        toPrint.digests.push(recordDigest);
      } else if (batch) {
        batch.keys.push(key);
        batch.records.push(record);
        batch.digests.push(recordDigest);
      }
      if (run.done % run.batchSize === 0) {
        await print();
        await progress(run, record.chainId, false);
      }
    }
    await print();
  }
  await flush();
  await run.finishing;
  await run.backups.passEnded(run.passDigest, run.undecodable);
  // Chains that only JSON holds: their records are stale (LevelDB is the source) unless excluded.
  for (const chainId of [...jsonChains].sort((a, b) => compareKeys(`${a}-`, `${b}-`))) {
    if (run.blocking.length === 0) await underChainFence(run, () => copyChain(run, emptyBatch(chainId)));
  }
}

/**
 * Starts the end of a chain printed as read (finishFresh) once the end before it is done, as
 * `run.finishing`; a failed end before it drops this chain's file and fails it too. `blocked`: a
 * record that cannot be migrated was read before the chain ended.
 */
function finishing(run: CopyRun, fresh: FreshChainCopy, blocked: boolean): void {
  const before = run.finishing;
  const end = async (): Promise<void> => {
    try {
      await before;
    } catch (error) {
      await fresh.abort().catch(() => undefined);
      throw error;
    }
    // Its look at the journal and its placing under the fence, as copyChain's: a drain lands wholly before or after.
    await underChainFence(run, () => finishFresh(run, fresh, blocked));
  };
  const ending = end();
  // Awaited by the next chain's end, the pass's end, or bulkCopy's cleanup: never left unhandled.
  ending.catch(() => undefined);
  run.finishing = ending;
}

/**
 * The end of a chain printed as read: in place, then recorded as copyChain records a chain; one that
 * must be copied again (see FreshChainCopy.finish) is read once more and copied as a chain with a file.
 */
async function finishFresh(run: CopyRun, fresh: FreshChainCopy, blocked: boolean): Promise<void> {
  const { ctx, leveldb, json, exclusions, dryRun } = run;
  const { chainId } = fresh;
  // After a record that cannot be migrated, nothing more is written: the run stops listing them all.
  if (blocked) return fresh.abort();
  const outcome = await fresh.finish();
  if (!outcome.placed) return copyChain(run, await readBatch(run, chainId));
  if (!dryRun) {
    const { seqAtRead } = outcome;
    const inChain = (key: string): boolean => chainOfKey(key) === chainId;
    await reapplyJournalled(ctx, leveldb, json, seqAtRead, inChain, new Set([...exclusions, ...run.unmigratable]), 0);
  }
  await chainDone(run, chainId);
}

/** One chain's records as the copy's snapshot holds them, minus exclusions (a second read, for the rare chain whose file appeared during its copy). */
async function readBatch(run: CopyRun, chainId: number): Promise<ChainBatch> {
  const batch = emptyBatch(chainId);
  for await (const { key, record } of run.source.store.iterate({ chainId })) {
    if (run.exclusions.has(key) || run.unmigratable.has(key)) continue;
    batch.keys.push(key);
    batch.records.push(record);
    batch.digests.push(canonicalDigest(record));
  }
  return batch;
}

/** The chain recorded as done (a resumed copy skips it) and its progress event. */
async function chainDone(run: CopyRun, chainId: number): Promise<void> {
  if (!run.dryRun) {
    await updateState(run.ctx.files, (s) => {
      if (s.copy && !s.copy.chainsDone.includes(chainId)) s.copy.chainsDone.push(chainId);
    });
  }
  await progress(run, chainId, true);
}

/** One chain's file made equal to LevelDB's records (minus exclusions and journalled keys), backed up first. */
async function copyChain(
  run: CopyRun,
  { chainId, keys: sourceKeys, records: sourceRecords, digests: sourceDigests }: ChainBatch,
): Promise<void> {
  const { ctx, leveldb, json, exclusions, report, dryRun } = run;
  if (run.chainsDone.has(chainId)) return;
  const file = json.fileFor(chainId);
  const inChain = (key: string): boolean => chainOfKey(key) === chainId;
  const seqAtRead = await ctx.journal.lastSeq();
  const unreadable = unreadableCollector('json', new Set(), ctx.files.deployments);
  const current = await readChain(json, chainId, new Set(), unreadable.onInvalid);
  // A file that cannot be read is refused before anything is written for its chain; an entry
  // that is not a record is replaced like a stale one (the file is backed up and the key listed),
  // unless the user excluded that key, whose JSON value the copy must keep.
  const whole = unreadable.entries.filter((u) => u.file !== undefined && basename(u.file) === u.key);
  const keptBroken = unreadable.entries.filter((u) => exclusions.has(u.key));
  const refused = unreadableJsonError(whole.length > 0 ? whole : keptBroken);
  if (refused) throw refused;
  const broken = new Set(unreadable.entries.map((u) => u.key));

  // A key a deploy script wrote after the snapshot began keeps the value JSON has now (null:
  // JSON has none); an excluded key keeps its JSON value. Few keys: the rest is LevelDB's, as read.
  const overrides = new Map<string, DeploymentRecord | null>();
  for (const key of await newerKeys(run, chainId)) {
    overrides.set(key, current.get(key) ?? null);
    report.skippedNewer.push(key);
  }
  for (const key of exclusions) {
    const kept = current.get(key);
    if (inChain(key) && kept) overrides.set(key, kept);
  }
  // Which keys the file will hold, needed only to tell what JSON has that it will lose.
  const target = current.size > 0 || broken.size > 0 ? new Set(sourceKeys) : new Set<string>();
  for (const [key, record] of overrides) {
    if (record) target.add(key);
    else target.delete(key);
  }

  const overwritten: string[] = [];
  const removed: string[] = [];
  let added = 0;
  const tally = (key: string, record: DeploymentRecord, digest?: string): void => {
    if (broken.has(key)) return;
    const before = current.get(key);
    if (!before) added++;
    else if (canonicalDigest(before) !== (digest ?? canonicalDigest(record))) overwritten.push(key);
    else report.unchanged++;
  };
  // A key kept at JSON's value (written since the snapshot, or excluded) is counted there, never
  // also as unchanged: copied + unchanged + skipped is the records the copy read.
  sourceKeys.forEach((key, i) => {
    if (!overrides.has(key)) tally(key, sourceRecords[i] as DeploymentRecord, sourceDigests[i]);
  });
  for (const key of current.keys()) if (!target.has(key)) removed.push(key);
  for (const key of broken) (target.has(key) ? overwritten : removed).push(key);
  report.copied += added + overwritten.length;

  if (added + overwritten.length + removed.length > 0) {
    run.changedChains++;
    let backup = '';
    if (!dryRun) {
      backup = await run.backups.backUp(file);
      const written = chainRecords(sourceKeys, sourceRecords, overrides);
      const digests = written === sourceRecords ? sourceDigests : undefined;
      const seen = await run.writtenRecords?.begin(file, chainId);
      const fresh = current.size === 0 && broken.size === 0 ? await writeNewFile(run, chainId, written, seen) : undefined;
      const result = fresh ?? (await json.replaceChain(chainId, written));
      // Stat right after the write, while this store still holds the file's lock lease.
      if (!fresh && result.changed) seen?.placed();
      if (seen && result.changed) await spillRecords(seen, written, digests);
      else run.writtenRecords?.drop(file);
      if (result.backup) backup = result.backup;
      report.files.push(result.file);
      // A key journalled during this file's write window gets LevelDB's value back. Under the fence
      // none is (every journalled write to JSON holds it shared): a guard, at the cost of one look.
      await reapplyJournalled(ctx, leveldb, json, seqAtRead, inChain, new Set([...exclusions, ...run.unmigratable]), 0);
    }
    for (const key of overwritten) report.overwritten.push({ key, backup });
    for (const key of removed) report.removed.push({ key, backup });
  }
  await chainDone(run, chainId);
}

/**
 * A chain with no state file yet gets its file printed record by record (the bytes replaceChain
 * would write, without the whole text, its entries or a copy of the records in memory); undefined
 * when a file for the chain is there by now, which replaceChain then writes as it is.
 */
async function writeNewFile(
  run: CopyRun,
  chainId: number,
  records: readonly DeploymentRecord[],
  seen: WrittenFile | undefined,
): Promise<ReplaceChainResult | undefined> {
  const { json } = run;
  if ((await json.listStateFiles()).some((f) => f.chainId === chainId)) return undefined;
  const target = json.fileFor(chainId);
  const file = await NewChainFile.create(target, chainId, run.ctx.registry.get(chainId).name);
  try {
    for (const record of records) await file.add(record);
  } catch (error) {
    await file.abort();
    throw error;
  }
  const placed = await file.commit({}, () => seen?.placed());
  return placed ? { file: target, changed: true, removed: [] } : undefined;
}

/** What the file just written holds: each record's digest (the pass's, when the records are the pass's) and timestamp. */
async function spillRecords(seen: WrittenFile, records: readonly DeploymentRecord[], digests: readonly string[] | undefined): Promise<void> {
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as DeploymentRecord;
    await seen.spill.add(record.contractName, digests?.[i] ?? canonicalDigest(record), String(record.timestamp));
  }
  await seen.spill.close();
}

/** The chain's records for its file: LevelDB's as read (already in key order) with the overrides in place. */
function chainRecords(
  keys: readonly string[],
  records: readonly DeploymentRecord[],
  overrides: ReadonlyMap<string, DeploymentRecord | null>,
): readonly DeploymentRecord[] {
  if (overrides.size === 0) return records;
  const out: Array<[string, DeploymentRecord]> = [];
  keys.forEach((key, i) => {
    if (!overrides.has(key)) out.push([key, records[i] as DeploymentRecord]);
  });
  for (const [key, record] of overrides) if (record) out.push([key, record]);
  return out.sort(([a], [b]) => compareKeys(a, b)).map(([, record]) => record);
}

/**
 * After a chain's file is written, a deploy script may have written one of its keys during the
 * write window: re-apply each such key from the primary (LevelDB) once its write has finished.
 */
async function reapplyJournalled(
  ctx: MigrationContext,
  leveldb: StateStore,
  json: StateStore,
  sinceSeq: number,
  inChain: (key: string) => boolean,
  skip: Set<string>,
  waitMs = 5_000,
): Promise<void> {
  let from = sinceSeq;
  for (let round = 0; round < 20; round++) {
    const written = await waitForOutcomes(ctx.journal, from, inChain, waitMs);
    const keys = written.keys.filter((k) => !skip.has(k));
    if (keys.length === 0) return;
    for (const key of keys) {
      const { chainId, contractName } = parseKey(key);
      const primary = await leveldb.get(chainId, contractName);
      const secondary = await json.get(chainId, contractName);
      if (primary === null) {
        if (secondary !== null) await json.delete(chainId, contractName);
      } else if (secondary === null || canonicalDigest(primary) !== canonicalDigest(secondary)) {
        await json.put(primary);
      }
    }
    from = written.lastSeq;
  }
}
