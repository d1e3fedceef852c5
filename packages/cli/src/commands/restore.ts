// `deploystate restore`: a network's JSON file from the JSON backend's backups, or the LevelDB
// folder from the migrator's backup. Shows what it will replace and asks first.
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';

function chainOf(ctx: Context, network: string): number {
  const registry = ctx.registry();
  const chainId = /^\d+$/.test(network) ? Number(network) : registry.chainIdOf(network);
  if (chainId === undefined)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--file ${network}: not a known network name or chainId`, {
      hint: 'use the chainId, or add the network to "networks" in deploystate.config.json',
    });
  return chainId;
}

async function restoreFile(ctx: Context, network: string, options: Record<string, unknown>): Promise<void> {
  const chainId = chainOf(ctx, network);
  const { JsonFileStore } = await import('@deploystate/backend-json');
  const store = new JsonFileStore({ dir: ctx.paths.deployments, registry: ctx.registry() });
  const file = store.fileFor(chainId);
  const backups = await store.listBackups(chainId);
  if (options.list === true) {
    ctx.out.result({ chainId, file, backups }, () =>
      backups.length === 0 ? [`no backups of ${file}`] : [`backups of ${file}, newest first:`, ...backups.map((b) => `  ${b}`)],
    );
    return;
  }
  const backup = options.backup === undefined ? undefined : String(options.backup);
  if (backups.length === 0 && backup === undefined) {
    throw new StateError(ErrorCodes.BACKUP_NOT_FOUND, `no backups of ${file}`, { file });
  }
  await ctx.confirm('restore', [
    `replace ${file} with ${backup ?? `the newest backup that parses (${backups[0]})`}`,
    'back up the current file first',
  ]);
  const result = await store.restore(chainId, backup);
  // [coowned] A restore is the product's own write: the file as restored is the new baseline.
  await (await import('@deploystate/migrator')).acceptNetworkFiles(ctx.migrationOptions(), [chainId]);
  ctx.out.result({ chainId, file, restored: result.restored }, () => ctx.out.paint.green(`✔ ${file} restored from ${result.restored}`));
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const file = options.file;
  const leveldb = options.leveldb !== undefined && options.leveldb !== false;
  if ((file === undefined) === !leveldb) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'restore needs exactly one of --file <network> or --leveldb [path]');
  }
  if (file !== undefined) return restoreFile(ctx, String(file), options);
  await withMigration(ctx, async (migration) => {
    const backup = options.backup === undefined ? undefined : String(options.backup);
    if (options.list === true) {
      const list = await migration.listBackups();
      ctx.out.result({ leveldb: ctx.paths.leveldb, backups: list }, () =>
        list.length === 0 ? ['no LevelDB backups'] : ['LevelDB backups, newest first:', ...list.map((b) => `  ${b}`)],
      );
      return;
    }
    await ctx.confirm('restore', [
      `replace the LevelDB folder ${ctx.paths.leveldb} with ${backup ?? 'its newest backup'}`,
      'keep the current folder aside, renamed, so nothing is lost',
    ]);
    const result = await migration.restoreLevelDb(backup);
    ctx.out.result({ leveldb: ctx.paths.leveldb, ...result }, () => [
      ctx.out.paint.green(`✔ LevelDB restored at ${ctx.paths.leveldb} from ${result.restored}`),
      result.movedAside === null ? 'there was no LevelDB folder to replace' : `the folder it replaced is kept at ${result.movedAside}`,
    ]);
  });
}
