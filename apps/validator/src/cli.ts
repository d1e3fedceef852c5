// The deploystate-validate command: parses arguments, runs the validation, prints, and maps the
// outcome to an exit code. One top-level catch turns known errors into a message and a code.
import { execFile } from 'node:child_process';
import { access, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCodes, StateError, isStateError, type StateStore } from '@deploystate/core';
import { readAcknowledgements } from './config.js';
import { exitCodeFor, formatGithub, formatHuman, formatJson } from './format.js';
import { assertFolder, validateDeployments } from './validate.js';

const run = promisify(execFile);

export const EXIT = {
  /** Clean (no errors; no warnings either with --warnings-as-errors). */
  OK: 0,
  /** Findings at error level (or warnings with --warnings-as-errors). */
  FINDINGS: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** Something around the input failed: the LevelDB backend missing or locked, git unavailable, a bug. */
  ENVIRONMENT: 3,
  /** The input cannot be read at all: folder missing, a file unreadable. */
  UNREADABLE: 4,
} as const;

export type OutputFormat = 'human' | 'json' | 'github';

export interface CliOptions {
  dir: string;
  format: OutputFormat;
  warningsAsErrors: boolean;
  leveldb?: string;
  /** The project config whose "acknowledge" list is honoured (default ./deploystate.config.json when present). */
  config?: string;
  staged: boolean;
  verbose: boolean;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage: deploystate-validate [dir=./deployments] [options]

Checks deployments/*.json against the published schema and across files.

Options:
  --format <human|json|github>  output format (default human)
  --json                        same as --format json
  --warnings-as-errors          exit 1 on warnings too
  --leveldb <path>              also compare the records with this LevelDB store (read-only)
  --staged                      only files staged in git (pre-commit hook)
  --config <file>               honour this config's acknowledgements (default ./deploystate.config.json)
  --verbose                     also list info findings
  -h, --help                    this text
  -v, --version                 the version

Exit codes: 0 clean, 1 findings, 2 usage error, 3 environment (LevelDB backend, git),
4 input unreadable (folder missing, file unreadable).
`;

function usageError(message: string): StateError {
  return new StateError(ErrorCodes.INVALID_ARGUMENT, message, { hint: 'deploystate-validate --help' });
}

/** Parses the command line. Throws StateError INVALID_ARGUMENT on anything it does not know. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    dir: './deployments',
    format: 'human',
    warningsAsErrors: false,
    staged: false,
    verbose: false,
    help: false,
    version: false,
  };
  let dirGiven = false;
  let formatGiven: OutputFormat | undefined;
  const setFormat = (format: string, flag: string): void => {
    if (format !== 'human' && format !== 'json' && format !== 'github')
      throw usageError(`${flag}: unknown format ${JSON.stringify(format)} (human, json or github)`);
    if (formatGiven !== undefined && formatGiven !== format) throw usageError(`conflicting formats: ${formatGiven} and ${format}`);
    formatGiven = format;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw usageError(`${flag} needs a value`);
      return next;
    };
    const noValue = (): void => {
      if (inline !== undefined) throw usageError(`${flag} takes no value`);
    };
    switch (flag) {
      case '--json':
        noValue();
        setFormat('json', flag);
        break;
      case '--format':
        setFormat(value(), flag);
        break;
      case '--warnings-as-errors':
        noValue();
        options.warningsAsErrors = true;
        break;
      case '--leveldb':
        options.leveldb = value();
        break;
      case '--staged':
        noValue();
        options.staged = true;
        break;
      case '--config':
        options.config = value();
        break;
      case '--verbose':
        noValue();
        options.verbose = true;
        break;
      case '-h':
      case '--help':
        options.help = true;
        break;
      case '-v':
      case '--version':
        options.version = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw usageError(`unknown option ${flag}`);
        if (dirGiven) throw usageError(`only one folder may be given (got ${JSON.stringify(options.dir)} and ${JSON.stringify(arg)})`);
        options.dir = arg;
        dirGiven = true;
    }
  }
  if (formatGiven) options.format = formatGiven;
  return options;
}

/** Files staged in git under `dir`, relative to it. Throws INVALID_ARGUMENT outside a repository. */
export async function stagedFiles(dir: string): Promise<string[]> {
  let top: string;
  let names: string;
  try {
    top = (await run('git', ['rev-parse', '--show-toplevel'], { cwd: dir })).stdout.trim();
    names = (await run('git', ['diff', '--cached', '--name-only', '-z', '--diff-filter=ACMR'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }))
      .stdout;
  } catch (error) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--staged needs ${dir} to be inside a git repository with git on the PATH`, {
      file: dir,
      cause: error,
    });
  }
  const root = await realpath(dir);
  const out: string[] = [];
  for (const name of names.split('\0')) {
    if (name === '') continue;
    const rel = relative(root, resolve(top, name));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    out.push(rel.split(sep).join('/'));
  }
  return out;
}

type StoreConstructor = new (options: { path: string; readOnly: boolean }) => StateStore;

/**
 * Loads @deploystate/backend-leveldb, which the validator does not depend on: first as its own
 * dependency would resolve, then from node_modules above the working directory (a project that
 * installed the CLI or the backend). Throws BACKEND_UNAVAILABLE when neither has it.
 */
export async function loadLevelDbStore(): Promise<StoreConstructor> {
  const specifier = '@deploystate/backend-leveldb';
  let module: { LevelDbStore?: unknown } | undefined;
  try {
    module = (await import(specifier)) as { LevelDbStore?: unknown };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const entry = await entryFromWorkingDirectory(specifier);
    if (entry) module = (await import(pathToFileURL(entry).href)) as { LevelDbStore?: unknown };
  }
  if (typeof module?.LevelDbStore !== 'function') {
    throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `--leveldb needs ${specifier}, which is not installed`, {
      hint: `install it next to the validator (pnpm add -D ${specifier}) or run \`deploystate validate\` from @deploystate/cli`,
    });
  }
  return module.LevelDbStore as StoreConstructor;
}

async function entryFromWorkingDirectory(specifier: string): Promise<string | undefined> {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', ...specifier.split('/'));
    try {
      const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { main?: string; exports?: unknown };
      const root = (pkg.exports as Record<string, unknown> | undefined)?.['.'];
      const target =
        typeof root === 'string'
          ? root
          : ((root as { import?: string; default?: string } | undefined)?.import ??
            (root as { default?: string } | undefined)?.default ??
            pkg.main ??
            'index.js');
      const entry = join(pkgDir, target);
      await access(entry);
      return entry;
    } catch {
      // not here: keep walking up
    }
    if (dirname(dir) === dir) return undefined;
  }
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Colour for human output (the binary: stdout is a TTY and NO_COLOR is unset). */
  color: boolean;
}

function exitCodeForError(error: unknown): number {
  if (!isStateError(error)) return EXIT.ENVIRONMENT;
  switch (error.code) {
    case ErrorCodes.INVALID_ARGUMENT:
    case ErrorCodes.INVALID_CONFIG:
      return EXIT.USAGE;
    case ErrorCodes.STORE_NOT_FOUND:
    case ErrorCodes.CORRUPTED:
    case ErrorCodes.PERMISSION_DENIED:
      return EXIT.UNREADABLE;
    default:
      return EXIT.ENVIRONMENT;
  }
}

/** Runs the command; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let options: CliOptions | undefined;
  try {
    options = parseArgs(argv);
    if (options.help) {
      io.stdout(USAGE);
      return EXIT.OK;
    }
    if (options.version) {
      io.stdout(`${await version()}\n`);
      return EXIT.OK;
    }
    await assertFolder(options.dir);
    const files = options.staged ? await stagedFiles(options.dir) : undefined;
    const acknowledgements = await readAcknowledgements(options.config);
    let store: StateStore | undefined;
    if (options.leveldb !== undefined) {
      const LevelDbStore = await loadLevelDbStore();
      store = new LevelDbStore({ path: options.leveldb, readOnly: true });
    }
    try {
      const result = await validateDeployments(options.dir, {
        warningsAsErrors: options.warningsAsErrors,
        ...(files && { files }),
        ...(store && { compareWith: store }),
        acknowledgements,
      });
      const text =
        options.format === 'json'
          ? formatJson(result)
          : options.format === 'github'
            ? formatGithub(result, { verbose: options.verbose })
            : formatHuman(result, { color: io.color, verbose: options.verbose });
      io.stdout(text);
      return exitCodeFor(result, { warningsAsErrors: options.warningsAsErrors });
    } finally {
      await store?.close();
    }
  } catch (error) {
    const code = exitCodeForError(error);
    const described = isStateError(error)
      ? error.toJSON()
      : { code: 'UNEXPECTED', message: error instanceof Error ? (error.stack ?? error.message) : String(error), node: process.version };
    if (options?.format === 'json') io.stdout(`${JSON.stringify({ error: described }, null, 2)}\n`);
    const hint = isStateError(error) && error.hint ? `\n  hint: ${error.hint}` : '';
    io.stderr(`deploystate-validate: ${String(described.code)}: ${String(described.message)}${hint}\n`);
    return code;
  }
}
