// Whole-number options (--batch-size, --limit, --interval, --soak): one check, one message, so no
// command takes `abc` silently while another refuses it.
import { ErrorCodes, StateError } from '@deploystate/core';

/** The option as a whole number >= `min` (default 1); undefined when not given; INVALID_ARGUMENT naming the flag otherwise. */
export function wholeNumberOption(value: unknown, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  // Digits only: Number() would also take 0x10, 1e3 and 0b11.
  const n = typeof value === 'number' || /^\d+$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${flag} must be a whole number${min === 1 ? ' above 0' : ` of at least ${min}`}, got ${String(value)}`);
  return n;
}
