// The options of the store a deploy script opens, completed from the project's
// deploystate.config.json as the CLI reads it: the paths and the networks (which name the JSON
// files, e.g. after `rename-network`). So a script, the drop-in state module and the CLI see the
// same files. Options passed explicitly win over the file.
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
 * The options with what the project's config file names filled in where they name nothing. The
 * file is read once per call, and not at all when the options name every path and the registry
 * (it could change nothing). A file that cannot be read or is malformed throws, naming it.
 */
export function withProjectConfig<T extends MigrationOptions & ProjectConfigOption>(options: T): T {
  if (options.projectConfig === false) return options;
  const { leveldb, deployments, stateDir, registry } = options;
  if (leveldb !== undefined && deployments !== undefined && stateDir !== undefined && registry !== undefined) return options;
  const config = readProjectConfig(options.cwd ?? process.cwd());
  if (config.file === undefined) return options;
  return {
    ...options,
    leveldb: leveldb ?? config.leveldb,
    deployments: deployments ?? config.deployments,
    stateDir: stateDir ?? config.stateDir,
    registry: registry ?? projectRegistry(config),
  };
}
