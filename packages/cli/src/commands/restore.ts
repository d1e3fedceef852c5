// `deploystate restore [target]`: a network's JSON file (target: its name or chainId) from the JSON
// backend's backups, or the LevelDB folder (target: `leveldb`) from the migrator's backup. The
// global --leveldb stays the store's path. `--list` without a target lists every backup there is.
// Shows what it will replace and asks first.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { listed } from '../render.js';

const LEVELDB_TARGET = 'leveldb';

function chainOf(ctx: Context, network: string): number {
  const registry = ctx.registry();
  const chainId = /^\d+$/.test(network) ? Number(network) : registry.chainIdOf(network);
  if (chainId === undefined)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `restore ${network}: not a known network name or chainId, nor "leveldb"`, {
      hint: 'use the chainId, `leveldb` for the LevelDB folder, or add the network to "networks" in deploystate.config.json',
    });
  return chainId;
}

/**
 * A list of backups for a person: the folder once, then each backup by its name, the name `--backup`
 * takes, on a row of its own (a full path at 70 columns was broken inside the name). A backup in
 * another folder (a `chain-<id>.json` one) keeps its path.
 */
function backupLines(heading: string, backups: readonly string[]): string[] {
  const folder = backups[0] === undefined ? undefined : dirname(backups[0]);
  return [`${heading}, newest first, in ${folder}:`, ...backups.map((b) => `  ${dirname(b) === folder ? basename(b) : b}`)];
}

/** `--backup` as given: a path, or the name of one of the file's backups as `--list` shows it. */
function backupPath(given: string | undefined, backups: readonly string[]): string | undefined {
  if (given === undefined || given.includes('/')) return given;
  return backups.find((b) => basename(b) === given) ?? given;
}

async function jsonStore(ctx: Context) {
  const { networkFilesStore } = await import('@deploystate/migrator');
  return networkFilesStore(ctx.paths, ctx.registry());
}

/** Every network file that has backups: the folders under the JSON backend's backups. */
async function listEverything(ctx: Context): Promise<void> {
  const { STATE_DIR } = await import('@deploystate/backend-json');
  const store = await jsonStore(ctx);
  const registry = ctx.registry();
  const folders = await readdir(join(ctx.paths.deployments, STATE_DIR, 'backups')).catch(() => [] as string[]);
  const chains = [...new Set(folders.map((name) => registry.chainIdOfFile(name)).filter((id): id is number => id !== undefined))].sort(
    (a, b) => a - b,
  );
  const files: Array<{ chainId: number; file: string; backups: string[] }> = [];
  for (const chainId of chains) files.push({ chainId, file: store.fileFor(chainId), backups: await store.listBackups(chainId) });
  const { existsSync } = await import('node:fs');
  const { stateDirOf } = await import('../migration.js');
  const hasMigration = existsSync(ctx.paths.leveldb) || existsSync(join(stateDirOf(ctx), 'state.json'));
  const leveldb = hasMigration ? await withMigration(ctx, (migration) => migration.listBackups()) : [];
  ctx.out.result({ files, leveldb: { folder: ctx.paths.leveldb, backups: leveldb } }, () => [
    ...(files.length === 0 ? ['no backups of network files'] : []),
    ...files.flatMap((f) => (f.backups.length === 0 ? [] : backupLines(`backups of ${f.file}`, f.backups))),
    ...(leveldb.length === 0 ? ['no LevelDB backups'] : levelDbBackupLines(leveldb)),
    'restore one with `deploystate restore <network|chainId|leveldb> [--backup <name>]`',
  ]);
}

async function restoreFile(ctx: Context, network: string, options: Record<string, unknown>): Promise<void> {
  const chainId = chainOf(ctx, network);
  const store = await jsonStore(ctx);
  const file = store.fileFor(chainId);
  const backups = await store.listBackups(chainId);
  if (options.list === true) {
    ctx.out.result({ chainId, file, backups }, () =>
      backups.length === 0 ? [`no backups of ${file}`] : backupLines(`backups of ${file}`, backups),
    );
    return;
  }
  const backup = backupPath(options.backup === undefined ? undefined : String(options.backup), backups);
  if (backups.length === 0 && backup === undefined) {
    throw new StateError(ErrorCodes.BACKUP_NOT_FOUND, `no backups of ${file}`, { file });
  }
  await ctx.confirm('restore', [
    `replace ${file} with ${backup ?? (options.older === true ? 'the newest intact backup that parses (the version the store last wrote, unless that is damaged too)' : 'the version the store last wrote (refused if it was changed in place: --older takes the one before)')}`,
    'back up the current file first',
  ]);
  // The last version written, damaged in place, is never swapped for an older one without asking (--older, or --backup).
  const result = await store.restore(chainId, backup, { olderVersion: options.older === true, discardNewer: options.discardNewer === true });
  // [coowned] The version the store last wrote, restored, is the product's own write: the file as
  // restored is the new baseline. An older one is not: what the store wrote since stays expected,
  // so `repair-files` finds it missing and puts it back (from the journal, or LevelDB).
  const older = !result.version.lastWritten;
  if (!older) await (await import('@deploystate/migrator')).acceptNetworkFiles(ctx.migrationOptions(), [chainId]);
  ctx.out.result(
    { chainId, file, restored: result.restored, version: result.version, replacedBackup: result.replacedBackup ?? null, discarded: result.discarded ?? [] },
    () => [
      ctx.out.paint.green(`✔ ${file} restored from ${result.restored}`),
      `  version: ${describeVersion(result.version)}`,
      ...(result.replacedBackup ? [`  the file it replaced is kept at ${result.replacedBackup}`] : []),
      ...discardedLines(ctx, result.discarded),
      ...(older ? [ctx.out.paint.yellow('  an older version than the store last wrote: `deploystate repair-files` puts back what it wrote since')] : []),
    ],
  );
}

/** The records a restore took away (--discard-newer): they stay in what it replaced, kept aside. */
function discardedLines(ctx: Context, discarded: readonly string[] | undefined): string[] {
  if (!discarded || discarded.length === 0) return [];
  return [ctx.out.paint.yellow(`  ${discarded.length} record(s) it held are not in the restored version (--discard-newer): ${listed(discarded, 10)}`)];
}

/** Which version a restore put back, in words. */
function describeVersion(version: {
  time: string;
  kind: 'written' | 'replaced';
  lastWritten: boolean;
  newerWrites: number | null;
  intact: boolean;
}): string {
  const when = version.time === '' ? 'at an unknown time' : `at ${version.time}`;
  if (version.kind === 'replaced') return `a version the store did not write (kept when it was replaced ${when})`;
  const which = version.lastWritten ? 'the last version the store wrote' : `a version the store wrote, ${version.newerWrites} write(s) before the last`;
  return `${which}, written ${when}${version.intact ? '' : ' (changed in place since it was written)'}`;
}

/** LevelDB backups (`<backups>/<name>/leveldb`, listed oldest first) by the name `restore leveldb --backup` takes, newest first. */
function levelDbBackupLines(backups: readonly string[]): string[] {
  const newestFirst = [...backups].reverse();
  return [`LevelDB backups, newest first, in ${dirname(dirname(backups[0] as string))}:`, ...newestFirst.map((b) => `  ${basename(dirname(b))}`)];
}

async function restoreLevelDb(ctx: Context, options: Record<string, unknown>): Promise<void> {
  await withMigration(ctx, async (migration) => {
    const backup = options.backup === undefined ? undefined : String(options.backup);
    if (options.list === true) {
      const list = await migration.listBackups();
      ctx.out.result({ leveldb: ctx.paths.leveldb, backups: list }, () =>
        list.length === 0 ? ['no LevelDB backups'] : levelDbBackupLines(list),
      );
      return;
    }
    await ctx.confirm('restore', [
      `replace the LevelDB folder ${ctx.paths.leveldb} with ${backup ?? 'its newest backup'}`,
      'keep the current folder aside, renamed, so nothing is lost',
    ]);
    const result = await migration.restoreLevelDb(backup, { discardNewer: options.discardNewer === true });
    ctx.out.result({ leveldb: ctx.paths.leveldb, ...result, discarded: result.discarded ?? [] }, () => [
      ctx.out.paint.green(`✔ LevelDB restored at ${ctx.paths.leveldb} from ${result.restored} (${result.restoredContent.count} records)`),
      result.movedAside === null ? 'there was no LevelDB folder to replace' : `the folder it replaced is kept at ${result.movedAside}`,
      ...discardedLines(ctx, result.discarded),
    ]);
  });
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const target = args[0] === undefined ? undefined : String(args[0]);
  if (options.file !== undefined)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'restore takes its target as an argument: `deploystate restore <network|chainId|leveldb>`', {
      hint: `deploystate restore ${String(options.file)}`,
    });
  if (target === undefined) {
    if (options.list === true) return listEverything(ctx);
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'restore needs a target: a network name or chainId, or `leveldb`', {
      hint: '`deploystate restore --list` shows every backup there is',
    });
  }
  if (target === LEVELDB_TARGET) return restoreLevelDb(ctx, options);
  return restoreFile(ctx, target, options);
}
