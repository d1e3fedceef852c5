// The one top-level catch: a known StateError becomes its code, what happened, the file or key and
// what to do next (no stack unless --debug); a declined or cancelled prompt is its own outcome;
// anything else is an unexpected failure with versions. Exit codes and hints come from core's table.
import { readFileSync } from 'node:fs';
import { errnoCode, exitCodeOf, ExitCodes, fsErrorCode, hintOf, StateError, type ExitCode } from '@deploystate/core';
import type { EnvelopeError } from './envelope.js';
import { isOutcome } from './outcome.js';
import { palette, colourWanted } from './output.js';

interface KnownError {
  code: string;
  message: string;
  file?: string;
  key?: string;
  hint?: string;
  data?: Record<string, unknown>;
  position?: { line: number; column: number };
  stack?: string;
}

/** What to read after a usage error: the command's own help when the command is known. */
function usageHint(command: string | undefined): string {
  return command === undefined ? 'see `deploystate --help`' : `see \`deploystate ${command} --help\``;
}

function isStateErrorLike(error: unknown): error is KnownError {
  return error instanceof Error && error.name === 'StateError' && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * An operating-system error that reached the top (ENOSPC, EACCES, ENOTDIR from a write no layer
 * wrapped) is the machine refusing, not a bug: it gets the code core gives it (DISK_FULL,
 * PERMISSION_DENIED, WRITE_FAILED, STORE_NOT_FOUND) and that code's exit code and hint.
 */
function asKnown(error: unknown): KnownError | undefined {
  if (isStateErrorLike(error)) return error;
  const errno = errnoCode(error);
  if (error instanceof Error && errno !== undefined && /^E[A-Z0-9]+$/.test(errno)) {
    const path = (error as { path?: unknown }).path;
    return new StateError(fsErrorCode(error), error.message, { ...(typeof path === 'string' && { file: path }), cause: error });
  }
  return undefined;
}

function isUsage(error: unknown): error is Error {
  return error instanceof Error && error.name === 'CACError';
}

export function exitCodeFor(error: unknown): ExitCode {
  if (isUsage(error)) return ExitCodes.USAGE;
  if (isOutcome(error)) return exitCodeOf(error.code);
  const known = asKnown(error);
  return known === undefined ? ExitCodes.UNEXPECTED : exitCodeOf(known.code);
}

export function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The `error` member of the `--json` envelope for a failure. */
export function envelopeError(error: unknown, command?: string): EnvelopeError {
  const known = asKnown(error);
  if (known !== undefined) {
    const { code, message, file, key, hint, position, data } = known;
    const resolvedHint = hint ?? hintOf(code, command);
    return {
      code,
      message,
      ...(resolvedHint !== undefined && { hint: resolvedHint }),
      ...(file && { file }),
      ...(key && { key }),
      ...(position && { position }),
      ...(data && { details: data }),
    };
  }
  if (isOutcome(error)) return { code: error.code, message: error.message, hint: error.hint ?? (hintOf(error.code) as string) };
  if (isUsage(error)) return { code: 'USAGE', message: error.message, hint: usageHint(command) };
  return {
    code: 'UNEXPECTED',
    message: error instanceof Error ? error.message : String(error),
    hint: hintOf('UNEXPECTED') as string,
    versions: { deploystate: cliVersion(), node: process.version, platform: `${process.platform}-${process.arch}` },
  };
}

/** The document `--json` printed for a failure before the envelope (kept for API users). */
export function errorDocument(error: unknown, command?: string): Record<string, unknown> {
  return { ok: false, exitCode: exitCodeFor(error), error: envelopeError(error, command) };
}

/** The text a person reads on stderr when a command fails. */
export function renderFailure(error: unknown, options: { debug: boolean; colour: boolean; command?: string }): string {
  const paint = palette(colourWanted(process.stderr, options.colour));
  const lines: string[] = [];
  const known = asKnown(error);
  if (known !== undefined) {
    lines.push(`${paint.red(paint.bold(`error ${known.code}`))}: ${known.message}`);
    if (known.file) lines.push(`  file: ${known.file}${known.position ? `:${known.position.line}:${known.position.column}` : ''}`);
    if (known.key) lines.push(`  key:  ${known.key}`);
    const hint = known.hint ?? hintOf(known.code, options.command);
    if (hint) lines.push(`  ${paint.cyan('next:')} ${hint}`);
  } else if (isOutcome(error)) {
    lines.push(`${paint.yellow(paint.bold(error.code === 'CANCELLED' ? 'cancelled' : 'declined'))}: ${error.message}`);
    if (error.hint) lines.push(`  ${paint.cyan('next:')} ${error.hint}`);
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
