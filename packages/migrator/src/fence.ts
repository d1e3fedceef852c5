// The fence between deploy scripts' writes and the migration's gates. Every journalled write holds
// it shared from routing to outcome; verify, compare, promote and cut-over hold it exclusively while
// they compare the sides and switch the phase. So a gate never sees a write half done (one side
// written, not yet the other) as a difference, and a writer that waited re-reads the phase and
// routes by the new one. It is a kernel lock on a dedicated file: a crashed command or script
// never leaves it set.
import { withLock } from '@deploystate/backend-json/lock';
import { ErrorCodes, isStateError } from '@deploystate/core';
import { namingWritersInFlight } from './gate-writers.js';
import type { StateFiles } from './paths.js';

/** How long a write waits for a gate in progress before LOCKED (a gate's compare of a large store takes seconds). */
export const WRITE_FENCE_WAIT_MS = 15_000;
/** How long a gate waits for the writes in flight before LOCKED. */
export const GATE_FENCE_WAIT_MS = 5_000;

/** Runs one journalled write holding the fence shared. */
export function underWriteFence<T>(files: Pick<StateFiles, 'fence'>, write: () => Promise<T>): Promise<T> {
  return withLock(files.fence, write, { mode: 'shared', timeoutMs: WRITE_FENCE_WAIT_MS });
}

/**
 * Runs a gate's work holding the fence exclusively: the writes in flight finish first, new ones
 * wait. On timeout LOCKED, naming the writes in flight (gate-writers.ts).
 */
export async function underGateFence<T>(
  files: Pick<StateFiles, 'fence' | 'journal'>,
  purpose: string,
  work: () => Promise<T>,
  timeoutMs = GATE_FENCE_WAIT_MS,
): Promise<T> {
  try {
    return await withLock(files.fence, work, { mode: 'exclusive', timeoutMs, purpose });
  } catch (error) {
    throw isStateError(error, ErrorCodes.LOCKED) && error.file === files.fence ? await namingWritersInFlight(files, error) : error;
  }
}
