// The options of the store a deploy script opens, completed from the project's
// deploystate.config.json as the CLI reads it: the paths and the networks (which name the JSON
// files, e.g. after `rename-network`), and how long LevelDB's lock is waited for. So a script, the
// drop-in state module and the CLI see the same files and wait alike. Options passed explicitly
// win over the file (and DEPLOYSTATE_LOCK_WAIT_MS over its `lockWaitMs`).
import { projectLockWaitMs } from '@deploystate/core';
import { projectRegistry, readProjectConfig } from './project-config.js';
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
  if (leveldb !== undefined && deployments !== undefined && stateDir !== undefined && registry !== undefined && waitGiven) return options;
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
  };
}
