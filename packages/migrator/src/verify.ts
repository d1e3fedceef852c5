// Phase 4, read-only: the comparison of LevelDB and JSON (minus exclusions and unmigratable
// keys) and the schema validation of every state file; verify records its result as evidence.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deploymentsEntries, type JsonFileStore } from '@deploystate/backend-json';
import type { LevelDbStore } from '@deploystate/backend-leveldb';
import {
  compareKeys,
  compareStores,
  DIGEST_FORMAT,
  type CompareOptions as StoreCompareOptions,
  type Finding,
  type InvalidEntry,
  type StoreComparison,
} from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import { checkFilesAndRecord, coownedContext } from './coowned.js';
import { baselineSettled, readBaselineAhead, type BaselineAhead } from './coowned-baseline.js';
import { validateFile, type SchemaReport } from './file-validation.js';
import { KnownFileDigests } from './file-digests.js';
import { verdictPool } from './verdict-pool.js';
import { compareByChain } from './verify-chains.js';
import { readState } from './state.js';
import { openJsonFirstWrites } from './interrupted-writes.js';
import { pendingKeys } from './outbox-status.js';
import type { SideComparison, VerifyEvidence, VerifyReport } from './types.js';
import { unreadableCollector, unreadableJsonError } from './unreadable.js';
import { explainWrittenSinceCutover, keysWrittenSince, settleWrittenSince, type CutoverBaseline, type UnlistedKeys } from './written-since.js';


/**
 * How many differences a comparison lists unless told otherwise (`maxDetails`): their records are not
 * held past it (the keys of those past it are, to settle writes made while it read: keys only).
 */
export const DEFAULT_MAX_DETAILS = 1000;

export interface CompareOptions {
  /**
   * Stop listing differences past this many, of all kinds together (`counts` and digests stay
   * exact; `truncated` says the lists were cut short). Default DEFAULT_MAX_DETAILS (1000).
   */
  maxDetails?: number;
  /** [fence] The journal seq of the quiet point the sides are read from: keys written since are pending. */
  writtenSince?: number;
  /** json-only: the journal seq of the cut-over's verify; writes since that JSON holds as written are no differences. */
  sinceCutover?: number;
  /** dual-write before the copy has completed: the journal seq of dual-write enable (see SideComparison.awaitingCopy). */
  copyPendingSince?: number;
}

/** How both stores are compared: each side's unreadable entries go to its callback. */
type Comparator = (
  leveldb: LevelDbStore,
  json: JsonFileStore,
  sides: { left: (entry: InvalidEntry) => void; right: (entry: InvalidEntry) => void },
  options: StoreCompareOptions,
) => Promise<StoreComparison>;

/** Both stores read record by record, as they read alone. */
const storeByStore: Comparator = (leveldb, json, sides, options) =>
  compareStores(leveldb.iterate({ onInvalid: sides.left }), json.iterate({ onInvalid: sides.right }), options);

/** The comparison of both sides, with every entry either side could not read listed by key. */
async function compareWith(ctx: MigrationContext, options: CompareOptions, compare: Comparator = storeByStore): Promise<SideComparison> {
  const state = await readState(ctx.files);
  const leveldb = await ctx.leveldb();
  const json = await ctx.json();
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  const left = unreadableCollector('leveldb', skip, ctx.files.leveldb);
  const right = unreadableCollector('json', skip, ctx.files.deployments);
  // [outbox] A write LevelDB acknowledged and JSON has not received yet is pending, not a difference.
  const outbox = await pendingKeys(leveldb);
  // [json-primary] A write in flight, or cut off between its JSON and LevelDB writes, is pending
  // too: cut-over completes it (interrupted-writes.ts).
  if (state.phase === 'json-primary')
    for (const key of (await openJsonFirstWrites(ctx.journal, state.dualWriteSinceSeq ?? 0)).keys()) outbox.add(key);
  const pending = [...outbox].filter((key) => !skip.has(key)).sort(compareKeys);
  // The keys of differences past maxDetails, kept so a write since the quiet point among them is
  // pending as a listed one is (settleWrittenSince): the verdict never depends on the lists' length.
  const unlisted: UnlistedKeys = { onlyLeft: [], onlyRight: [], differing: [] };
  const keepUnlisted = options.writtenSince !== undefined || options.copyPendingSince !== undefined;
  const comparison = await compare(leveldb, json, { left: left.onInvalid, right: right.onInvalid }, {
    exclude: pending.length === 0 ? skip : new Set([...skip, ...pending]),
    maxDetails: options.maxDetails ?? DEFAULT_MAX_DETAILS,
    ...(keepUnlisted && { onUnlisted: (kind, key) => unlisted[kind].push(key) }),
  });
  const unreadable = [...left.entries, ...right.entries];
  // Pending keys were left out of the comparison as exclusions are, but are listed as pending:
  // `excluded` holds only the decisions recorded in the state.
  const pendingSet = new Set(pending);
  const excluded = pending.length === 0 ? comparison.excluded : comparison.excluded.filter((key) => !pendingSet.has(key));
  // A value nobody can read is not equal to anything, until the state says it stays behind.
  const result = { ...comparison, excluded, equal: comparison.equal && unreadable.every((u) => u.known), unreadable, pending };
  const settled = options.writtenSince === undefined ? result : await settleWrittenSince(ctx, result, options.writtenSince, unlisted);
  return options.copyPendingSince === undefined ? settled : { ...settled, awaitingCopy: await awaitingCopy(ctx, settled, unlisted, options.copyPendingSince) };
}

/**
 * Before the copy has completed: the differences (listed, and past the lists by key) on keys no
 * write since dual-write enable touched. JSON holds them as an earlier cycle left it, or not at all;
 * the copy makes them LevelDB's. Keys settled as pending are not differences any more.
 */
async function awaitingCopy(
  ctx: MigrationContext,
  comparison: SideComparison,
  unlisted: UnlistedKeys,
  since: number,
): Promise<NonNullable<SideComparison['awaitingCopy']>> {
  const written = await keysWrittenSince(ctx.journal, since);
  const pending = new Set(comparison.pending ?? []);
  const stale = (key: string): boolean => !written.has(key) && !pending.has(key);
  const differing = comparison.differing.map((d) => d.key).filter(stale);
  const onlyRight = comparison.onlyRight.map((e) => e.key).filter(stale);
  return {
    differing: differing.length + unlisted.differing.filter(stale).length,
    onlyRight: onlyRight.length + unlisted.onlyRight.filter(stale).length,
    keys: [...differing, ...onlyRight].sort(compareKeys),
  };
}

/**
 * json-only: what tells a write since the cut-over from a difference. The journal seq of this clone's
 * cut-over (`sinceCutover`) and LevelDB as the cut-over recorded it (phase.json, in every clone).
 */
async function cutoverBaseline(ctx: MigrationContext, sinceCutover: number | undefined): Promise<CutoverBaseline | undefined> {
  const state = await readState(ctx.files);
  if (state.phase !== 'json-only') return sinceCutover === undefined ? undefined : { since: sinceCutover };
  const atCutover = state.cutoverLeveldb?.records;
  // A clone that did not run the cut-over has no evidence of where it was in the journal: its
  // writes made in json-only are the ones since (an earlier write of the key is no explanation).
  const since = sinceCutover === undefined ? { since: state.dualWriteSinceSeq ?? 0, onlyPhase: 'json-only' as const } : { since: sinceCutover };
  return { ...since, ...(atCutover !== undefined && { atCutover }) };
}

/** The comparison of both sides through the JSON store, with every entry either side could not read listed by key. */
export function compareAll(ctx: MigrationContext, options: CompareOptions = {}): Promise<SideComparison> {
  return compareWith(ctx, options);
}

/**
 * compare: LevelDB vs JSON; CORRUPTED when a JSON state file (or record entry) cannot be read. With
 * `sinceCutover` (json-only), what JSON holds as the journal says it was written since the cut-over
 * is no difference, as verify counts it (listed in `writtenSinceCutover`).
 */
export async function compareSides(ctx: MigrationContext, options: CompareOptions = {}): Promise<SideComparison> {
  let comparison = await compareAll(ctx, options);
  const corrupted = unreadableJsonError(comparison.unreadable);
  if (corrupted) throw corrupted;
  const cutover = await cutoverBaseline(ctx, options.sinceCutover);
  if (cutover) comparison = await explainWrittenSinceCutover(ctx.journal, comparison, cutover);
  return comparison;
}

/** The folder's files: the state files to validate, and every other file with why it is skipped. */
async function stateFilesIn(ctx: MigrationContext): Promise<{ files: string[]; skipped: SchemaReport['skipped'] }> {
  const out: { files: string[]; skipped: SchemaReport['skipped'] } = { files: [], skipped: [] };
  let entries;
  try {
    // Listed as the stores list it, once git is done: a file a pull or checkout has unlinked and not
    // yet written would otherwise be a chain verify reports missing.
    entries = await deploymentsEntries(ctx.files.deployments);
  } catch {
    return out;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = join(ctx.files.deployments, entry.name);
    const stateFileName = !entry.name.startsWith('.') && entry.name.endsWith('.json') && ctx.registry.chainIdOfFile(entry.name) !== undefined;
    // A folder or link where a state file belongs is compared (the store refuses it: NOT_A_FILE), never skipped:
    // its chain's records would pass for missing.
    if (!entry.isFile() && stateFileName) out.files.push(file);
    else if (!entry.isFile()) out.skipped.push({ file, reason: entry.name.startsWith('.') ? 'hidden folder' : 'not a file' });
    else if (entry.name.startsWith('.')) out.skipped.push({ file, reason: 'hidden file (temporary or tool data)' });
    else if (!entry.name.endsWith('.json')) out.skipped.push({ file, reason: 'not a .json file' });
    else if (ctx.registry.chainIdOfFile(entry.name) === undefined)
      out.skipped.push({ file, reason: 'not a state file name (no registered network is called this)' });
    else out.files.push(file);
  }
  return out;
}

/** Files validated out of name order end up listed in it, as a separate validation lists them. */
function inFileOrder(out: SchemaReport): SchemaReport {
  const byFile = (a: { file?: string }, b: { file?: string }): number =>
    (a.file ?? '') < (b.file ?? '') ? -1 : (a.file ?? '') > (b.file ?? '') ? 1 : 0;
  return { files: out.files, errors: [...out.errors].sort(byFile), skipped: [...out.skipped].sort(byFile) };
}

/** Schema validation of every state file; other files are listed as skipped with the reason. */
export async function validateFiles(ctx: MigrationContext): Promise<SchemaReport> {
  const { files, skipped } = await stateFilesIn(ctx);
  const out: SchemaReport = { files: 0, errors: [], skipped };
  for (const file of files) await validateFile(file, out);
  return inFileOrder(out);
}

/** The state files by chain, and the one the store reads for each chain (the one compared). */
function filesByChain(ctx: MigrationContext, json: JsonFileStore, files: readonly string[]): Map<number, { read: string; others: string[] }> {
  const byChain = new Map<number, string[]>();
  for (const file of files) {
    const chainId = ctx.registry.chainIdOfFile(basename(file)) as number;
    byChain.set(chainId, [...(byChain.get(chainId) ?? []), file]);
  }
  const out = new Map<number, { read: string; others: string[] }>();
  for (const chainId of [...byChain.keys()].sort((a, b) => compareKeys(`${a}-`, `${b}-`))) {
    const chainFiles = byChain.get(chainId) as string[];
    const canonical = json.fileFor(chainId);
    const read = chainFiles.includes(canonical) ? canonical : (chainFiles[0] as string);
    out.set(chainId, { read, others: chainFiles.filter((file) => file !== read) });
  }
  return out;
}

/**
 * compare + validate. A JSON entry that cannot be read makes the report unclean (so the evidence
 * closes the gates); the caller records it, then throws `unreadableJsonError` (CORRUPTED).
 */
export async function verifySides(ctx: MigrationContext, options: Pick<CompareOptions, 'writtenSince' | 'sinceCutover'> = {}): Promise<VerifyReport> {
  const journalSeq = options.writtenSince ?? (await ctx.journal.lastSeq());
  const { files, skipped } = await stateFilesIn(ctx);
  const validated: SchemaReport = { files: 0, errors: [], skipped };
  const known = new KnownFileDigests();
  const coowned = coownedContext(ctx);
  const pool = verdictPool();
  let comparison: SideComparison;
  let ahead: BaselineAhead | undefined;
  const readAhead = (): void => {
    if (ahead === undefined && existsSync(coowned.journal.file)) ahead = readBaselineAhead(coowned);
  };
  try {
    // Threads for large files start loading now, while LevelDB is snapshotted.
    pool.prepare(files);
    // written.json, read and parsed beside the comparison (the co-owned check takes it if unchanged).
    // Read once the scan was done, which is late now that this thread works out chains too, its parse
    // (0.15-0.25 s at 100k records) came after the last verdict, adding to verify's time; it is read
    // as soon as the first files are on their way to the workers (read before them, its parse held
    // them back: the worker sat idle 0.4 s). A file written a moment ago (a verify right after the
    // copy) would be read in vain (too close to its write to be taken): it is read once the scan is done.
    const readAheadIfSettled = (): void => {
      if (baselineSettled(coowned)) readAhead();
    };
    // Which file is read for each chain is known once the JSON store is open (after the LevelDB snapshot).
    comparison = await compareWith(ctx, options, (leveldb, json, sides, compareOptions) =>
      compareByChain(
        {
          leveldb,
          json,
          files: filesByChain(ctx, json, files),
          pool,
          onLeftInvalid: sides.left,
          onRightInvalid: sides.right,
          schema: validated,
          known,
          onScanned: readAhead,
          onFilesQueued: readAheadIfSettled,
        },
        compareOptions,
      ),
    );
  } finally {
    await pool.close();
  }
  const cutover = await cutoverBaseline(ctx, options.sinceCutover);
  if (cutover) comparison = await explainWrittenSinceCutover(ctx.journal, comparison, cutover);
  const schema = inFileOrder(validated);
  const schemaErrors = schema.errors.filter((f) => f.severity === 'error').length;
  const unknownUnreadable = comparison.unreadable.filter((u) => !u.known).length;
  // [coowned] A record another program's rewrite dropped is lost even where LevelDB never had it (json-only).
  const filesCheck = await checkFilesAndRecord(coowned, known, ahead, journalSeq);
  const { counts } = comparison;
  const differences = counts.onlyLeft + counts.onlyRight + counts.differing + unknownUnreadable;
  const evidence: VerifyEvidence = {
    at: isoNow(ctx),
    clean: comparison.equal && schemaErrors === 0 && filesCheck.findings.length === 0,
    leveldb: comparison.left,
    json: comparison.right,
    differences: comparison.equal ? 0 : Math.max(differences, 1),
    schemaErrors,
    journalSeq,
    digestFormat: DIGEST_FORMAT,
    foreignOverwrites: filesCheck.findings.length,
    pending: comparison.pending?.length ?? 0,
  };
  return { clean: evidence.clean, comparison, schema, evidence, files: filesCheck };
}

/** A finding's identity for "was this already in LevelDB": code and key (or file for file-level ones). */
export const findingId = (f: Finding): string => `${f.code}|${f.key ?? f.file ?? ''}`;
