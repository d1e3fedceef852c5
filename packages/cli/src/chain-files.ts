// Each chain's file name is decided once, when its file is first created, and recorded in the
// config's "networks" (committed): the chain keeps that name whatever a later chain list says.
// Renaming a file is an explicit command (`deploystate rename-network`), with a backup.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rm, rmdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { withFileLock } from '@deploystate/backend-json/lock';
import { writeFileAtomic } from '@deploystate/backend-json/atomic';
import { ErrorCodes, errnoCode, fileSystemError, StateError, type NetworkDefinition } from '@deploystate/core';
import type { Context } from './context.js';
import { updateConfig } from './decisions.js';
import { stateDirOf } from './migration.js';

/** The state files in the deployments folder whose chain the config does not name yet, as config entries. */
export async function unrecordedChainFiles(ctx: Context): Promise<NetworkDefinition[]> {
  if (!existsSync(ctx.paths.deployments)) return [];
  const registry = ctx.registry();
  const recorded = new Set(ctx.config.networks.map((n) => n.chainId));
  const out: NetworkDefinition[] = [];
  for (const entry of await readdir(ctx.paths.deployments, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const chainId = registry.chainIdOfFile(entry.name);
    if (chainId === undefined || recorded.has(chainId)) continue;
    const info = registry.get(chainId);
    // chain-<id>.json needs no record: that name follows from the chainId alone.
    if (!info.known || entry.name !== `${info.name}.json`) continue;
    out.push({ chainId, name: info.name, ...(info.aliases.length > 0 && { aliases: info.aliases }), tier: info.tier });
    recorded.add(chainId);
  }
  return out;
}

/** Records every chain file's name in the config (after a command created files); returns what it added. */
export async function recordChainFiles(ctx: Context): Promise<NetworkDefinition[]> {
  const added = await unrecordedChainFiles(ctx);
  if (added.length === 0) return [];
  await updateConfig(ctx, (config) => {
    const networks = Array.isArray(config.networks) ? (config.networks as unknown[]) : [];
    // Another command may have recorded a chain since this one read the config: keep its entry.
    const recorded = new Set(networks.map((n) => (n as NetworkDefinition).chainId));
    config.networks = [...networks, ...added.filter((n) => !recorded.has(n.chainId))].sort((a, b) => (a as NetworkDefinition).chainId - (b as NetworkDefinition).chainId);
  });
  ctx.config.networks.push(...added);
  return added;
}

export interface RenameResult {
  chainId: number;
  from: string;
  to: string;
  /** The copy of the file as it was before the rename (absent when a finished rename's backup is gone). */
  backup?: string;
  /** True when this run finished an earlier rename that was stopped after the file moved. */
  resumed?: true;
}

/** The newest rename backup of one of `names` in the state folder. */
async function latestRenameBackup(ctx: Context, names: string[]): Promise<string | undefined> {
  const backups = join(stateDirOf(ctx), 'backups');
  const folders = (await readdir(backups).catch(() => [])).filter((n) => n.startsWith('rename-')).sort().reverse();
  for (const folder of folders) for (const name of names) if (existsSync(join(backups, folder, name))) return join(backups, folder, name);
  return undefined;
}

/**
 * Renames a chain's state file: a backup copy first, then the new name linked, the config's record,
 * and the old name removed (a durable copy in place of the link where the file system has no hard
 * links). A rename stopped part-way (Ctrl-C, a kill) leaves both names on the file (or on two of the
 * same bytes), or the file under its new name that the config does not know yet (an older version's
 * rename); running the same rename again finds it so and finishes.
 */
export async function renameChainFile(ctx: Context, chainId: number, name: string): Promise<RenameResult> {
  const registry = ctx.registry();
  const current = registry.get(chainId);
  const candidates = [`${current.name}.json`, `chain-${chainId}.json`];
  const fromName = candidates.find((n) => existsSync(join(ctx.paths.deployments, n)));
  const to = join(ctx.paths.deployments, `${name}.json`);
  const definition: NetworkDefinition = {
    chainId,
    name,
    aliases: [...new Set([...current.aliases, ...(current.known && current.name !== name ? [current.name] : [])])],
    tier: current.tier,
  };
  // Only a file that is exactly the backup this rename took of the old one: another file with the
  // chain's id (a legacy file, another tool's) is never adopted as the chain's state file.
  const taken = fromName === undefined && current.name !== name && existsSync(to) ? await latestRenameBackup(ctx, candidates) : undefined;
  if (taken !== undefined && readFileSync(taken).equals(readFileSync(to))) {
    registry.register(definition);
    await recordNetwork(ctx, definition);
    return { chainId, from: join(ctx.paths.deployments, basename(taken)), to, backup: taken, resumed: true };
  }
  if (!fromName)
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `chain ${chainId} has no state file in ${ctx.paths.deployments}`, {
      file: ctx.paths.deployments,
      hint: 'set its name in "networks" in deploystate.config.json before its file is created',
    });
  const from = join(ctx.paths.deployments, fromName);
  if (from === to) {
    // The config names it so already: a rename stopped after it recorded the name leaves the old name
    // on the same file (never another file: only a second name of this one goes).
    const old = [...current.aliases.map((alias) => `${alias}.json`), `chain-${chainId}.json`]
      .map((n) => join(ctx.paths.deployments, n))
      .filter((path) => path !== to && existsSync(path) && sameFileOrCopy(path, to));
    if (old.length === 0) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `chain ${chainId}'s state file is already ${name}.json`, { file: to });
    // Each under its own lock, which a script still writing the old name takes, and only while it is
    // still a second name of the file: one such a script replaced meanwhile holds its write.
    for (const path of old) await withFileLock(path, async () => void (sameFileOrCopy(path, to) ? await unlink(path) : refuseDiverged(path, to)));
    return { chainId, from: old[0] as string, to, resumed: true };
  }
  // Both names on one file (or on two of the same bytes, without hard links): a rename stopped
  // between its link and its unlink below, before the config recorded the new name.
  const halfway = existsSync(to) && sameFileOrCopy(from, to);
  if (existsSync(to) && !halfway) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${to} already exists; a rename never overwrites a file`, { file: to });
  // Registering the new name first turns a bad or taken name into INVALID_CONFIG before any file moves.
  registry.register(definition);
  const backupDir = join(stateDirOf(ctx), 'backups', `rename-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(backupDir, { recursive: true });
  const backup = join(backupDir, fromName);
  // Under the file's lock, which every write of it takes, so no deploy script's write is halfway
  // through it. The new name is linked first and the config records it before the old name goes:
  // at every moment one of the names the config gives is the file, so a script running meanwhile
  // (its store follows the config once its file is gone: JsonFileStoreOptions.chainRenamed) never
  // reads the chain as empty nor writes a second file under the old name. Where the file system has
  // no hard links (a FAT or exFAT drive, an SMB share) the new name is a durable copy instead, made
  // under the same lock, so no write comes between it and the old name's removal.
  let backedUp = false;
  try {
    await withFileLock(from, async () => {
      // Looked at again under the lock: a script writing the old name may have replaced it since.
      if (halfway && !sameFileOrCopy(from, to)) refuseDiverged(from, to);
      await copyFile(from, backup).catch((error: unknown) => {
        throw fileSystemError(error, backup, `could not back up ${from} to`);
      });
      backedUp = true;
      if (!halfway && !(await linked(from, to))) await writeFileAtomic(to, await readFile(from));
      await recordNetwork(ctx, definition);
      await unlink(from);
    });
  } catch (error) {
    // No backup was made (a full disk refused it): its folder goes, with any part of the copy, so
    // no empty rename-<time> folder stands for a backup that does not exist.
    if (!backedUp) {
      await rm(backup, { force: true }).catch(() => undefined);
      await rmdir(backupDir).catch(() => undefined);
    }
    throw error;
  }
  return { chainId, from, to, backup, ...(halfway && { resumed: true }) };
}

/** A rename stopped with both names on the file, one of which a script has since written: neither is removed. */
function refuseDiverged(old: string, renamed: string): never {
  throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${old} and ${renamed} were one file (a rename stopped part-way) and differ now: a script wrote one of them since; nothing was removed`, {
    file: old,
    hint: `compare the two files, keep the one with every record (deploystate validate lists both), and remove the other by hand; then run the rename again`,
  });
}

/**
 * Whether two paths name one file (a rename's link, before the old name went) or two files of the
 * same bytes (its copy, where there are no hard links): either way removing one loses nothing.
 */
function sameFileOrCopy(a: string, b: string): boolean {
  const [x, y] = [statSync(a, { throwIfNoEntry: false }), statSync(b, { throwIfNoEntry: false })];
  if (x === undefined || y === undefined) return false;
  if (x.ino === y.ino && x.dev === y.dev) return true;
  return x.isFile() && y.isFile() && x.size === y.size && readFileSync(a).equals(readFileSync(b));
}

/** `to` made a second name of `from`; false where the file system has no hard links. */
async function linked(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${to} already exists; a rename never overwrites a file`, { file: to, cause: error });
    if (['EPERM', 'ENOTSUP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes(code ?? '')) return false;
    throw error;
  }
}

/** Records a chain's file name in the config's "networks", in place of its entry there. */
function recordNetwork(ctx: Context, definition: NetworkDefinition): Promise<string> {
  return updateConfig(ctx, (config) => {
    const networks = (Array.isArray(config.networks) ? (config.networks as NetworkDefinition[]) : []).filter((n) => n.chainId !== definition.chainId);
    config.networks = [...networks, definition].sort((a, b) => a.chainId - b.chainId);
  });
}
