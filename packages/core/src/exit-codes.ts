// The exit codes every deploystate command line shares (the CLI and the validator): one table,
// typed so that every error code has a decided exit code and a hint. Never renumber.
import type { ErrorCode } from './errors.js';

export const ExitCodes = {
  /** The command did what was asked; a check passed; a transition was already done. */
  SUCCESS: 0,
  /** A check failed or could not pass, a gate is not met, the stores differ, or the operator answered "no". */
  CHECK_FAILED: 1,
  /** The command line is wrong (unknown command or option, bad value, a confirmation with no terminal to ask on). */
  USAGE: 2,
  /** A store is locked or in use by another process (or writes are refused during a rollback). */
  LOCKED: 3,
  /** Data is corrupted, or a store, file or backup the command needs does not exist. */
  DATA: 4,
  /** A bug: the message names versions for a report. */
  UNEXPECTED: 5,
  /** The machine refused: disk full, permission denied, a write that failed, a backend that cannot load. */
  ENVIRONMENT: 6,
  /** Interrupted (Ctrl-C at a prompt or during long work); the message says what state it left. */
  CANCELLED: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** What each error code means for a script (its exit code) and for a person (what to do next). */
export interface ErrorOutcome {
  exitCode: ExitCode;
  hint: string;
}

/** Every error code's outcome. A new ErrorCode does not compile until it is decided here. */
export const ERROR_OUTCOMES: Readonly<Record<ErrorCode, ErrorOutcome>> = {
  INVALID_RECORD: { exitCode: ExitCodes.DATA, hint: 'the record named above is not a deployment record; `deploystate check` lists every one' },
  INVALID_KEY: { exitCode: ExitCodes.DATA, hint: 'keys are `<chainId>-<contractName>`; `deploystate check` lists every bad one' },
  INVALID_ARGUMENT: { exitCode: ExitCodes.USAGE, hint: 'see `deploystate <command> --help`' },
  INVALID_CONFIG: { exitCode: ExitCodes.USAGE, hint: 'fix the file named above; `deploystate init` writes a valid one' },
  STORE_CLOSED: {
    exitCode: ExitCodes.ENVIRONMENT,
    hint: 'the store was closed while the command still used it (another process or a shutdown); run the command again',
  },
  STORE_NOT_FOUND: {
    exitCode: ExitCodes.DATA,
    hint: 'check --leveldb/--deployments (or deploystate.config.json), or create a sample with `deploystate demo`',
  },
  CORRUPTED: { exitCode: ExitCodes.DATA, hint: '`deploystate validate` names damaged network files, `deploystate check` damaged LevelDB records; `deploystate restore --list` shows the backups' },
  STORE_INCOMPLETE: {
    exitCode: ExitCodes.DATA,
    hint: 'the LevelDB folder lacks files it names (a commit left them out): whoever committed it runs `git add -A <leveldb folder>` and commits, or restore the folder from a commit that holds all its files',
  },
  LOCKED: {
    exitCode: ExitCodes.LOCKED,
    hint: 'another process (a deploy script, a second deploystate) holds it; let it finish and run the command again',
  },
  BACKEND_UNAVAILABLE: {
    exitCode: ExitCodes.ENVIRONMENT,
    hint: 'the backend could not be loaded or opened; reinstall the packages (`npm install`) and check the path is a folder you can read',
  },
  LOCK_UNAVAILABLE: {
    exitCode: ExitCodes.ENVIRONMENT,
    hint: "the operating system's file lock cannot be used here (see the message); keep the state and deployments folders on a local disk",
  },
  WRITE_FAILED: { exitCode: ExitCodes.ENVIRONMENT, hint: 'the write did not complete and what was stored is intact; fix the cause above and run again' },
  DISK_FULL: { exitCode: ExitCodes.ENVIRONMENT, hint: 'free disk space, then run the command again (nothing stored was lost)' },
  PERMISSION_DENIED: {
    exitCode: ExitCodes.ENVIRONMENT,
    hint: 'the operating system refused access to the file named above; check its owner and mode, or run as its owner',
  },
  UNSUPPORTED_SCHEMA_VERSION: { exitCode: ExitCodes.DATA, hint: 'the file was written by a newer deploystate; upgrade this one' },
  CHAIN_MISMATCH: { exitCode: ExitCodes.DATA, hint: 'the file and the chainId it holds disagree; `deploystate validate` names both' },
  MIGRATION_STATE_INVALID: { exitCode: ExitCodes.DATA, hint: 'the state file under the state dir is damaged; see `deploystate status --debug`' },
  TRANSITION_REFUSED: { exitCode: ExitCodes.CHECK_FAILED, hint: '`deploystate status` lists the commands allowed in the current phase' },
  GATE_FAILED: { exitCode: ExitCodes.CHECK_FAILED, hint: 'run `deploystate verify` and `deploystate status` to see which gate is open' },
  WRITES_REFUSED: { exitCode: ExitCodes.LOCKED, hint: 'a rollback is running; wait for it to end (`deploystate status`)' },
  DIVERGED: { exitCode: ExitCodes.CHECK_FAILED, hint: 'a secondary write failed; run `deploystate verify` until it is clean' },
  UNMIGRATABLE_RECORDS: {
    exitCode: ExitCodes.CHECK_FAILED,
    hint: 'exclude them with --exclude <key> (or "exclude" in the config file) after reviewing `deploystate analyze`',
  },
  BACKUP_NOT_FOUND: { exitCode: ExitCodes.DATA, hint: 'list what exists with `deploystate restore --list`' },
  STORES_DIFFER: { exitCode: ExitCodes.CHECK_FAILED, hint: 'see `deploystate compare` for the records that differ' },
  DUPLICATE_KEY: {
    exitCode: ExitCodes.DATA,
    hint: 'the file named above names one key twice; keep one of the values by hand, then run again (nothing was rewritten)',
  },
  NOT_A_FILE: { exitCode: ExitCodes.DATA, hint: 'move what is at the path named above out of the way; a state file must be a regular file' },
  PRESENCE_UNKNOWN: {
    exitCode: ExitCodes.LOCKED,
    hint: 'the store stayed busy past the wait, so whether the record exists is unknown; run again when the other process is done',
  },
  // No configured RPC endpoint answered: the chain check could not pass (nothing of ours is broken).
  FOREIGN_OVERWRITE: {
    exitCode: ExitCodes.CHECK_FAILED,
    hint: 'another program rewrote a network file and dropped or changed records the store wrote there: `deploystate repair-files` puts them back',
  },
  ENDPOINT_UNAVAILABLE: {
    exitCode: ExitCodes.CHECK_FAILED,
    hint: 'check the RPC endpoint (--rpc <chainId>=<url>, "rpc" in the config, or RPC_URL_<chainId>) and run again',
  },
};

/**
 * Outcomes that are not errors of the toolkit but of the run: the command line (USAGE), a prompt
 * answered "no" (DECLINED) or interrupted (CANCELLED), a check that did not pass (CHECK_FAILED) and a
 * bug (UNEXPECTED). They share the JSON envelope's `error.code` space with the ErrorCodes.
 */
export const RUN_OUTCOMES = {
  USAGE: { exitCode: ExitCodes.USAGE, hint: 'see `deploystate <command> --help`' },
  DECLINED: { exitCode: ExitCodes.CHECK_FAILED, hint: 'nothing was changed; run the command again and answer "y", or pass --yes' },
  CANCELLED: { exitCode: ExitCodes.CANCELLED, hint: 'interrupted; the message says what state it left and how to resume' },
  CHECK_FAILED: { exitCode: ExitCodes.CHECK_FAILED, hint: '`data` holds what did not pass' },
  UNEXPECTED: { exitCode: ExitCodes.UNEXPECTED, hint: 'rerun with --debug and include the output in a bug report' },
} as const satisfies Record<string, ErrorOutcome>;

export type RunOutcome = keyof typeof RUN_OUTCOMES;

/** The exit code of an error code (every ErrorCode has one; unknown strings are UNEXPECTED). */
export function exitCodeOf(code: string): ExitCode {
  if (code in ERROR_OUTCOMES) return ERROR_OUTCOMES[code as ErrorCode].exitCode;
  if (code in RUN_OUTCOMES) return RUN_OUTCOMES[code as RunOutcome].exitCode;
  return ExitCodes.UNEXPECTED;
}

/** The default hint of an error code, naming `command` where the hint says `<command>`. */
export function hintOf(code: string, command?: string): string | undefined {
  const outcome =
    code in ERROR_OUTCOMES ? ERROR_OUTCOMES[code as ErrorCode] : code in RUN_OUTCOMES ? RUN_OUTCOMES[code as RunOutcome] : undefined;
  if (outcome === undefined) return undefined;
  return command === undefined ? outcome.hint.replace(' <command>', '') : outcome.hint.replace('<command>', command);
}

