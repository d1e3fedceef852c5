// How long an open of LevelDB waits for another process's lock, as a project sets it: the
// `lockWaitMs` option of the call, else DEPLOYSTATE_LOCK_WAIT_MS (one machine or one run), else
// `lockWaitMs` in deploystate.config.json (the team's, committed). One reading for the CLI and for
// deploy scripts, so both take the same values and refuse the same ones with the same message.
import { ErrorCodes, StateError } from './errors.js';

/** The environment variable that sets the wait for one machine or one run. */
export const LOCK_WAIT_ENV = 'DEPLOYSTATE_LOCK_WAIT_MS';

/**
 * DEPLOYSTATE_LOCK_WAIT_MS in `env`, in milliseconds; undefined when unset or empty. Digits only
 * (Number() would also take 0x10, 1e3 and 1.0): anything else is INVALID_ARGUMENT naming the variable.
 */
export function lockWaitMsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[LOCK_WAIT_ENV];
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw lockWaitRefused(LOCK_WAIT_ENV, JSON.stringify(raw));
  return ms;
}

/** The wait a project sets for a call: its option, else the variable in `env`, else the config file's `lockWaitMs`. */
export function projectLockWaitMs(option: number | undefined, env: NodeJS.ProcessEnv, configured: number | undefined): number | undefined {
  return option ?? lockWaitMsFromEnv(env) ?? configured;
}

/** INVALID_ARGUMENT for a wait (`name`: the option or variable) that is not a whole number of milliseconds >= 0. */
export function lockWaitRefused(name: string, shown: string): StateError {
  return new StateError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a whole number of milliseconds >= 0 (digits only), got ${shown}`, {
    data: { name },
    hint: 'leave it unset for the default wait (about 15 s)',
  });
}
