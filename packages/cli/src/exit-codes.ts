// The CLI's exit codes are core's one table (shared with the validator): a stable contract for
// scripts, documented in README.md. Kept as a module so existing imports keep working.
import { ERROR_OUTCOMES, ExitCodes, type ErrorCode, type ExitCode } from '@deploystate/core';

export { ExitCodes, type ExitCode };

/** Which exit code each core StateError code maps to (every code has one). */
export const EXIT_CODE_BY_ERROR: Readonly<Record<ErrorCode, ExitCode>> = Object.fromEntries(
  Object.entries(ERROR_OUTCOMES).map(([code, outcome]) => [code, outcome.exitCode]),
) as Record<ErrorCode, ExitCode>;
