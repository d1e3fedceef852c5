// How a JavaScript number is written as JSON text, shared by the printer (stringifyLossless) and
// the canonical encoding so that both always agree. Internal: not exported from the package.
import { ErrorCodes, StateError } from './errors.js';

/**
 * The JSON text of a number: `-0` kept, NaN and Infinity refused with INVALID_RECORD, and an
 * integer printed as its exact digits (what `BigInt(value)` gives), so `1e21` prints as
 * `1000000000000000000000` and reads back as the same integer as `10n ** 21n`.
 */
export function jsonNumberText(value: number): string {
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value)) throw new StateError(ErrorCodes.INVALID_RECORD, `${value} has no JSON form`);
  // A safe integer already prints as plain digits; beyond 2^53 String() would give an exponent.
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value);
}
