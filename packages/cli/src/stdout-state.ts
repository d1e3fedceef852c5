// What this run gives the JSON envelope: the command's payload (`data`), the library's warnings and,
// when a check did not pass without an error, what failed. bin.ts wraps it and writes the one document on stdout.
import type { EnvelopeWarning } from './envelope.js';

export interface RunRecord {
  hasPayload: boolean;
  payload: unknown;
  /** Set by a command whose check failed without throwing (compare found differences, say). */
  failure?: { code: string; message: string; hint?: string; data?: Record<string, unknown> };
  /** What an interrupt leaves, said on Ctrl-C during long work; the default covers the rest. */
  interruptNote?: () => string;
  /** Set on Ctrl-C: the progress row stops redrawing, so the interrupt's message starts on a line of its own. */
  interrupted?: boolean;
  /** The library's warnings during this run (the envelope's `warnings`, with --json). */
  warnings: EnvelopeWarning[];
}

export const stdoutState: RunRecord = { hasPayload: false, payload: undefined, warnings: [] };
