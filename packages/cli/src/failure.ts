// The one top-level catch: a known StateError becomes its code, what happened, the file or key and
// what to do next (no stack unless --debug); anything else is an unexpected failure with versions.
import { readFileSync } from 'node:fs';
import { EXIT_CODE_BY_ERROR, ExitCodes, type ExitCode } from './exit-codes.js';
import { palette, colourWanted } from './output.js';

interface KnownError {
  code: string;
  message: string;
  file?: string;
  key?: string;
  hint?: string;
  position?: { line: number; column: number };
  stack?: string;
}

/** What to do next for codes whose error carries no hint of its own. */
const DEFAULT_HINTS: Readonly<Record<string, string>> = {
  STORE_NOT_FOUND: 'check --leveldb/--deployments (or deploystate.config.json), or create a sample with `deploystate demo`',
  LOCKED: 'another process (a deploy script, a second deploystate) holds it; let it finish and run the command again',
  WRITES_REFUSED: 'a rollback is running; wait for it to end (`deploystate status`)',
  CORRUPTED: 'run `deploystate check` to list damaged records; `deploystate restore` brings back a backup',
  MIGRATION_STATE_INVALID: 'the state file under the state dir is damaged; see `deploystate status --debug`',
  STORES_DIFFER: 'see `deploystate compare` for the records that differ',
  GATE_FAILED: 'run `deploystate verify` and `deploystate status` to see which gate is open',
  TRANSITION_REFUSED: '`deploystate status` lists the commands allowed in the current phase',
  DIVERGED: 'a secondary write failed; run `deploystate verify` until it is clean',
  UNMIGRATABLE_RECORDS: 'exclude them with --exclude <key> (or "exclude" in the config file) after reviewing `deploystate analyze`',
  BACKUP_NOT_FOUND: 'list what exists with `deploystate restore --list`',
  INVALID_ARGUMENT: 'see `deploystate <command> --help`',
  INVALID_CONFIG: 'fix the file named above; `deploystate init` writes a valid one',
};

/** The hint for a code, naming the command that failed where the hint says `<command>`. */
function defaultHint(code: string, command: string | undefined): string | undefined {
  const hint = DEFAULT_HINTS[code];
  return command === undefined ? hint : hint?.replace('<command>', command);
}

/** What to read after a usage error: the command's own help when the command is known. */
function usageHint(command: string | undefined): string {
  return command === undefined ? 'see `deploystate --help`' : `see \`deploystate ${command} --help\``;
}

function isKnown(error: unknown): error is KnownError {
  return error instanceof Error && error.name === 'StateError' && typeof (error as { code?: unknown }).code === 'string';
}

function isUsage(error: unknown): error is Error {
  return error instanceof Error && error.name === 'CACError';
}

export function exitCodeFor(error: unknown): ExitCode {
  if (isUsage(error)) return ExitCodes.USAGE;
  if (isKnown(error)) return EXIT_CODE_BY_ERROR[error.code] ?? ExitCodes.UNEXPECTED;
  return ExitCodes.UNEXPECTED;
}

export function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The document `--json` prints when a command fails. */
export function errorDocument(error: unknown, command?: string): Record<string, unknown> {
  const exitCode = exitCodeFor(error);
  if (isKnown(error)) {
    const { code, message, file, key, hint, position } = error;
    return {
      ok: false,
      exitCode,
      error: {
        code,
        message,
        ...(file && { file }),
        ...(key && { key }),
        ...(position && { position }),
        hint: hint ?? defaultHint(code, command),
      },
    };
  }
  if (isUsage(error)) return { ok: false, exitCode, error: { code: 'USAGE', message: error.message, hint: usageHint(command) } };
  return {
    ok: false,
    exitCode,
    error: { code: 'UNEXPECTED', message: error instanceof Error ? error.message : String(error) },
    versions: { deploystate: cliVersion(), node: process.version, platform: `${process.platform}-${process.arch}` },
  };
}

/** The text a person reads on stderr when a command fails. */
export function renderFailure(error: unknown, options: { debug: boolean; colour: boolean; command?: string }): string {
  const paint = palette(colourWanted(process.stderr, options.colour));
  const lines: string[] = [];
  if (isKnown(error)) {
    lines.push(`${paint.red(paint.bold(`error ${error.code}`))}: ${error.message}`);
    if (error.file) lines.push(`  file: ${error.file}${error.position ? `:${error.position.line}:${error.position.column}` : ''}`);
    if (error.key) lines.push(`  key:  ${error.key}`);
    const hint = error.hint ?? defaultHint(error.code, options.command);
    if (hint) lines.push(`  ${paint.cyan('next:')} ${hint}`);
  } else if (isUsage(error)) {
    lines.push(`${paint.red(paint.bold('usage error'))}: ${error.message}`);
    lines.push(`  ${paint.cyan('next:')} ${usageHint(options.command)}`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`${paint.red(paint.bold('unexpected failure'))}: ${message}`);
    lines.push(`  deploystate ${cliVersion()}, node ${process.version}, ${process.platform}-${process.arch}`);
    if (!options.debug) lines.push('  rerun with --debug for the stack trace, and include this output in a bug report');
  }
  if (options.debug && error instanceof Error && error.stack) {
    lines.push(paint.dim(error.stack));
    let cause = (error as { cause?: unknown }).cause;
    while (cause instanceof Error) {
      lines.push(paint.dim(`caused by: ${cause.stack ?? cause.message}`));
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return lines.join('\n');
}
