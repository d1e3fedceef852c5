// LevelDB after cut-over. The cut-over records LevelDB's digest and each record's digest in the
// shared phase file; a LevelDB that changed since (a teammate's clone that wrote before it pulled,
// its folder then merged through git) is reported with its keys, and its writes can be folded into
// the JSON side, which deploy scripts read alone now.
import { canonicalDigest, compareKeys, parseKey, StoreDigest, type DeploymentRecord, type StateStore } from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import type { LevelDbAtCutover, MigrationStateFile } from './types.js';

export interface LevelDbChange {
  key: string;
  change: 'added' | 'changed' | 'removed';
}

export interface LevelDbSinceCutover {
  /** When the cut-over recorded LevelDB. */
  cutoverAt: string;
  digestAtCutover: string;
  digestNow: string;
  changed: boolean;
  changes: LevelDbChange[];
}

/** LevelDB as it is now: its digest and each record's digest (values that do not decode are left out, as in the copy). */
export async function recordLevelDb(ctx: Pick<MigrationContext, 'now'>, leveldb: StateStore): Promise<LevelDbAtCutover> {
  const digest = new StoreDigest();
  const records: Record<string, string> = {};
  for await (const { key, record } of leveldb.iterate({ onInvalid: () => undefined })) {
    const recordDigest = canonicalDigest(record);
    digest.addDigest(key, recordDigest);
    records[key] = recordDigest;
  }
  return { at: isoNow(ctx), count: digest.size, digest: digest.digest(), records };
}

/** What changed in `leveldb` since the cut-over recorded it; null when no cut-over recorded LevelDB. */
export async function levelDbSinceCutover(state: MigrationStateFile, leveldb: StateStore): Promise<LevelDbSinceCutover | null> {
  const at = state.cutoverLeveldb;
  if (!at) return null;
  const now = await recordLevelDb({ now: Date.now }, leveldb);
  return { cutoverAt: at.at, digestAtCutover: at.digest, digestNow: now.digest, changed: now.digest !== at.digest, changes: diffRecords(at.records, now.records) };
}

function diffRecords(before: Record<string, string>, after: Record<string, string>): LevelDbChange[] {
  const changes: LevelDbChange[] = [];
  for (const [key, digest] of Object.entries(after)) {
    const was = before[key];
    if (was === undefined) changes.push({ key, change: 'added' });
    else if (was !== digest) changes.push({ key, change: 'changed' });
  }
  for (const key of Object.keys(before)) if (after[key] === undefined) changes.push({ key, change: 'removed' });
  return changes.sort((a, b) => compareKeys(a.key, b.key));
}

export interface FoldInReport {
  /** The LevelDB folder the writes came from. */
  from: string;
  since: LevelDbSinceCutover;
  /** Written to the JSON side (put or deleted). */
  folded: LevelDbChange[];
  /** Changed on both sides since cut-over: left for the operator, JSON untouched for these keys. */
  conflicts: LevelDbChange[];
  /** Already equal on the JSON side. */
  alreadyThere: string[];
  dryRun: boolean;
}

/**
 * Folds LevelDB's changes since cut-over into the JSON side through `write` (the factory's store,
 * so each write is journalled): a key is written only when JSON still holds what it held at
 * cut-over; a key that changed on both sides is a conflict, listed and left alone.
 */
export async function foldIn(
  state: MigrationStateFile,
  source: StateStore,
  json: StateStore,
  write: { put(record: DeploymentRecord): Promise<void>; delete(chainId: number, contractName: string): Promise<boolean> },
  options: { from: string; dryRun?: boolean },
): Promise<FoldInReport> {
  const since = await levelDbSinceCutover(state, source);
  const report: FoldInReport = {
    from: options.from,
    since: since ?? { cutoverAt: '', digestAtCutover: '', digestNow: '', changed: false, changes: [] },
    folded: [],
    conflicts: [],
    alreadyThere: [],
    dryRun: options.dryRun ?? false,
  };
  const atCutover = state.cutoverLeveldb?.records ?? {};
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  for (const change of report.since.changes) {
    if (skip.has(change.key)) continue;
    const { chainId, contractName } = parseKey(change.key);
    const wanted = change.change === 'removed' ? null : await source.get(chainId, contractName);
    const inJson = await json.get(chainId, contractName);
    const jsonDigest = inJson === null ? undefined : canonicalDigest(inJson);
    if (jsonDigest === (wanted === null ? undefined : canonicalDigest(wanted))) {
      report.alreadyThere.push(change.key);
      continue;
    }
    if (jsonDigest !== atCutover[change.key]) {
      report.conflicts.push(change);
      continue;
    }
    if (!report.dryRun) {
      if (wanted === null) await write.delete(chainId, contractName);
      else await write.put(wanted);
    }
    report.folded.push(change);
  }
  return report;
}
