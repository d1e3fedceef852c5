// The library's warnings (a write that found its file rewritten, a drain to be retried), shown the
// way this CLI shows everything: on stderr, fitted to the terminal, coloured on one; with --json
// also in the envelope's `warnings`, so a machine reading stdout sees them too.
import { subscribe } from 'node:diagnostics_channel';
import { WAITING_CHANNEL, WARNING_CHANNEL, type Waiting, type Warning } from '@deploystate/core';
import { fitToTerminal, type Palette } from './output.js';
import { stdoutState } from './stdout-state.js';

let shown = false;

/** The lines a person sees for one warning. */
export function renderWarning(warning: Warning, paint: Palette): string {
  return `${paint.yellow(paint.bold('warning'))} ${warning.code}: ${warning.message}\n  ${paint.cyan('next:')} ${warning.hint}`;
}

/** Routes every warning of this run to stderr (and the envelope with --json). Once per process. */
export function showWarnings(paint: Palette, json: boolean): void {
  if (shown) return;
  shown = true;
  subscribe(WARNING_CHANNEL, (message) => {
    const warning = message as Warning;
    if (json) {
      const { keys, ...rest } = warning;
      stdoutState.warnings.push({ ...rest, ...(keys !== undefined && { keys: [...keys] }) });
    }
    process.stderr.write(`${fitToTerminal(renderWarning(warning, paint), process.stderr)}\n`);
  });
  // A long wait for another process (LevelDB held by a deploy script): said while it lasts, on stderr only.
  subscribe(WAITING_CHANNEL, (message) => {
    process.stderr.write(`${fitToTerminal(paint.dim(renderWaiting(message as Waiting)), process.stderr)}\n`);
  });
}

/** The line a person sees while a command waits for another process. */
export function renderWaiting(w: Waiting): string {
  const who = w.holders.length > 0 ? w.holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ') : 'another process';
  const limit = w.giveUpAfterMs !== undefined ? `; it waits up to about ${Math.round(w.giveUpAfterMs / 1000)} s, then stops with LOCKED` : '';
  return `waiting: ${w.kind === 'leveldb' ? 'LevelDB' : 'the lock on'} ${w.what} is held by ${who}${limit}`;
}
