// stdout and stderr outlive their readers: a closed terminal (SIGHUP, then EIO on every write) or a
// pipe whose reader exited (EPIPE) must neither crash the command nor stop its clean-up. Once a
// stream's reader is gone, every later write to it is dropped.
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';

const gone = new WeakSet<NodeJS.WriteStream>();

/** Whether `stream`'s reader went away (its writes are dropped). */
export function readerGone(stream: NodeJS.WriteStream): boolean {
  return gone.has(stream);
}

/** Drops every later write to `stream`, calling back as a delivered write would. */
function dropWrites(stream: NodeJS.WriteStream): void {
  if (gone.has(stream)) return;
  gone.add(stream);
  stream.write = ((_chunk: unknown, ...rest: unknown[]): boolean => {
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback !== undefined) process.nextTick(callback);
    return true;
  }) as typeof stream.write;
}

/** Installed first thing: an error on stdout or stderr (EPIPE, EIO) drops that stream instead of crashing the process. */
export function guardStdStreams(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => dropWrites(stream));
}

/** After SIGHUP the terminal is gone: nothing is written to it again (each write would fail with EIO). */
export function dropTerminalStreams(): void {
  for (const stream of [process.stdout, process.stderr]) if (stream.isTTY) dropWrites(stream);
}

const terminalsAtStart = [0, 1, 2].filter((fd) => isatty(fd));

/**
 * Called as the process exits: lets go of a terminal that hung up (a descriptor that was a terminal
 * and no longer answers as one). Node's exit restores each terminal's settings and aborts the
 * process (an assertion, SIGABRT) when that fails with EIO; a descriptor closed first is skipped.
 */
export function releaseHungUpTerminal(): void {
  for (const fd of terminalsAtStart) {
    if (isatty(fd)) continue;
    try {
      closeSync(fd);
    } catch {
      // Closed already.
    }
  }
}

/**
 * What a lone `-` argument becomes before cac parses the command line (its parser takes `-` for a
 * flag with no name and drops it): a NUL, which no path can hold, so it never names a file.
 */
export const STD_STREAM_ARG = '\u0000-';

/** The command line with each lone `-` before `--` marked as STD_STREAM_ARG. */
export function markStdStreamArgs(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => (arg === '-' && i >= 2 && (end === -1 || i < end) ? STD_STREAM_ARG : arg));
}

/** The commands whose file argument may be `-`. */
const STD_STREAM_COMMANDS = new Set(['export']);

/**
 * The arguments a command gets: `-` as its file only where the command writes to stdout (else
 * INVALID_ARGUMENT, rather than a file named `-`); as an option's value, `-` as typed.
 */
export async function stdStreamArgsFor(module: string, args: unknown[], options: Record<string, unknown>): Promise<void> {
  for (const [name, value] of Object.entries(options)) if (value === STD_STREAM_ARG) options[name] = '-';
  if (!args.includes(STD_STREAM_ARG) || STD_STREAM_COMMANDS.has(module)) return;
  // Loaded here only: the binary's start-up loads no more than it needs.
  const { ErrorCodes, StateError } = await import('@deploystate/core');
  throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${module} -: only export takes \`-\` (stdout) for its file`, {
    hint: `name a file for ${module}`,
  });
}
