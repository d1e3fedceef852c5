// The library's warnings (a write that found its file rewritten, a drain to be retried), shown the
// way this CLI shows everything: on stderr, fitted to the terminal, coloured on one; with --json
// also in the envelope's `warnings`, so a machine reading stdout sees them too.
import { subscribe } from 'node:diagnostics_channel';
import { WARNING_CHANNEL, type Warning } from '@deploystate/core';
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
}
