// The bulk copy's plan: resume or start over, from which journal seq, with which exclusions, and the run state the pass fills in.
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { compareKeys, ErrorCodes, StateError, StoreDigest, type StateStore } from '@deploystate/core';
import { readAnalysisFigures } from './analysis.js';
import { usable } from './command-records.js';
import { isoNow, type MigrationContext } from './context.js';
import type { CopyOptions } from './copy.js';
import { CopyBackups } from './copy-backups.js';
import { openCopySource, type CopySource } from './copy-source.js';
import type { FreshChainCopy } from './copy-stream.js';
import { readState, updateState } from './state.js';
import type { CopyReport, MigrationStateFile } from './types.js';
import type { WrittenRecords } from './written-records.js';

/** Progress total: what the last analysis or verify counted (the copy reads LevelDB once and cannot know it sooner). */
async function expectedTotal(ctx: MigrationContext, lastVerifyCount: number | undefined): Promise<number> {
  // A damaged analysis.json only costs the progress its total.
  return usable(await readAnalysisFigures(ctx.files.analysis))?.total ?? lastVerifyCount ?? 0;
}

/** One run of the copy: what the plan decided, and what the pass has found and done so far. */
export interface CopyRun {
  ctx: MigrationContext;
  options: CopyOptions;
  started: number;
  dryRun: boolean;
  batchSize: number;
  /** The state as the plan left it. */
  state: MigrationStateFile;
  exclusions: Set<string>;
  snapshotSeq: number;
  /**
   * [outbox] Keys with a write still in the outbox of the snapshot the pass reads: as journalled
   * (the drainer brings them to JSON; one it drains before the copy writes the chain is journalled).
   */
  pending: ReadonlySet<string>;
  chainsDone: Set<number>;
  /** The live LevelDB: the primary the copy re-reads a key from; never held for the pass. */
  leveldb: StateStore;
  /** What the pass reads: a snapshot of LevelDB taken at a quiet point (copy-source.ts). */
  source: CopySource;
  json: JsonFileStore;
  report: CopyReport;
  backups: CopyBackups;
  total: number;
  totalKnown: boolean;
  done: number;
  unmigratable: Set<string>;
  blocking: string[];
  /** The store digest of what the pass copies (exclusions left out); `passDigest` itself when nothing is excluded. */
  digest: StoreDigest;
  /** Everything the pass reads, exclusions included: the backup's content when taken during it. */
  passDigest: StoreDigest;
  undecodable: string[];
  changedChains: number;
  /** Each file this run wrote, with its records' digests, for the co-owned files baseline after it. */
  writtenRecords?: WrittenRecords;
  /** The chain with no state file being printed as the pass reads it, if any. */
  printing?: FreshChainCopy;
  /** The end of the last chain printed as read (copy.ts, finishing): going on while the pass reads the next. */
  finishing?: Promise<void>;
}

function sharedDigests(same: boolean): { digest: StoreDigest; passDigest: StoreDigest } {
  const passDigest = new StoreDigest();
  return { digest: same ? passDigest : new StoreDigest(), passDigest };
}

/** The copy's JSON store: the migration's folder and registry, no parsed file kept once its chain is done. */
async function copyStore(ctx: MigrationContext, shared: JsonFileStore): Promise<JsonFileStore> {
  // The folder exists: the migration's store opened it (creating it where it may).
  const store = new JsonFileStore({ dir: shared.location, create: false, cache: false, registry: ctx.registry });
  await store.open();
  return store;
}

/**
 * Refuses a JavaScript caller's slip in the copy's options (a string for the list, NaN for the
 * size), never spread or rounded: checked before the copy takes its lock or reads anything.
 */
export function checkCopyOptions(options: CopyOptions): void {
  const { batchSize, exclude } = options;
  if (batchSize !== undefined && (!Number.isSafeInteger(batchSize) || batchSize < 1))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `batchSize must be a whole number above 0, got ${String(batchSize)}`);
  if (exclude !== undefined && (!Array.isArray(exclude) || !exclude.every((key) => typeof key === 'string')))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `exclude must be an array of keys, got ${JSON.stringify(exclude)}`);
}

/** The copy's plan: resume or start over, from which journal seq, with which exclusions; the state records it. */
export async function planCopy(ctx: MigrationContext, options: CopyOptions): Promise<CopyRun> {
  const started = ctx.now();
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? 1000;
  let state = await readState(ctx.files);
  const exclusions = new Set([...state.exclusions, ...(options.exclude ?? [])]);
  // A dry run reads the snapshot alone: opening the live database rewrites some of its files, which
  // a store committed to git would show as changed.
  const live = dryRun ? undefined : await ctx.leveldb();
  // Its own JSON store without a cache: the migration's store keeps every file it parsed, which
  // would hold the whole store by the last chain; the copy reads each file once anyway.
  const json = await copyStore(ctx, await ctx.json());

  const resumable = state.copy !== null && state.copy.completedAt === undefined && (options.resume ?? true);
  const source = await openCopySource(ctx, live instanceof LevelDbStore ? live : undefined, dryRun);
  const leveldb = live ?? source.store;
  const pending = source.pending;
  const snapshotSeq = resumable && state.copy?.snapshotSeq !== undefined ? state.copy.snapshotSeq : source.seq;
  const chainsDone = new Set(resumable ? (state.copy?.chainsDone ?? []) : []);
  if (!dryRun) {
    state = await updateState(ctx.files, (s) => {
      s.exclusions = [...exclusions].sort(compareKeys);
      if (!resumable) s.copy = { startedAt: isoNow(ctx), snapshotSeq, chainsDone: [] };
    }).catch(async (error: unknown) => {
      await source.dispose();
      throw error;
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
  let backups: CopyBackups;
  let total: number;
  try {
    backups = await CopyBackups.open(ctx, state.copy?.startedAt ?? isoNow(ctx), report, dryRun, source.folder);
    total = await expectedTotal(ctx, state.lastVerify?.leveldb.count);
  } catch (error) {
    await source.dispose();
    throw error;
  }
  return {
    ctx,
    options,
    started,
    dryRun,
    batchSize,
    state,
    exclusions,
    snapshotSeq,
    pending,
    chainsDone,
    leveldb,
    source,
    json,
    report,
    backups,
    total,
    // With no analysis or verify before the copy, the total is not known until the pass ends: say so
    // (a count and a rate), never a percentage of what was read so far.
    totalKnown: total > 0,
    done: 0,
    unmigratable: new Set(),
    blocking: [],
    // With nothing excluded both digests take the same records: one serves as both.
    ...sharedDigests(exclusions.size === 0),
    undecodable: [],
    changedChains: 0,
  };
}
