// The drop-in for a Hardhat project's state module: the free functions deploy scripts import today
// (getContract, putContract, getAllContracts), backed by the phase-following store. A read never
// surfaces a transient condition (another process holding LevelDB, a rollback refusing writes):
// it waits it out within a bound, then fails with PRESENCE_UNKNOWN. It never answers null for a
// record it could not look up, because deploy flows read null (or any error) as "not deployed".
import { ErrorCodes, isStateError, sleep, StateError, type DeploymentRecord } from '@deploystate/core';
import { createStateStore, type MigrationStateStore, type StateStoreOptions } from './factory.js';

/** Codes that say "busy right now", not "wrong": a call meeting one waits and tries again. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([ErrorCodes.LOCKED, ErrorCodes.WRITES_REFUSED]);

/** How long a call waits out a transient condition, by default. */
export const STATE_MODULE_WAIT_MS = 60_000;

export interface StateModuleWait {
  /** The function that met the condition: 'getContract', 'putContract' or 'getAllContracts'. */
  operation: string;
  /** What it met (LOCKED or WRITES_REFUSED). */
  error: StateError;
  /** How long this call has waited so far. */
  waitedMs: number;
}

export interface StateModuleOptions extends StateStoreOptions {
  /**
   * How long one call waits out a transient condition before failing (default 60 000 ms). The
   * store's own lock wait (about 15 s) runs inside each attempt, so a call may take up to this
   * bound plus one attempt.
   */
  waitMs?: number;
  /** Called each time a call meets a transient condition and is about to wait (e.g. to log it). */
  onWait?: (wait: StateModuleWait) => void;
}

export interface StateModule {
  /** The record, or null when it is certainly absent. Throws PRESENCE_UNKNOWN when that cannot be told. */
  getContract(chainId: number, contractName: string): Promise<DeploymentRecord | null>;
  /** Writes the record (its chainId must be `chainId`) to the side(s) the current phase writes. */
  putContract(chainId: number, record: DeploymentRecord): Promise<void>;
  /** Every record of the chain. Throws PRESENCE_UNKNOWN when the list cannot be read. */
  getAllContracts(chainId: number): Promise<DeploymentRecord[]>;
  /** Releases LevelDB, files and timers; a later call opens the store again. */
  close(): Promise<void>;
}

/** A state module over its own store; the free functions below use one made from the project's config. */
export function createStateModule(options: StateModuleOptions = {}): StateModule {
  const { waitMs = STATE_MODULE_WAIT_MS, onWait, ...storeOptions } = options;
  if (!(waitMs >= 0)) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `waitMs must be a number >= 0 (got ${String(waitMs)})`);
  let store: MigrationStateStore | undefined;
  const current = (): MigrationStateStore => (store ??= createStateStore(storeOptions));

  async function patiently<T>(
    operation: string,
    call: (store: MigrationStateStore) => Promise<T>,
    onGiveUp: (last: StateError) => Error,
  ): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(current());
      } catch (error) {
        if (!(isStateError(error) && TRANSIENT_CODES.has(error.code))) throw error;
        const waitedMs = performance.now() - started;
        if (waitedMs >= waitMs) throw onGiveUp(error);
        onWait?.({ operation, error, waitedMs });
        const pause = Math.min(1_000, 25 * 2 ** attempt, waitMs - waitedMs);
        await sleep(pause);
      }
    }
  }

  const unknown = (what: string, key: string | undefined, last: StateError): StateError =>
    new StateError(
      ErrorCodes.PRESENCE_UNKNOWN,
      `${what}: whether it exists is unknown: the store stayed busy (${last.code}) for ${Math.round(waitMs / 1000)} s`,
      {
        ...(key !== undefined && { key }),
        ...(last.file !== undefined && { file: last.file }),
        hint: 'this is not "not deployed": do not deploy on it; run the script again when the migration step holding the store has finished',
        cause: last,
      },
    );

  return {
    getContract: (chainId, contractName) =>
      patiently(
        'getContract',
        (s) => s.getContract(chainId, contractName),
        (last) => unknown(`getContract(${chainId}, ${JSON.stringify(contractName)})`, `${chainId}-${contractName}`, last),
      ),
    putContract: (chainId, record) =>
      patiently(
        'putContract',
        (s) => s.putContract(chainId, record),
        (last) => last,
      ),
    getAllContracts: (chainId) =>
      patiently(
        'getAllContracts',
        (s) => s.getAllContracts(chainId),
        (last) => unknown(`getAllContracts(${chainId}): the chain's records`, undefined, last),
      ),
    close: async () => {
      const closing = store;
      store = undefined;
      await closing?.close();
    },
  };
}

let configured: StateModuleOptions = {};
let shared: StateModule | undefined;

const sharedModule = (): StateModule => (shared ??= createStateModule(configured));

/**
 * Options for the free functions (paths, waitMs, ...); without it they read deploystate.config.json
 * and the environment from the current folder. Call it before their first use, or after
 * closeStateModule().
 */
export function configureStateModule(options: StateModuleOptions): void {
  if (shared !== undefined) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'configureStateModule() after the state module was used', {
      hint: 'call it before the first getContract/putContract/getAllContracts, or await closeStateModule() first',
    });
  }
  configured = { ...options };
}

/** The record, or null when it is certainly absent; PRESENCE_UNKNOWN (never null) when that cannot be told. */
export function getContract(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
  return sharedModule().getContract(chainId, contractName);
}

/** Writes the record through the store for the current migration phase. */
export function putContract(chainId: number, record: DeploymentRecord): Promise<void> {
  return sharedModule().putContract(chainId, record);
}

/** Every record of the chain; PRESENCE_UNKNOWN when the list cannot be read. */
export function getAllContracts(chainId: number): Promise<DeploymentRecord[]> {
  return sharedModule().getAllContracts(chainId);
}

/** Closes the store behind the free functions (call it when a script ends); they reopen it on their next use. */
export async function closeStateModule(): Promise<void> {
  const closing = shared;
  shared = undefined;
  await closing?.close();
}
