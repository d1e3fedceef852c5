// The CLI's exit codes: a stable contract for scripts (documented in README.md). Never renumber.

export const ExitCodes = {
  /** The command did what was asked; a check passed. */
  SUCCESS: 0,
  /** A check failed or could not pass (no RPC endpoint answered), a gate is not met, or the two stores differ. */
  CHECK_FAILED: 1,
  /** The command line is wrong, or a destructive step was not confirmed. */
  USAGE: 2,
  /** A store is locked or in use by another process (or writes are refused during a rollback). */
  LOCKED: 3,
  /** Data is corrupted, or a store, file or backup the command needs does not exist. */
  DATA: 4,
  /** Anything else: an I/O failure or a bug (the message names versions for a report). */
  UNEXPECTED: 5,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** Which exit code each core StateError code maps to. Codes not listed exit UNEXPECTED. */
export const EXIT_CODE_BY_ERROR: Readonly<Record<string, ExitCode>> = {
  STORES_DIFFER: ExitCodes.CHECK_FAILED,
  GATE_FAILED: ExitCodes.CHECK_FAILED,
  DIVERGED: ExitCodes.CHECK_FAILED,
  UNMIGRATABLE_RECORDS: ExitCodes.CHECK_FAILED,
  TRANSITION_REFUSED: ExitCodes.CHECK_FAILED,
  // No configured RPC endpoint answered: the chain check could not pass. Not UNEXPECTED (nothing
  // is broken here, and a bug report would not help), not LOCKED (no store of ours is in use).
  ENDPOINT_UNAVAILABLE: ExitCodes.CHECK_FAILED,
  // Another program rewrote a network file and dropped a record the store wrote: repair-files restores it.
  FOREIGN_OVERWRITE: ExitCodes.CHECK_FAILED,
  INVALID_ARGUMENT: ExitCodes.USAGE,
  INVALID_CONFIG: ExitCodes.USAGE,
  LOCKED: ExitCodes.LOCKED,
  WRITES_REFUSED: ExitCodes.LOCKED,
  STORE_NOT_FOUND: ExitCodes.DATA,
  CORRUPTED: ExitCodes.DATA,
  INVALID_RECORD: ExitCodes.DATA,
  INVALID_KEY: ExitCodes.DATA,
  MIGRATION_STATE_INVALID: ExitCodes.DATA,
  UNSUPPORTED_SCHEMA_VERSION: ExitCodes.DATA,
  CHAIN_MISMATCH: ExitCodes.DATA,
  BACKUP_NOT_FOUND: ExitCodes.DATA,
};
