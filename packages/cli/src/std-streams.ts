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
