// Phase 3, the bulk copy: JSON = LevelDB minus exclusions, one replaceChain per chain in key
// order, a checkpoint after each file, backups before the first write, and never overwriting a
// key that a deploy script wrote (journalled) after the copy's snapshot began.
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { snapshotLevelDb } from '@deploystate/backend-leveldb';
import {
  canonicalDigest,
  compareKeys,
  ErrorCodes,
  parseKey,
  StateError,
  StoreDigest,
  type DeploymentRecord,
  type InvalidEntry,
  type StateStore,
} from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { streamJournalledKeys, waitForOutcomes } from './journal.js';
import { digestBackupFolder, readBackupDigest, recordBackupDigest } from './leveldb-backups.js';
import { pushTiming, readState, timing, updateState } from './state.js';
import { unreadableCollector, unreadableJsonError } from './verify.js';
import type { CopyProgress, CopyReport } from './types.js';

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

const chainOfKey = (key: string): number | undefined => {
  try {
    return parseKey(key).chainId;
  } catch {
    return undefined;
  }
};

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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The records of one chain as LevelDB holds them, gathered from the single pass in key order:
 * two parallel arrays (no map, no per-entry object), handed to replaceChain as they are.
 */
interface ChainBatch {
  chainId: number;
  keys: string[];
  records: DeploymentRecord[];
}

const emptyBatch = (chainId: number): ChainBatch => ({ chainId, keys: [], records: [] });

/** Progress total: what the last analysis or verify counted (the copy reads LevelDB once and cannot know it sooner). */
async function expectedTotal(ctx: MigrationContext, lastVerifyCount: number | undefined): Promise<number> {
  const analysis = await readFile(ctx.files.analysis, 'utf8').then(
    (t) => (JSON.parse(t) as { total?: unknown }).total,
    () => undefined,
  );
  return typeof analysis === 'number' ? analysis : (lastVerifyCount ?? 0);
}

export async function bulkCopy(ctx: MigrationContext, options: CopyOptions = {}): Promise<CopyReport> {
  const started = ctx.now();
  const dryRun = options.dryRun ?? false;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1000));
  let state = await readState(ctx.files);
  const exclusions = new Set([...state.exclusions, ...(options.exclude ?? [])]);
  const leveldb = await ctx.leveldb();
  const json = await ctx.json();

  const resumable = state.copy !== null && state.copy.completedAt === undefined && (options.resume ?? true);
  const snapshotSeq = resumable && state.copy?.snapshotSeq !== undefined ? state.copy.snapshotSeq : await ctx.journal.lastSeq();
  const chainsDone = new Set(resumable ? (state.copy?.chainsDone ?? []) : []);
  if (!dryRun) {
    state = await updateState(ctx.files, (s) => {
      s.exclusions = [...exclusions].sort(compareKeys);
      if (!resumable) s.copy = { startedAt: isoNow(ctx), snapshotSeq, chainsDone: [] };
    });
  }

  const report: CopyReport = {
    dryRun,
    resumed: resumable && chainsDone.size > 0,
    nothingToDo: false,
    copied: 0,
    unchanged: 0,
    overwritten: [],
    removed: [],
    skippedNewer: [],
    excluded: [...exclusions].sort(compareKeys),
    files: [],
    backups: { files: [] },
    leveldbDigest: '',
    durationMs: 0,
  };

  // Backups are taken once per copy, before its first write, and survive a resume: the LevelDB
  // folder (a consistent snapshot, taken while this process reads it) and each file before its write.
  const backupRoot = join(ctx.files.backups, `copy-${(state.copy?.startedAt ?? isoNow(ctx)).replace(/[:.]/g, '-')}`);
  const leveldbBackup = join(backupRoot, 'leveldb');
  let leveldbBackedUp = await exists(leveldbBackup);
  if (leveldbBackedUp) report.backups.leveldb = leveldbBackup;
  // A restore checks the backup against the digest recorded here. A run that stopped before
  // recording it gets it from the backup folder itself (LevelDB may have changed since).
  if (leveldbBackedUp && !dryRun && (await readBackupDigest(leveldbBackup)) === undefined) {
    await recordBackupDigest(leveldbBackup, await digestBackupFolder(leveldbBackup, ctx.registry), isoNow(ctx));
  }
  // While the single pass runs this process holds LevelDB's lock and writes nothing to it, so a
  // snapshot taken then holds exactly what the pass reads: its digest comes from the pass.
  let passRunning = false;
  let backupDuringPass = false;
  const backUp = async (file: string): Promise<string> => {
    if (!leveldbBackedUp) {
      await mkdir(join(backupRoot, 'deployments'), { recursive: true });
      await snapshotLevelDb(ctx.files.leveldb, leveldbBackup);
      if (passRunning) backupDuringPass = true;
      else await recordBackupDigest(leveldbBackup, await digestBackupFolder(leveldbBackup, ctx.registry), isoNow(ctx));
      report.backups.leveldb = leveldbBackup;
      leveldbBackedUp = true;
    }
    const dest = join(backupRoot, 'deployments', basename(file));
    if ((await exists(file)) && !(await exists(dest))) {
      await cp(file, dest);
      report.backups.files.push(dest);
    }
    return dest;
  };

  let total = await expectedTotal(ctx, state.lastVerify?.leveldb.count);
  // With no analysis or verify before the copy, the total is not known until the pass ends: say so
  // (a count and a rate), never a percentage of what was read so far.
  let totalKnown = total > 0;
  let done = 0;
  const progress = async (chainId: number, persist: boolean): Promise<void> => {
    if (done > total) totalKnown = false;
    total = Math.max(total, done);
    const elapsed = Math.max(1, ctx.now() - started);
    const rate = (done / elapsed) * 1000;
    const p: CopyProgress = {
      done,
      total,
      totalKnown,
      rate,
      etaMs: rate > 0 && totalKnown ? Math.round(((total - done) / rate) * 1000) : 0,
      chainId,
      file: json.fileFor(chainId),
    };
    options.onProgress?.(p);
    if (persist && !dryRun)
      await writeFileDurable(ctx.files.progress, `${JSON.stringify({ ...p, at: isoNow(ctx), pid: process.pid }, null, 2)}\n`);
  };

  const unmigratable = new Set<string>();
  const blocking: string[] = [];
  const digest = new StoreDigest();
  // Everything the pass reads, exclusions included: the backup's content when taken during it.
  const passDigest = new StoreDigest();
  const undecodable: string[] = [];
  const written: Array<{ chainId: number; seqAtRead: number }> = [];
  let changedChains = 0;

  const copyChain = async ({ chainId, keys: sourceKeys, records: sourceRecords }: ChainBatch): Promise<void> => {
    if (chainsDone.has(chainId)) return;
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
    const newer = await streamJournalledKeys(ctx.journal.entries({ sinceSeq: snapshotSeq }), inChain);
    for (const key of newer) {
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
    const tally = (key: string, record: DeploymentRecord): void => {
      if (broken.has(key)) return;
      const before = current.get(key);
      if (!before) added++;
      else if (canonicalDigest(before) !== canonicalDigest(record)) overwritten.push(key);
      else report.unchanged++;
    };
    sourceKeys.forEach((key, i) => {
      if (!overrides.has(key)) tally(key, sourceRecords[i] as DeploymentRecord);
    });
    for (const [key, record] of overrides) if (record) tally(key, record);
    for (const key of current.keys()) if (!target.has(key)) removed.push(key);
    for (const key of broken) (target.has(key) ? overwritten : removed).push(key);
    report.copied += added + overwritten.length;

    if (added + overwritten.length + removed.length > 0) {
      changedChains++;
      let backup = '';
      if (!dryRun) {
        backup = await backUp(file);
        const result = await json.replaceChain(chainId, chainRecords(sourceKeys, sourceRecords, overrides));
        if (result.backup) backup = result.backup;
        report.files.push(result.file);
        // Keys written during this file's write window get LevelDB's value back; writers still
        // waiting for LevelDB (held by this pass) are caught by the second round after the pass.
        await reapplyJournalled(ctx, leveldb, json, seqAtRead, inChain, new Set([...exclusions, ...unmigratable]), 0);
        written.push({ chainId, seqAtRead });
      }
      for (const key of overwritten) report.overwritten.push({ key, backup });
      for (const key of removed) report.removed.push({ key, backup });
    }
    if (!dryRun) {
      await updateState(ctx.files, (s) => {
        if (s.copy && !s.copy.chainsDone.includes(chainId)) s.copy.chainsDone.push(chainId);
      });
    }
    await progress(chainId, true);
  };

  // One pass over LevelDB in key order: key order groups each chain, so only one chain's records
  // are held at a time (memory bounded by the largest network file, not the store).
  let batch: ChainBatch | undefined;
  const jsonChains = new Set((await json.listStateFiles()).map((f) => f.chainId));
  const flush = async (): Promise<void> => {
    if (!batch) return;
    jsonChains.delete(batch.chainId);
    // After a record that cannot be migrated, nothing more is written: the run stops listing them all.
    if (blocking.length === 0) await copyChain(batch);
    batch = undefined;
  };
  passRunning = true;
  for await (const { key, record } of leveldb.iterate({
    onInvalid: (entry) => {
      unmigratable.add(entry.key);
      undecodable.push(entry.key);
      if (!exclusions.has(entry.key)) blocking.push(entry.key);
    },
  })) {
    if (batch && batch.chainId !== record.chainId) await flush();
    batch ??= emptyBatch(record.chainId);
    done++;
    const recordDigest = canonicalDigest(record);
    passDigest.addDigest(key, recordDigest);
    if (exclusions.has(key)) continue;
    digest.addDigest(key, recordDigest);
    batch.keys.push(key);
    batch.records.push(record);
    if (done % batchSize === 0) await progress(record.chainId, false);
  }
  await flush();
  passRunning = false;
  if (backupDuringPass)
    await recordBackupDigest(leveldbBackup, { digest: passDigest.digest(), count: passDigest.size, undecodable }, isoNow(ctx));
  // Chains that only JSON holds: their records are stale (LevelDB is the source) unless excluded.
  for (const chainId of [...jsonChains].sort((a, b) => compareKeys(`${a}-`, `${b}-`))) {
    if (blocking.length === 0) await copyChain(emptyBatch(chainId));
  }
  if (!dryRun) {
    await updateState(ctx.files, (s) => {
      s.unmigratable = [...unmigratable].sort(compareKeys);
    });
  }
  if (blocking.length > 0) {
    throw new StateError(ErrorCodes.UNMIGRATABLE_RECORDS, `${blocking.length} record(s) cannot be migrated: ${blocking.join(', ')}`, {
      key: blocking[0],
      hint: 'fix them in LevelDB, or exclude them (migrate --exclude <key>)',
    });
  }
  // With LevelDB released, writers that waited for it finish; their keys get LevelDB's value.
  for (const { chainId, seqAtRead } of written)
    await reapplyJournalled(ctx, leveldb, json, seqAtRead, (key) => chainOfKey(key) === chainId, new Set([...exclusions, ...unmigratable]));
  report.leveldbDigest = digest.digest();

  report.nothingToDo = changedChains === 0 && !report.resumed;
  report.durationMs = ctx.now() - started;
  if (!dryRun) {
    await updateState(ctx.files, (s) => {
      const previous = s.copy;
      // A re-run with nothing to do keeps the completed copy's time, so its verify still counts.
      const keepTime = report.nothingToDo && previous?.completedAt !== undefined && state.copy?.completedAt !== undefined;
      s.copy = {
        ...(previous ?? { chainsDone: [] }),
        startedAt: previous?.startedAt ?? new Date(started).toISOString(),
        snapshotSeq,
        chainsDone: previous?.chainsDone ?? [],
        completedAt: keepTime ? (previous?.completedAt as string) : isoNow(ctx),
        leveldbDigest: report.leveldbDigest,
        copied: (previous?.copied ?? 0) + report.copied,
        // Records the run found already equal: with `copied`, what the JSON side holds after it (so a
        // no-op re-run reads "0 copied, 28 already equal", not "0 records").
        unchanged: (previous?.unchanged ?? 0) + report.unchanged,
      };
      pushTiming(
        s,
        timing(
          'migrate',
          started,
          'done',
          report.nothingToDo
            ? 'nothing to do'
            : `${report.copied} copied, ${report.overwritten.length} overwritten, ${report.removed.length} removed`,
        ),
      );
    });
  }
  return report;
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
