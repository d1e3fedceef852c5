// The project's deploystate.config.json, read and checked once for every reader: the paths and the
// project's networks (which name the JSON files), the exclusions, acknowledgements, project checks
// and endpoints. The drop-in state module, the CLI (through `@deploystate/migrator/project-config`)
// and the validator all read the file here, so each refuses the same file with the same code.
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parseAcknowledgements, type Acknowledgement } from './acknowledgements.js';
import { withoutByteOrderMark } from './byte-order-mark.js';
import { describeValue } from './describe-value.js';
import { parseLosslessDocument, positionOf } from './codec.js';
import { errnoCode, ErrorCodes, isStateError, StateError, type StateErrorDetails } from './errors.js';
import { nearestKey } from './nearest-key.js';
import { NetworkRegistry, type NetworkDefinition } from './registry.js';

export const PROJECT_CONFIG_FILE = 'deploystate.config.json';

/**
 * Every key the file may hold. Any other is refused: a misspelt path (`levelDb`, `deployment`)
 * would otherwise leave the default path in force, and a deploy script reading an empty store
 * there redeploys contracts that exist.
 */
export const PROJECT_CONFIG_KEYS = ['leveldb', 'deployments', 'stateDir', 'networks', 'exclude', 'acknowledge', 'projectChecks', 'rpc', 'lockWaitMs', 'leveldbSync'] as const;

/**
 * The keys an entry of each list may hold (core's `NetworkDefinition` and `Acknowledgement`). Refused
 * like a top-level typo: `"alias"` for `aliases` would leave a chain's alias unregistered, `"notes"`
 * an acknowledgement's reason unrecorded, without a word.
 */
export const PROJECT_CONFIG_ENTRY_KEYS = {
  networks: ['chainId', 'name', 'aliases', 'tier'],
  acknowledge: ['file', 'key', 'code', 'digest', 'note'],
} as const satisfies Partial<Record<(typeof PROJECT_CONFIG_KEYS)[number], readonly string[]>>;

export interface ProjectConfig {
  /** Absolute paths, resolved against the file's folder; undefined when the file does not name one. */
  leveldb?: string;
  deployments?: string;
  stateDir?: string;
  networks: NetworkDefinition[];
  /** Record keys left out of migration; validated here, as every field is, so the CLI and deploy scripts refuse the same file. */
  exclude: string[];
  acknowledge: Acknowledgement[];
  /** The project's own commands for runbook checks, by check name. */
  projectChecks: Record<string, string>;
  /** Endpoints by chain id, for `verify-chain` (which checks each entry). */
  rpc?: Record<string, unknown>;
  /**
   * How long an open of LevelDB waits for another process's lock, in milliseconds, for every command
   * and deploy script of the project; DEPLOYSTATE_LOCK_WAIT_MS and a call's `lockWaitMs` win over it.
   */
  lockWaitMs?: number;
  /**
   * Deploy scripts' LevelDB puts synced to disk before they return (`createStateStore()`; the
   * option wins over it). Left out: not synced, as the legacy `level` module wrote.
   */
  leveldbSync?: boolean;
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
  const read = readConfigText(file);
  if (read === undefined) return { networks: [], exclude: [], acknowledge: [], projectChecks: {}, fields: {} };
  const text = withoutByteOrderMark(read);
  const fields = parseConfigText(text, file);
  refuseUnknownKeys(fields, text, file);
  try {
    return checkedConfig(fields, file);
  } catch (error) {
    throw placedAtField(error, text, file);
  }
}

/** The config's fields checked one by one; INVALID_CONFIG with `data.field` naming the first of the wrong shape. */
function checkedConfig(fields: Record<string, unknown>, file: string): ProjectConfig {
  const at = <T>(field: string, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      if (isStateError(error, ErrorCodes.INVALID_CONFIG) && error.data?.field === undefined)
        throw new StateError(error.code, error.message, { ...detailsOf(error), data: { ...error.data, field } });
      throw error;
    }
  };
  const config: ProjectConfig = {
    networks: [],
    exclude: at('exclude', () => strings(fields.exclude, 'exclude', file)),
    acknowledge: at('acknowledge', () => parseAcknowledgements(fields.acknowledge, file)),
    projectChecks: at('projectChecks', () => commands(fields.projectChecks, file)),
    file,
    fields,
  };
  const rpc = fields.rpc;
  if (rpc !== undefined && rpc !== null) {
    if (typeof rpc !== 'object' || Array.isArray(rpc)) {
      throw new StateError(ErrorCodes.INVALID_CONFIG, 'rpc must map a chain id to an endpoint URL', {
        file,
        hint: '"rpc": { "56": "https://bsc-dataseed.bnbchain.org" }',
        data: { field: 'rpc' },
      });
    }
    config.rpc = rpc as Record<string, unknown>;
  }
  const lockWaitMs = fields.lockWaitMs;
  if (lockWaitMs !== undefined) {
    // A JSON number of whole milliseconds: "15000" in quotes, 1.5 or -1 would leave the wait unclear.
    if (typeof lockWaitMs !== 'number' || !Number.isSafeInteger(lockWaitMs) || lockWaitMs < 0)
      throw new StateError(ErrorCodes.INVALID_CONFIG, `lockWaitMs must be a whole number of milliseconds >= 0, got ${describeValue(lockWaitMs)}`, {
        file,
        hint: '"lockWaitMs": 5000 (or leave it out for the default wait, about 15 s)',
        data: { field: 'lockWaitMs' },
      });
    config.lockWaitMs = lockWaitMs;
  }
  const leveldbSync = fields.leveldbSync;
  if (leveldbSync !== undefined) {
    if (typeof leveldbSync !== 'boolean')
      throw new StateError(ErrorCodes.INVALID_CONFIG, `leveldbSync must be true or false, got ${describeValue(leveldbSync)}`, {
        file,
        hint: '"leveldbSync": true (or leave it out: LevelDB puts are not synced, as before the migration)',
        data: { field: 'leveldbSync' },
      });
    config.leveldbSync = leveldbSync;
  }
  for (const name of ['leveldb', 'deployments', 'stateDir'] as const) {
    const value = fields[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new StateError(ErrorCodes.INVALID_CONFIG, `${name} must be a path`, { file, data: { field: name } });
    config[name] = isAbsolute(value) ? value : resolve(dirname(file), value);
  }
  const networks = fields.networks ?? [];
  if (!Array.isArray(networks)) {
    throw new StateError(ErrorCodes.INVALID_CONFIG, 'networks must be an array of { chainId, name, aliases?, tier }', { file, data: { field: 'networks' } });
  }
  config.networks = networks as NetworkDefinition[];
  // Registering now turns a malformed entry into INVALID_CONFIG naming the file, for every reader.
  at('networks', () => projectRegistry(config));
  return config;
}

/**
 * A field of the wrong shape, placed: the file and where the field's key stands in it, in the
 * message and as `position`, as an unknown key is (a script's `e.message` shows it all).
 */
function placedAtField(error: unknown, text: string, file: string): unknown {
  if (!isStateError(error, ErrorCodes.INVALID_CONFIG) || error.position !== undefined) return error;
  const field = error.data?.field;
  const offset = typeof field === 'string' ? keyOffsets(text).get(`/${escapePointer(field)}`) : undefined;
  const position = offset === undefined ? undefined : positionOf(text, offset);
  const where = position === undefined ? '' : ` (line ${position.line}, column ${position.column})`;
  const message = error.message.startsWith(file) ? error.message : `${file}: ${error.message}${where}`;
  return new StateError(error.code, message, { ...detailsOf(error), file, ...(position !== undefined && { position }) });
}

/** An error's details, to make one like it. */
const detailsOf = (error: StateError): StateErrorDetails => ({
  ...(error.file !== undefined && { file: error.file }),
  ...(error.key !== undefined && { key: error.key }),
  ...(error.position !== undefined && { position: error.position }),
  ...(error.hint !== undefined && { hint: error.hint }),
  ...(error.data !== undefined && { data: error.data }),
  cause: error.cause,
});

function strings(value: unknown, what: string, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new StateError(ErrorCodes.INVALID_CONFIG, `${what} must be an array of strings`, { file, hint: `"${what}": ["56-OldToken"]` });
  }
  return value as string[];
}

function commands(value: unknown, file: string): Record<string, string> {
  if (value === undefined) return {};
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    Object.values(value).some((command) => typeof command !== 'string' || command.trim() === '')
  )
    throw new StateError(ErrorCodes.INVALID_CONFIG, 'projectChecks must map a check name to a shell command', {
      file,
      hint: '"projectChecks": { "hardhat-integration": "npx hardhat test" }',
    });
  return value as Record<string, string>;
}

/**
 * INVALID_CONFIG naming the first key the tool does not know (top level first, then inside each
 * list's entries), its path, where it is, and the known key it most likely meant.
 */
function refuseUnknownKeys(fields: Record<string, unknown>, text: string, file: string): void {
  const unknown: { path: string; pointer: string; key: string; known: readonly string[] }[] = [];
  for (const key of Object.keys(fields)) {
    if (!(PROJECT_CONFIG_KEYS as readonly string[]).includes(key)) unknown.push({ path: key, pointer: `/${escapePointer(key)}`, key, known: PROJECT_CONFIG_KEYS });
  }
  if (unknown.length === 0) {
    for (const [list, known] of Object.entries(PROJECT_CONFIG_ENTRY_KEYS)) {
      const entries = fields[list];
      if (!Array.isArray(entries)) continue;
      entries.forEach((entry: unknown, i) => {
        // An entry that is no object is refused by the field's own check, with its shape.
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return;
        for (const key of Object.keys(entry)) {
          if (!(known as readonly string[]).includes(key)) unknown.push({ path: `${list}[${i}].${key}`, pointer: `/${list}/${i}/${escapePointer(key)}`, key, known });
        }
      });
    }
  }
  if (unknown.length === 0) return;
  const offsets = keyOffsets(text);
  unknown.sort((a, b) => (offsets.get(a.pointer) ?? 0) - (offsets.get(b.pointer) ?? 0));
  const first = unknown[0] as (typeof unknown)[number];
  const offset = offsets.get(first.pointer);
  const position = offset === undefined ? undefined : positionOf(text, offset);
  const meant = nearestKey(first.key, first.known);
  // A few of the others by name: a config of thousands of typos still gets a message a terminal shows.
  const named = unknown.slice(1, 1 + OTHER_UNKNOWN_NAMED).map((k) => JSON.stringify(k.path));
  if (unknown.length - 1 > OTHER_UNKNOWN_NAMED) named.push('...');
  const others = unknown.length > 1 ? ` (and ${unknown.length - 1} more unknown key(s): ${named.join(', ')})` : '';
  throw new StateError(
    ErrorCodes.INVALID_CONFIG,
    `${file}: unknown key ${JSON.stringify(first.path)}${position ? ` at line ${position.line}, column ${position.column}` : ''}${meant ? `; did you mean ${JSON.stringify(meant)}?` : ''}${others}`,
    {
      file,
      ...(position !== undefined && { position }),
      hint: meant ? `rename it to "${meant}"` : `the keys ${first.path === first.key ? 'are' : `of a ${first.path.slice(0, first.path.indexOf('['))} entry are`} ${first.known.join(', ')}; remove or rename it`,
    },
  );
}

/** How many unknown keys past the first an INVALID_CONFIG message names. */
const OTHER_UNKNOWN_NAMED = 5;

const escapePointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Where each key starts (its opening quote), by its JSON pointer (`/networks/0/aliases`): a scan that skips strings. */
function keyOffsets(text: string): Map<string, number> {
  const offsets = new Map<string, number>();
  // One frame per open object or array: its pointer, the key being read (objects), the item's index (arrays).
  const frames: { pointer: string; object: boolean; key: string; index: number }[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const frame = frames[frames.length - 1];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (frame?.object && expectKey) {
        try {
          frame.key = `${frame.pointer}/${escapePointer(JSON.parse(text.slice(i, end + 1)) as string)}`;
          if (!offsets.has(frame.key)) offsets.set(frame.key, i);
        } catch {
          // Not reachable for text that parsed; the key is then reported without a position.
        }
      }
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      const pointer = frame === undefined ? '' : frame.object ? frame.key : `${frame.pointer}/${frame.index}`;
      frames.push({ pointer, object: c === '{', key: '', index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') frames.pop();
    else if (c === ',' && frame !== undefined) {
      if (frame.object) expectKey = true;
      else frame.index++;
    }
  }
  return offsets;
}

/** The file's text; undefined when there is none. A file there that cannot be read is never taken for no file. */
function readConfigText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    const denied = code === 'EACCES' || code === 'EPERM';
    const why = code === 'EISDIR' ? 'it is a folder, not a file' : (error as Error).message;
    throw new StateError(denied ? ErrorCodes.PERMISSION_DENIED : ErrorCodes.INVALID_CONFIG, `cannot read ${file}: ${why}`, {
      file,
      hint: denied
        ? 'give this user read access to it'
        : code === 'EISDIR'
          ? 'move the folder away, then restore the file from git (or remove it to use the defaults)'
          : 'it must be a readable JSON file: restore it from git',
      cause: error,
    });
  }
}

/** A config file's text as its object; text that is not a JSON object is INVALID_CONFIG naming the file (and where the JSON breaks). */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  // Positions count from after a byte-order mark, as an editor shows them.
  text = withoutByteOrderMark(text);
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
