// The options of the store a deploy script opens, completed from the project's
// deploystate.config.json as the CLI reads it: the paths and the networks (which name the JSON
// files, e.g. after `rename-network`), and how long LevelDB's lock is waited for. So a script, the
// drop-in state module and the CLI see the same files and wait alike. Options passed explicitly
// win over the file (and DEPLOYSTATE_LOCK_WAIT_MS over its `lockWaitMs`).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectLockWaitMs, type NetworkRegistry } from '@deploystate/core';
import { PROJECT_CONFIG_FILE, projectRegistry, readProjectConfig } from './project-config.js';
import type { MigrationOptions } from './types.js';

export interface ProjectConfigOption {
  /**
   * Read `<cwd>/deploystate.config.json` for the paths and networks the options leave out, as the
   * CLI does (default true). false: only the options and the built-in defaults count.
   */
  projectConfig?: boolean;
}

/**
 * The options with what the project's config file names filled in where they name nothing: the
 * file's `lockWaitMs` only where neither the options nor DEPLOYSTATE_LOCK_WAIT_MS in `env` set the
 * wait. The file is read once per call, and not at all when the options name every path, the
 * registry and the wait (it could change nothing). A file that cannot be read or is malformed
 * throws, naming it; so does a malformed DEPLOYSTATE_LOCK_WAIT_MS.
 */
export function withProjectConfig<T extends MigrationOptions & ProjectConfigOption>(options: T, env: NodeJS.ProcessEnv = {}): T {
  if (options.projectConfig === false) return options;
  const { leveldb, deployments, stateDir, registry } = options;
  const waitGiven = projectLockWaitMs(options.lockWaitMs, env, undefined) !== undefined;
  if (leveldb !== undefined && deployments !== undefined && stateDir !== undefined && registry !== undefined && waitGiven && options.leveldbSync !== undefined)
    return options;
  const config = readProjectConfig(options.cwd ?? process.cwd());
  if (config.file === undefined) return options;
  const waited = projectLockWaitMs(options.lockWaitMs, env, config.lockWaitMs);
  return {
    ...options,
    leveldb: leveldb ?? config.leveldb,
    deployments: deployments ?? config.deployments,
    stateDir: stateDir ?? config.stateDir,
    registry: registry ?? projectRegistry(config),
    ...(waited !== undefined && { lockWaitMs: waited }),
    ...((options.leveldbSync ?? config.leveldbSync) !== undefined && { leveldbSync: options.leveldbSync ?? config.leveldbSync }),
  };
}

/**
 * A store's JsonFileStoreOptions.chainRenamed over `registry`, which `<cwd>/deploystate.config.json`
 * filled: when the file changed since it was last read (its stat), its networks are read again and
 * each chain it names otherwise than the registry does, whose file is there under that name, is registered under it, so a
 * script running through `deploystate rename-network` follows the file. True when a name changed
 * (for `chainId`, when given). A file that cannot be read now changes nothing.
 */
export function followConfigRenames(cwd: string, deployments: string, registry: NetworkRegistry): (chainId?: number) => boolean {
  const file = resolve(cwd, PROJECT_CONFIG_FILE);
  let seen: string | undefined;
  return (chainId) => {
    let signature: string | undefined;
    try {
      const stats = statSync(file, { throwIfNoEntry: false });
      signature = stats && `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch {
      return false; // Not readable now: nothing learnt, asked again at the next miss.
    }
    if (signature === undefined || signature === seen) return false;
    let changed = false;
    let settled = true;
    try {
      for (const network of readProjectConfig(cwd).networks) {
        if (registry.fileName(network.chainId) === `${network.name}.json`) continue;
        // Only to a file that is there: a name changed in the config alone never leads a read to no
        // file. While the old name is still there, looked at again at the next miss (the file may be
        // moved after the config changed: `git mv`).
        if (!existsSync(join(deployments, `${network.name}.json`))) {
          if (existsSync(join(deployments, registry.fileName(network.chainId)))) settled = false;
          continue;
        }
        registry.register(network);
        if (chainId === undefined || network.chainId === chainId) changed = true;
      }
    } catch {
      settled = false; // A config saved half-way, say: read again at the next miss.
    }
    // This version of the file is not read again once everything it names was followed.
    if (settled) seen = signature;
    return changed;
  };
}
