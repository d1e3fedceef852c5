// The LevelDB folder backups the bulk copy takes (`backups/copy-<time>/leveldb`), the digest
// recorded with each, and the restore: it must work above all when the live folder is damaged or
// gone, so it never needs to open that folder, only to learn whether another process holds it.
import { cp, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelDbStore, openSnapshot, RESTORING_SUFFIX, stagedCopiesOf, swapMarkerOf, swapMarkerText } from '@deploystate/backend-leveldb';
import {
  ErrorCodes,
  errnoCode,
  fsErrorCode,
  isStateError,
  removeOnInterrupt,
  restoreLoss,
  restoreLossCount,
  restoreLossError,
  StateError,
  StoreDigest,
  type DeploymentRecord,
  type NetworkRegistry,
  type RestoreLoss,
  type StateStore,
} from '@deploystate/core';
import { levelDbStore } from './backends.js';
import { isoNow, type MigrationContext } from './context.js';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { assertMayRun } from './machine.js';
import { pushTiming, readState, timing, updateState } from './state.js';

/** What a LevelDB folder holds, as the store digest sees it. */
export interface LevelDbContent {
  /** Store digest of every decodable record (no exclusions). */
  digest: string;
  count: number;
  /** Keys whose values do not decode (they are in no digest, so they are compared by key). */
  undecodable: string[];
}

/** Recorded beside a backup when it is taken: `<backup>.digest.json`. */
export interface BackupDigestRecord extends LevelDbContent {
  takenAt: string;
}

export interface LevelDbRestoreResult {
  /** The backup copied in. */
  restored: string;
  /** Where the folder it replaced was moved (never deleted); null when there was no folder. */
  movedAside: string | null;
  /** The folder it replaced: opened fine, could not be opened (detail says why), or absent. */
  previous: 'healthy' | 'damaged' | 'missing';
  previousDetail?: string;
  /** What the restored folder holds, read back from it after the copy. */
  restoredContent: LevelDbContent;
  /** True when the restored digest was checked against the one recorded when the backup was taken. */
  digestRecorded: boolean;
  /** Keys whose record the replaced folder held and the backup lacks or holds older (`discardNewer`); absent when none. */
  discarded?: string[];
}

/** Each record's timestamp by key: what a restore compares (the records themselves are not held). */
async function timestampsOf(store: LevelDbStore): Promise<Map<string, Pick<DeploymentRecord, 'timestamp'>>> {
  const out = new Map<string, Pick<DeploymentRecord, 'timestamp'>>();
  for await (const { key, record } of store.iterate({ onInvalid: () => undefined })) out.set(key, { timestamp: record.timestamp });
  return out;
}

const BACKUP_NAME = /^copy-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;

/** The time a backup folder's name says it was taken (`copy-<ISO time with : and . as ->`), or undefined. */
export function backupTime(name: string): number | undefined {
  const m = BACKUP_NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  return Number.isNaN(time) ? undefined : time;
}

export const backupDigestFile = (backup: string): string => `${backup}.digest.json`;

export async function recordBackupDigest(backup: string, content: LevelDbContent, takenAt: string): Promise<void> {
  const record: BackupDigestRecord = { takenAt, ...content };
  await writeFileDurable(backupDigestFile(backup), `${JSON.stringify(record, null, 2)}\n`);
}

export async function readBackupDigest(backup: string): Promise<BackupDigestRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(backupDigestFile(backup), 'utf8')) as Partial<BackupDigestRecord>;
    if (typeof parsed.digest !== 'string' || typeof parsed.count !== 'number' || !Array.isArray(parsed.undecodable)) return undefined;
    return {
      takenAt: String(parsed.takenAt ?? ''),
      digest: parsed.digest,
      count: parsed.count,
      undecodable: parsed.undecodable.map(String),
    };
  } catch {
    return undefined;
  }
}

/** Digest, count and undecodable keys of an open store, in one pass. */
export async function digestContent(store: StateStore): Promise<LevelDbContent> {
  const digest = new StoreDigest();
  const undecodable: string[] = [];
  for await (const { key, record } of store.iterate({ onInvalid: (entry) => undecodable.push(entry.key) })) digest.add(key, record);
  return { digest: digest.digest(), count: digest.size, undecodable };
}

/** The content of a backup folder, read from a temporary copy (opening LevelDB rewrites files). */
export async function digestBackupFolder(backup: string, registry: NetworkRegistry): Promise<LevelDbContent> {
  const snapshot = await openSnapshot(backup, { registry });
  try {
    return await digestContent(snapshot.store);
  } finally {
    await snapshot.dispose();
  }
}

/**
 * Every `backups/<name>/leveldb` folder, oldest first, ordered by the time in the folder's name
 * (a folder whose name carries none counts by its modification time), so the last is the newest.
 */
export async function listLevelDbBackups(ctx: Pick<MigrationContext, 'files'>): Promise<string[]> {
  let dirs: string[];
  try {
    dirs = (await readdir(ctx.files.backups, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const found: Array<{ path: string; name: string; time: number }> = [];
  for (const name of dirs) {
    const path = join(ctx.files.backups, name, 'leveldb');
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    found.push({ path, name, time: backupTime(name) ?? info.mtimeMs });
  }
  found.sort((a, b) => a.time - b.time || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return found.map((b) => b.path);
}

/** The live folder as a restore finds it: whether it opens (detail says why not), and its records' times. */
interface LiveFolder {
  previous: LevelDbRestoreResult['previous'];
  detail?: string;
  records?: Map<string, Pick<DeploymentRecord, 'timestamp'>>;
}

/**
 * Runs `work` with the live folder taken and held: LevelDB's lock kept from the read of its records
 * to the end of `work` (the renames), so no deploy script writes into the folder being replaced
 * after it was read; scripts are asked to hand it over, as for any command, and wait meanwhile.
 * LOCKED is thrown when another process keeps it (replacing the folder under it would lose its
 * writes); any other failure to open means the folder is damaged.
 */
async function withLiveFolder<T>(ctx: Pick<MigrationContext, 'files' | 'registry' | 'lockWait'>, work: (live: LiveFolder) => Promise<T>): Promise<T> {
  if (
    !(await stat(ctx.files.leveldb).then(
      () => true,
      () => false,
    ))
  )
    return work({ previous: 'missing' });
  const store = levelDbStore(ctx.files, { registry: ctx.registry, readOnly: true, ...(ctx.lockWait && { lockWait: ctx.lockWait }) });
  try {
    await store.open();
  } catch (error) {
    if (isStateError(error) && error.code === ErrorCodes.LOCKED) throw error;
    return work({ previous: 'damaged', detail: isStateError(error) ? `${error.code}: ${error.message}` : String(error) });
  }
  try {
    // Windows does not rename a folder holding files open: there the folder is let go just before.
    if (process.platform === 'win32') {
      const records = await timestampsOf(store);
      await store.close();
      return await work({ previous: 'healthy', records });
    }
    return await store.holdWhile(async () => work({ previous: 'healthy', records: await timestampsOf(store) }));
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** Staged copies a restore killed outright left beside the folder (the restore runs under the migration lock: none is another's). */
async function sweepStaged(ctx: Pick<MigrationContext, 'files'>): Promise<void> {
  for (const staged of stagedCopiesOf(ctx.files.leveldb)) await rm(staged, { recursive: true, force: true });
  await rm(swapMarkerOf(ctx.files.leveldb), { force: true });
}

/** Opens the staged copy and reads its content; CORRUPTED naming the backup when it does not open. */
async function readStaged(
  staged: string,
  backup: string,
  registry: NetworkRegistry,
): Promise<{ content: LevelDbContent; records: Map<string, Pick<DeploymentRecord, 'timestamp'>> }> {
  const store = new LevelDbStore({ path: staged, readOnly: true, idleCloseMs: 0, registry });
  try {
    await store.open();
    return { content: await digestContent(store), records: await timestampsOf(store) };
  } catch (error) {
    throw new StateError(ErrorCodes.CORRUPTED, `the LevelDB backup ${backup} does not open after copying: ${(error as Error).message}`, {
      file: backup,
      cause: error,
      hint: 'choose another backup (listBackups)',
    });
  } finally {
    await store.close().catch(() => undefined);
  }
}

const sameContent = (a: LevelDbContent, b: LevelDbContent): boolean =>
  a.digest === b.digest &&
  a.count === b.count &&
  a.undecodable.length === b.undecodable.length &&
  a.undecodable.every((k, i) => b.undecodable[i] === k);

/**
 * Puts a backup in place of the LevelDB folder, which may be damaged or missing. The backup is
 * copied beside the folder and checked there first (it opens; its digest is the one recorded when
 * it was taken), so a bad backup changes nothing; then the current folder is renamed aside (never
 * deleted) and the checked copy renamed into place.
 */
export async function restoreLevelDbFolder(
  ctx: Pick<MigrationContext, 'files' | 'registry' | 'now' | 'lockWait'>,
  backup?: string,
  options: {
    discardNewer?: boolean;
    /** For tests: runs while the live folder is aside and the checked copy not yet in place. */
    betweenRenames?: () => Promise<void>;
  } = {},
): Promise<LevelDbRestoreResult> {
  const state = await readState(ctx.files);
  assertMayRun('restore leveldb', { state, openSinceVerify: [] }, ctx.files.state);
  const backups = await listLevelDbBackups(ctx);
  const chosen = backup === undefined ? backups[backups.length - 1] : backups.find((b) => b === backup || b.includes(backup));
  if (!chosen)
    throw new StateError(
      ErrorCodes.BACKUP_NOT_FOUND,
      `no LevelDB backup${backup ? ` matching ${backup}` : ''} under ${ctx.files.backups}`,
      { file: ctx.files.backups },
    );

  await sweepStaged(ctx);
  const stamp = isoNow(ctx).replace(/[:.]/g, '-');
  const staged = await freePath(`${ctx.files.leveldb}${RESTORING_SUFFIX}${stamp}`);
  // Beside the committed folder: removed if a signal stops the process while it is only a copy.
  const dropStagedCleanup = removeOnInterrupt(staged);
  let restoredContent: LevelDbContent;
  let stagedRecords: Map<string, Pick<DeploymentRecord, 'timestamp'>>;
  let loss: RestoreLoss | undefined;
  const recorded = await readBackupDigest(chosen);
  try {
    // LOCK is per process; the copy gets its own when it opens.
    await cp(chosen, staged, { recursive: true, filter: (source) => source !== join(chosen, 'LOCK') });
    const read = await readStaged(staged, chosen, ctx.registry);
    restoredContent = read.content;
    if (recorded && !sameContent(recorded, restoredContent)) {
      throw new StateError(
        ErrorCodes.CORRUPTED,
        `the LevelDB backup ${chosen} does not hold what was recorded when it was taken (${recorded.count} records, digest ${recorded.digest.slice(0, 12)}; it holds ${restoredContent.count}, ${restoredContent.digest.slice(0, 12)})`,
        {
          file: chosen,
          hint: 'choose another backup (listBackups)',
        },
      );
    }
    stagedRecords = read.records;
  } catch (error) {
    // Only the staged copy made here is removed; the live folder was not touched.
    await rm(staged, { recursive: true, force: true });
    dropStagedCleanup();
    throw error;
  }

  // The live folder, taken and held from its read to its rename aside.
  let previous: LiveFolder['previous'] = 'missing';
  let previousDetail: string | undefined;
  let movedAside: string | null = null;
  try {
    await withLiveFolder(ctx, async (live) => {
      previous = live.previous;
      previousDetail = live.detail;
      // Records the live folder holds that the backup lacks, or holds older: never taken away unasked.
      loss = live.records === undefined ? undefined : restoreLoss(live.records, stagedRecords);
      if (loss !== undefined && restoreLossCount(loss) > 0 && options.discardNewer !== true)
        throw restoreLossError(ctx.files.leveldb, chosen, loss, 'pass discardNewer: true (`deploystate restore leveldb --discard-newer`)');
      // From here the copy is the restore itself: a signal between the two renames leaves it (and
      // the live folder moved aside), never removes it.
      dropStagedCleanup();
      // Beside the folder while it is swapped: a deploy script opening LevelDB between the renames
      // waits for the copy instead of finding no store, as a read-only command's snapshot does
      // (backend-leveldb's restore-swap.ts; the marker names this process, so a wait that ends
      // tells a restore still running from one that stopped).
      const marker = swapMarkerOf(ctx.files.leveldb);
      await writeFile(marker, swapMarkerText(staged));
      try {
        if (live.previous !== 'missing') {
          const aside = await freePath(`${ctx.files.leveldb}.replaced-${stamp}`);
          await rename(ctx.files.leveldb, aside);
          movedAside = aside;
        }
        await options.betweenRenames?.();
        await renameIntoPlace(staged, ctx.files.leveldb).catch((error: unknown) => {
          throw new StateError(fsErrorCode(error), `the checked copy ${staged} could not be renamed to ${ctx.files.leveldb}: ${(error as Error).message}`, {
            file: ctx.files.leveldb,
            hint: `the folder it replaces is at ${movedAside ?? '(there was none)'}; rename ${staged} to ${ctx.files.leveldb} by hand, or that folder back`,
            cause: error,
          });
        });
      } finally {
        await rm(marker, { force: true });
      }
    });
  } catch (error) {
    // Refused, or the folder could not be taken: the staged copy goes unless it is in place already.
    if (movedAside === null) await rm(staged, { recursive: true, force: true });
    dropStagedCleanup();
    throw error;
  }
  const detail = `from ${chosen} (${restoredContent.count} records${recorded ? ', digest as recorded' : ', no digest recorded with it'}); previous folder ${previous}${movedAside ? `, kept at ${movedAside}` : ''}`;
  await updateState(ctx.files, (s) => pushTiming(s, timing('restore-leveldb', ctx.now(), 'done', detail)));
  return {
    restored: chosen,
    movedAside,
    previous,
    ...(previousDetail !== undefined && { previousDetail }),
    restoredContent,
    digestRecorded: recorded !== undefined,
    ...(loss !== undefined && restoreLossCount(loss) > 0 && { discarded: [...loss.lacks, ...loss.older] }),
  };
}

// What LevelDB leaves in a folder it failed to open for want of CURRENT: it makes the folder, its
// LOCK and its LOG before it looks for CURRENT.
const FAILED_OPEN_LEFTOVERS = ['LOCK', 'LOG', 'LOG.old'];
const RENAME_ATTEMPTS = 5;

/**
 * Renames the restore's checked copy to the folder it replaces. A deploy script whose open raced
 * the first rename (its check saw the folder, LevelDB then found it gone) made the folder again
 * with only LevelDB's LOCK and LOG in it: the rename failed ENOTEMPTY, the restore stopped with
 * the live folder moved aside, and every deploy script failed (no CURRENT) until a hand rename.
 * Such leftovers are removed and the rename tried again; anything else is not.
 */
export async function renameIntoPlace(staged: string, target: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(staged, target);
      return;
    } catch (error) {
      const code = errnoCode(error);
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= RENAME_ATTEMPTS || !(await clearFailedOpen(target))) throw error;
    }
  }
}

/** Removes a folder that holds only what a failed LevelDB open leaves; false when it holds anything else. */
async function clearFailedOpen(folder: string): Promise<boolean> {
  const entries = await readdir(folder).catch(() => undefined);
  if (entries === undefined || !entries.every((name) => FAILED_OPEN_LEFTOVERS.includes(name))) return false;
  for (const name of entries) await rm(join(folder, name), { force: true });
  // Not empty again (another open meanwhile): the next attempt looks again.
  await rmdir(folder).catch(() => undefined);
  return true;
}

/** `path`, or `path-2`, `path-3`... whichever does not exist yet. */
async function freePath(path: string): Promise<string> {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? path : `${path}-${i}`;
    if (
      !(await stat(candidate).then(
        () => true,
        () => false,
      ))
    )
      return candidate;
  }
}
