// The project config's recorded acknowledgements, read without the migrator: the pre-commit check
// and CI honour the same decisions as `deploystate validate`.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errnoCode, ErrorCodes, parseAcknowledgements, parseLossless, StateError, withoutByteOrderMark, type Acknowledgement } from '@deploystate/core';

export const DEFAULT_CONFIG_FILE = 'deploystate.config.json';

/** The "acknowledge" list of `file` (default: ./deploystate.config.json, none when that is missing). */
export async function readAcknowledgements(file: string | undefined, cwd: string = process.cwd()): Promise<Acknowledgement[]> {
  const path = resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (file === undefined && errnoCode(error) === 'ENOENT') return [];
    throw new StateError(ErrorCodes.INVALID_CONFIG, `cannot read config ${path}`, { file: path, cause: error });
  }
  // A byte-order mark an editor saved is read past, as the CLI and deploy scripts read the file.
  const config = parseLossless(withoutByteOrderMark(text), { source: path });
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new StateError(ErrorCodes.INVALID_CONFIG, `${path} must hold a JSON object`, { file: path });
  return parseAcknowledgements((config as Record<string, unknown>).acknowledge, path);
}
