// The part of the project's deploystate.config.json that decides where deploy scripts read and
// write: the three paths and the project's networks (which name the JSON files). The drop-in state
// module and the CLI both read the file here (the CLI then reads its own fields from `fields`), so
// deploy scripts use the same store the CLI migrates. Imports only core: the CLI loads it alone
// (`@deploystate/migrator/project-config`) on every command.
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { errnoCode, ErrorCodes, isStateError, NetworkRegistry, parseLosslessDocument, StateError, type NetworkDefinition } from '@deploystate/core';

export const PROJECT_CONFIG_FILE = 'deploystate.config.json';

export interface ProjectConfig {
  /** Absolute paths, resolved against the file's folder; undefined when the file does not name one. */
  leveldb?: string;
  deployments?: string;
  stateDir?: string;
  networks: NetworkDefinition[];
  /** The file read; undefined when there is none. */
  file?: string;
  /** Every field of the file as parsed (empty without a file), for callers that read more of it. */
  fields: Record<string, unknown>;
}

/**
 * `<cwd>/deploystate.config.json` (or `options.file`, resolved against cwd), or nothing configured
 * when it does not exist; INVALID_CONFIG naming the file when malformed or not readable
 * (PERMISSION_DENIED when the system denies access).
 */
export function readProjectConfig(cwd: string, options: { file?: string } = {}): ProjectConfig {
  const file = resolve(cwd, options.file ?? PROJECT_CONFIG_FILE);
  const text = readConfigText(file);
  if (text === undefined) return { networks: [], fields: {} };
  const fields = parseConfigText(text, file);
  const config: ProjectConfig = { networks: [], file, fields };
  for (const name of ['leveldb', 'deployments', 'stateDir'] as const) {
    const value = fields[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new StateError(ErrorCodes.INVALID_CONFIG, `${name} must be a path`, { file });
    config[name] = isAbsolute(value) ? value : resolve(dirname(file), value);
  }
  const networks = fields.networks ?? [];
  if (!Array.isArray(networks)) {
    throw new StateError(ErrorCodes.INVALID_CONFIG, 'networks must be an array of { chainId, name, aliases?, tier }', { file });
  }
  config.networks = networks as NetworkDefinition[];
  return config;
}

/** The file's text; undefined when there is none. A file there that cannot be read is never taken for no file. */
function readConfigText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    const denied = code === 'EACCES' || code === 'EPERM';
    throw new StateError(denied ? ErrorCodes.PERMISSION_DENIED : ErrorCodes.INVALID_CONFIG, `cannot read ${file}: ${(error as Error).message}`, {
      file,
      hint: denied ? 'give this user read access to it' : 'it must be a readable JSON file: restore it from git',
      cause: error,
    });
  }
}

/** A config file's text as its object; text that is not a JSON object is INVALID_CONFIG naming the file (and where the JSON breaks). */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    const parsed = parseLosslessDocument(text, { source: file });
    // JSON.parse keeps the last of two equal keys (a merge resolved by keeping both lines): the other
    // value, an exclusion list or a chain's file name, would be ignored, and dropped by the next rewrite.
    if (parsed.duplicate) {
      const { key, pointer, position } = parsed.duplicate;
      throw new StateError(
        ErrorCodes.DUPLICATE_KEY,
        `${file}: key ${JSON.stringify(key)} appears twice in ${pointer || 'the top-level object'} (line ${position.line}, column ${position.column}); neither value is used and the file is not rewritten`,
        { file, position, hint: `keep one of the two by hand (\`git log -p ${basename(file)}\` shows where each came from), then run again` },
      );
    }
    raw = parsed.value;
  } catch (error) {
    // The parser says CORRUPTED (a damaged record); in the config it is a file to fix by hand.
    if (!isStateError(error, ErrorCodes.CORRUPTED)) throw error;
    const at = error.position ? ` at line ${error.position.line}, column ${error.position.column}` : '';
    throw new StateError(ErrorCodes.INVALID_CONFIG, error.message, {
      file,
      ...(error.position !== undefined && { position: error.position }),
      cause: error,
      hint: `fix the JSON${at} (a git merge conflict?); \`git diff ${basename(file)}\` shows what changed`,
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StateError(ErrorCodes.INVALID_CONFIG, `${file} must hold a JSON object`, { file });
  return raw as Record<string, unknown>;
}

/** The default registry with the project's networks registered; a malformed entry is INVALID_CONFIG naming the file. */
export function projectRegistry(config: ProjectConfig): NetworkRegistry {
  const registry = new NetworkRegistry();
  try {
    for (const network of config.networks) registry.register(network);
  } catch (error) {
    if (error instanceof StateError) throw new StateError(ErrorCodes.INVALID_CONFIG, error.message, { file: config.file, cause: error });
    throw error;
  }
  return registry;
}
