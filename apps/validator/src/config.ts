// The project config as every deploystate tool reads it (core's `readProjectConfig`): the pre-commit
// check and CI refuse the file the CLI and deploy scripts refuse (an unknown or duplicated key, a
// field of the wrong shape), honour the same acknowledgements and name state files by the same networks.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ErrorCodes,
  PROJECT_CONFIG_FILE,
  projectRegistry,
  readProjectConfig,
  StateError,
  type Acknowledgement,
  type NetworkRegistry,
} from '@deploystate/core';

export const DEFAULT_CONFIG_FILE = PROJECT_CONFIG_FILE;

/** What validation takes from the config: its acknowledgements and the registry its networks make. */
export interface ValidatorConfig {
  acknowledgements: Acknowledgement[];
  registry: NetworkRegistry;
}

/**
 * `file` (default: ./deploystate.config.json, nothing configured when that is missing), read and
 * checked as the CLI reads it: INVALID_CONFIG or DUPLICATE_KEY naming the file, as there.
 */
export function readValidatorConfig(file: string | undefined, cwd: string = process.cwd()): ValidatorConfig {
  const path = resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  // A config named on the command line must be there; the default one may be absent.
  if (file !== undefined && !existsSync(path))
    throw new StateError(ErrorCodes.INVALID_CONFIG, `cannot read config ${path}: it does not exist`, { file: path });
  const config = readProjectConfig(cwd, { file: path });
  return { acknowledgements: config.acknowledge, registry: projectRegistry(config) };
}

/** The "acknowledge" list of `file` (default: ./deploystate.config.json, none when that is missing). */
export async function readAcknowledgements(file: string | undefined, cwd: string = process.cwd()): Promise<Acknowledgement[]> {
  return readValidatorConfig(file, cwd).acknowledgements;
}
