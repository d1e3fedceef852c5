// The deploystate-validate command: parses arguments, runs the validation, prints, and maps the
// outcome to an exit code. One top-level catch turns known errors into a message and a code.
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs as parseNodeArgs, promisify } from 'node:util';
import { ErrorCodes, ExitCodes, StateError, exitCodeOf, isStateError, type StateStore } from '@deploystate/core';
import { readValidatorConfig } from './config.js';
import { exitCodeFor, formatGithub, formatHuman, formatJson } from './format.js';
import { validateStaged } from './staged.js';
import { assertFolder, validateDeployments } from './validate.js';

const run = promisify(execFile);

/**
 * The validator's exit codes: core's one table, shared with the `deploystate` CLI (see README.md).
 * A StateError exits by `exitCodeOf(code)`: LOCKED 3, DATA 4 (folder missing, file unreadable),
 * ENVIRONMENT 6 (permission denied, backend unavailable); anything else is a bug, 5.
 */
export const EXIT = {
  /** Clean (no errors; no warnings either with --warnings-as-errors). */
  OK: ExitCodes.SUCCESS,
  /** Findings at error level (or warnings with --warnings-as-errors). */
  FINDINGS: ExitCodes.CHECK_FAILED,
  /** The command line is wrong, or --staged outside a git repository. */
  USAGE: ExitCodes.USAGE,
  /** A store is locked by another process. */
  LOCKED: ExitCodes.LOCKED,
  /** The input cannot be read at all: folder missing, a file unreadable or corrupted. */
  UNREADABLE: ExitCodes.DATA,
  /** A bug. */
  UNEXPECTED: ExitCodes.UNEXPECTED,
  /** The machine refused: permission denied, the LevelDB backend not installed, disk full. */
  ENVIRONMENT: ExitCodes.ENVIRONMENT,
} as const;

export type OutputFormat = 'human' | 'json' | 'github';

export interface CliOptions {
  dir: string;
  format: OutputFormat;
  warningsAsErrors: boolean;
  leveldb?: string;
  /** The project config whose acknowledgements and networks are honoured (default ./deploystate.config.json when present). */
  config?: string;
  staged: boolean;
  verbose: boolean;
  help: boolean;
  version: boolean;
}

// Every line within 70 columns: the text is printed as it is, in any terminal.
export const USAGE = `Usage: deploystate-validate [dir=./deployments] [options]

Checks deployments/*.json against the published schema and across
files.

Options:
  --format <human|json|github>  output format (default human; text is
                                another name for human)
  --json                        same as --format json
  --warnings-as-errors          exit 1 on warnings too
  --leveldb <path>              also compare the records with this
                                LevelDB store (read-only)
  --staged                      judge what git's index holds
                                (pre-commit hook): every file of the
                                folder as staged, so checks across
                                files see one snapshot
  --config <file>               honour this config's networks and
                                acknowledgements
                                (default ./deploystate.config.json)
  --verbose                     also list info findings
  -h, --help                    this text
  -v, --version                 the version

Exit codes (shared with the deploystate CLI):
  0  clean
  1  findings (errors, or warnings with --warnings-as-errors)
  2  usage error
  3  a store is locked by another process
  4  input missing or unreadable
  5  unexpected failure (a bug)
  6  the machine refused (permission denied, LevelDB backend not
     installed)
`;

function usageError(message: string, cause?: unknown): StateError {
  return new StateError(ErrorCodes.INVALID_ARGUMENT, message, { hint: 'deploystate-validate --help', ...(cause !== undefined && { cause }) });
}

const FORMATS: readonly OutputFormat[] = ['human', 'json', 'github'];
/** `deploystate validate` calls the human format `text`: either name works in either tool. */
const FORMAT_ALIASES: Readonly<Record<string, OutputFormat>> = { text: 'human' };

/** Parses the command line (node:util parseArgs, strict). Throws StateError INVALID_ARGUMENT on anything it does not know. */
export function parseArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        format: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        'warnings-as-errors': { type: 'boolean' },
        leveldb: { type: 'string' },
        config: { type: 'string' },
        staged: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error), error);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1)
    throw usageError(`only one folder may be given (got ${positionals.map((p) => JSON.stringify(p)).join(' and ')})`);
  const formats = [...(values.format ?? []).map((format) => FORMAT_ALIASES[format] ?? format), ...(values.json ? ['json'] : [])];
  for (const format of formats)
    if (!(FORMATS as readonly string[]).includes(format))
      throw usageError(`--format: unknown format ${JSON.stringify(format)} (human, json or github; text is human)`);
  if (new Set(formats).size > 1) throw usageError(`conflicting formats: ${[...new Set(formats)].join(' and ')}`);
  return {
    dir: positionals[0] ?? './deployments',
    format: (formats[0] as OutputFormat | undefined) ?? 'human',
    warningsAsErrors: values['warnings-as-errors'] === true,
    ...(values.leveldb !== undefined && { leveldb: values.leveldb }),
    ...(values.config !== undefined && { config: values.config }),
    staged: values.staged === true,
    verbose: values.verbose === true,
    help: values.help === true,
    version: values.version === true,
  };
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
 * Loads @deploystate/backend-leveldb, the validator's optional peer dependency (declared in its
 * package.json): present where the project installed it or the CLI. Throws BACKEND_UNAVAILABLE
 * when it is not installed.
 */
export async function loadLevelDbStore(): Promise<StoreConstructor> {
  const specifier = '@deploystate/backend-leveldb';
  let module: { LevelDbStore?: unknown } | undefined;
  try {
    module = (await import(specifier)) as { LevelDbStore?: unknown };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  if (typeof module?.LevelDbStore !== 'function') {
    throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `--leveldb needs ${specifier}, which is not installed`, {
      hint: `install it next to the validator (pnpm add -D ${specifier}) or run \`deploystate validate\` from @deploystate/cli`,
    });
  }
  return module.LevelDbStore as StoreConstructor;
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
  return isStateError(error) ? exitCodeOf(error.code) : EXIT.UNEXPECTED;
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
    const { acknowledgements, registry } = readValidatorConfig(options.config);
    let store: StateStore | undefined;
    if (options.leveldb !== undefined) {
      const LevelDbStore = await loadLevelDbStore();
      store = new LevelDbStore({ path: options.leveldb, readOnly: true });
    }
    try {
      const validateOptions = { warningsAsErrors: options.warningsAsErrors, ...(store && { compareWith: store }), acknowledgements, registry };
      const result = options.staged
        ? await validateStaged(options.dir, validateOptions)
        : await validateDeployments(options.dir, validateOptions);
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
