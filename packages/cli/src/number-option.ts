// Whole-number options (--batch-size, --limit, --interval, --soak, the RPC limits): one check, one
// message, so no command takes `abc` silently while another refuses it. The check judges the text
// as typed: program.ts hands commands that text. (DEPLOYSTATE_LOCK_WAIT_MS is read by core, as
// deploy scripts read it: Context.lockWaitMs.)
import { ErrorCodes, StateError } from '@deploystate/core';

/** The value as a whole number >= `min` (default 1); undefined when not given; INVALID_ARGUMENT naming `name` (the flag or variable) otherwise. */
export function wholeNumberOption(value: unknown, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  // Digits only: Number() would also take 0x10, 1e3, 0b11 and 1.0.
  const text = String(value);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a whole number${min === 1 ? ' above 0' : ` of at least ${min}`}, got ${text}`);
  return n;
}
