// The write protocol of the factory's store, in one place: route by the current phase, journal the
// intent, fence against a phase change, write the primary, then the secondary; undo the primary
// when the secondary fails, or mark the migration diverged when the undo fails too.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AbstractStateStore,
  canonicalDigest,
  ErrorCodes,
  isStateError,
  noteWait,
  sleep,
  StateError,
  type CheckedRecord,
  type DeploymentRecord,
  type RecordKey,
  type StateStore,
  warn,
} from '@deploystate/core';
import type { Journal, NewJournalEntry, OutcomeEntry, WriteOutcome } from './journal.js';
import { errorSummary } from './journal-line.js';
import { printIntent, printOk } from './journal-print.js';
import type { StateFiles } from './paths.js';
import type { PhaseWatcher } from './phase-watcher.js';
import { routeFor, type Route, type Side } from './routing.js';
import { updateState } from './state.js';
import { underWriteFence } from './fence.js';
import type { WriteFence } from './write-fence.js';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore, type SwapVersion } from '@deploystate/backend-json';
import { acquireLock, hasWaiters, lockFileFor, type HeldLock } from '@deploystate/backend-json/lock';
import type { OutboxDrainer } from './outbox-drainer.js';
import { describeRunner, rollbackRunner } from './migration-runner.js';
import { sharedStateFile } from './shared-state.js';

/** What a write needs from the store it goes through. */
export interface WriteTarget {
  readonly files: StateFiles;
  readonly journal: Journal;
  readonly watcher: PhaseWatcher;
  readonly env: NodeJS.ProcessEnv;
  /** The side's store, opened if need be. */
  side(name: Side): Promise<StateStore>;
  /** The side's store when it is open already (the hot path takes it without a promise). */
  openSide?(name: Side): StateStore | undefined;
  /** Where LevelDB is primary and JSON is written, writes go through the LevelDB outbox drained by this. */
  readonly outbox?: OutboxDrainer;
  /**
   * The JSON side starts `journal.startFlush()` once its temp file's sync has started, and awaits
   * `journal.flushed()` before it replaces a file (the factory's own JSON store).
   */
  readonly jsonAwaitsJournal?: boolean;
  /** The fence held across this store's back-to-back writes; without it each write takes the fence itself. */
  readonly fence?: WriteFence;
  /** How long a write waits for a rollback in progress; ROLLING_BACK_WAIT_MS unless a test shortens it. */
  readonly rollingBackWaitMs?: number;
}

/**
 * One write through the factory's store: a put of a record checked once (checkRecord), which every
 * side then takes as it is, or a delete of a key. Either way the key is built once, in both forms.
 */
export type Write = { op: 'put'; checked: CheckedRecord } | { op: 'delete'; at: RecordKey };

/** The key a write goes to. */
export function writeKey(w: Write): RecordKey {
  return w.op === 'put' ? w.checked : w.at;
}

/** Whether `store` holds what `w` wrote there (the record put, or no record for a delete). */
async function stillHolds(store: StateStore, w: Write): Promise<boolean> {
  const { chainId, contractName } = writeKey(w);
  const now = await store.get(chainId, contractName);
  if (w.op === 'delete') return now === null;
  return now !== null && canonicalDigest(now) === canonicalDigest(w.checked.record);
}

/** Puts a checked record on one side without checking it again (a store outside the base class checks it itself). */
function putChecked(store: StateStore, checked: CheckedRecord): Promise<void> {
  return store instanceof AbstractStateStore ? store.putChecked(checked) : store.put(checked.record);
}

/** Whether writes on this route go through the outbox: LevelDB primary, JSON written after it. */
export function usesOutbox(route: Route): boolean {
  return route.journal && route.writes[0] === 'leveldb' && route.writes[1] === 'json';
}

/** The route of the persisted state as it is now (a stat when unchanged). */
export async function currentRoute(t: Pick<WriteTarget, 'watcher' | 'env'>): Promise<Route> {
  return routeFor(await t.watcher.refresh(), t.env);
}

/** A write that found the phase changed three times in a row gives up; the caller may retry. */
function phaseKeptChanging(t: WriteTarget, key: string): StateError {
  return new StateError(ErrorCodes.WRITES_REFUSED, `${key}: the migration phase kept changing while writing`, {
    key,
    file: t.files.state,
    hint: 'retry the write',
  });
}

/** How long a write waits for a rollback in progress before WRITES_REFUSED. */
export const ROLLING_BACK_WAIT_MS = 2_000;

/**
 * The write through the outbox, started at once, when the state as last read routes writes there
 * and LevelDB is open (a deploy script's put, every one after its first): the phase is still
 * checked once LevelDB is held, as writeThrough checks it. undefined when writeThrough must decide.
 */
export function outboxWriteNow(t: WriteTarget, w: Write): Promise<boolean> | undefined {
  const known = t.outbox ? t.watcher.known : undefined;
  if (known === undefined || !usesOutbox(routeFor(known, t.env))) return undefined;
  const leveldb = t.openSide?.('leveldb');
  return leveldb instanceof LevelDbStore ? writeToOutbox(t, t.outbox as OutboxDrainer, leveldb, w, 0) : undefined;
}

/** Writes (or deletes) one key through the route of the current phase; true when a record was there (delete). */
export async function writeThrough(t: WriteTarget, w: Write, attempt = 0): Promise<boolean> {
  // Through the outbox the phase is checked once this process holds LevelDB (see writeToOutbox):
  // the route of the state as last read is enough to start with.
  const known = attempt === 0 ? t.watcher.known : undefined;
  const knownRoute = known === undefined ? undefined : routeFor(known, t.env);
  if (knownRoute !== undefined && t.outbox && usesOutbox(knownRoute)) {
    const leveldb = t.openSide?.('leveldb') ?? (await t.side('leveldb'));
    if (leveldb instanceof LevelDbStore) return writeToOutbox(t, t.outbox, leveldb, w, attempt);
  }
  // The state as last read routes the write through the fence with its journal lines (JSON first,
  // or LevelDB first without an outbox). The state is read again under the fence (writeRouted); any
  // other route found there sends the write back to the top, where a rollback in progress is waited
  // for outside the fence. A fence this process holds, idle and with no gate waiting for it, is used
  // as it is (a deploy script's puts after its first): its lock file, still held, shows the state
  // folder there. A fence to take is taken only once one stat shows the route unchanged: a take
  // would make a removed state folder again, or wait behind a carry-back that holds the fence.
  if (knownRoute !== undefined && t.fence && fencedJournalRoute(t, knownRoute)) {
    const routed =
      t.fence.runHeld(() => writeRouted(t, w)) ?? (t.watcher.routeUnchanged() ? t.fence.run(() => writeRouted(t, w)) : undefined);
    if (routed !== undefined) {
      const result = await routed;
      return result !== ROUTE_AGAIN ? result : writeThrough(t, w, attempt + 1);
    }
  }
  let route = await currentRoute(t);
  // A rollback in progress: wait for it to end (bounded), then write by the phase it leaves.
  const until = Date.now() + rollingBackWaitMs(t);
  const waitedFrom = performance.now();
  while (route.refuseWrites && Date.now() < until) {
    await sleep(20);
    route = await currentRoute(t);
    if (!route.refuseWrites || Date.now() >= until) noteWait('rolling-back', waitedFrom);
  }
  if (route.refuseWrites) throw writesRefused(t, writeKey(w).key);
  if (t.outbox && usesOutbox(route)) {
    const leveldb = await t.side('leveldb');
    if (leveldb instanceof LevelDbStore) return writeToOutbox(t, t.outbox, leveldb, w, attempt);
  }
  // A migration is set up (its state folder exists): hold the fence, so a gate (dual-write
  // enable included: a LevelDB-only write still in flight must not land after the copy read
  // its chain) waits for this write, or it for the gate. No state folder: nothing to fence, and
  // none is created.
  const routed = await (!route.journal && !existsSync(t.files.stateDir)
    ? writeRouted(t, w)
    : t.fence
      ? t.fence.run(() => writeRouted(t, w))
      : underWriteFence(t.files, () => writeRouted(t, w)));
  if (routed !== ROUTE_AGAIN) return routed;
  // The phase moved under the fence: routed again from the top, outside it, so a rollback in
  // progress is waited for as any write waits for it (and never kept waiting for this one).
  if (attempt >= 3) throw phaseKeptChanging(t, writeKey(w).key);
  return writeThrough(t, w, attempt + 1);
}

/**
 * The route read again under the fence: a gate that held it may have switched the phase meanwhile
 * (a stat of the file that decides the route when unchanged, with no promise: a write reads nothing
 * else of the state).
 */
async function routeUnderFence(t: WriteTarget): Promise<Route> {
  return routeFor(t.watcher.routeUnchanged() ? t.watcher.state : await t.watcher.refresh(), t.env);
}

/**
 * Whether the phase moved off `route` since it was read, checked once a write's intents are in the
 * journal (one stat when it did not; see writeRouted): a write that finds it moved takes the new route.
 */
async function routeMovedSince(t: WriteTarget, route: Route): Promise<boolean> {
  if (t.watcher.routeUnchanged()) return false;
  const now = await currentRoute(t);
  return now.refuseWrites || now.reads !== route.reads || now.writes.join() !== route.writes.join();
}

/** The error an intent is closed with when the phase moved before its write began. */
function movedBeforeWrite(t: WriteTarget, key: string): StateError {
  return new StateError(ErrorCodes.WRITES_REFUSED, `${key}: the migration moved to ${t.watcher.state.phase} before the write began`);
}

/** A network's json-primary write turn, for the write of `what` (see writeRouted). */
function takeJsonPrimaryTurn(t: WriteTarget, chainId: number, what: string): Promise<HeldLock> {
  return acquireLock(lockFileFor(join(t.files.deployments, `${JSON_PRIMARY_TURN}${chainId}`)), {
    timeoutMs: JSON_PRIMARY_TURN_WAIT_MS,
    purpose: `json-primary write of ${what}`,
  });
}

/**
 * Ends a json-primary turn. Another process waits for the turn (it shows itself through
 * `<lock>.wait` while it waits), and its write goes to LevelDB next: LevelDB is handed over now, not
 * at this store's next idle poll, which cost the other about 25 ms a put (two scripts on one
 * network: 11-13 puts a second each, 17-23 with the hand-over). Alone, a script keeps LevelDB open
 * for its next put. The hand-over is a courtesy once the write is done: a close that fails is the
 * handle's next use's to report.
 */
async function endJsonPrimaryTurn(turn: HeldLock, leveldb: StateStore | undefined): Promise<void> {
  const waited = hasWaiters(turn.file);
  await turn.release();
  if (waited && leveldb instanceof LevelDbStore) await leveldb.handBack().catch(() => undefined);
}

/**
 * A json-primary write that JSON took and LevelDB refused (a full disk, say), whose undo failed too:
 * JSON, which deploy scripts read, holds it, and its intent stays open, as a write cut off between
 * the two sides does. verify counts it pending, the cut-over writes it to LevelDB first, a rollback
 * carries it back; no divergence is marked (before, DIVERGED: a mark only a write of the key again
 * cleared, which a script that finds the contract never makes). The error is LevelDB's.
 */
function leftInJson(what: string, secondaryError: unknown, undoError: unknown, key?: string): StateError {
  const cause = isStateError(secondaryError) ? secondaryError : undefined;
  const undone = isStateError(undoError) ? undoError.code : errorSummary(undoError).code ?? 'error';
  return new StateError(
    cause?.code ?? ErrorCodes.WRITE_FAILED,
    `${what}: written to json but not to leveldb (${cause?.message ?? String(secondaryError)}), and the json write could not be undone (${undone}); it stands in JSON, which deploy scripts read, and LevelDB gets it at the cut-over (verify counts it pending; a rollback carries it back)`,
    {
      ...(cause?.file !== undefined && { file: cause.file }),
      ...((key ?? cause?.key) !== undefined && { key: key ?? cause?.key }),
      hint: `fix the cause (${cause?.hint ?? 'free the space'}); nothing else is needed: writing the record again now puts it on both sides`,
      cause: secondaryError,
    },
  );
}

/**
 * The way out of a divergence: the sides hold different values for the key until it is written
 * again, which verify alone never does (a deploy script that finds the contract deployed, as reads
 * show it, does not write it again).
 */
export const DIVERGED_HINT =
  'once the cause is fixed (free the space), write the key again through the store so both sides hold it (a script that skips contracts it finds deployed will not: put that record again), then run verify; promote and cutover stay blocked until it is clean';

/**
 * Marks the migration diverged by `closed` (the write's `diverged` outcome: promote and cutover wait
 * for a clean verify whose quiet point follows it) and returns DIVERGED naming its key.
 */
async function markedDiverged(t: WriteTarget, closed: OutcomeEntry, message: string, cause: unknown): Promise<StateError> {
  // A mark that cannot be recorded (the disk full) is no reason to report anything but DIVERGED: the
  // journal's `diverged` outcome, on disk by now, shows it (status reads it there).
  const unrecorded = await updateState(t.files, (s) => {
    s.diverged = true;
    s.divergedBy = { seq: closed.ref, key: closed.key, at: new Date().toISOString() };
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (unrecorded !== undefined) message += `; ${t.files.state} could not record the mark (${errorSummary(unrecorded).code ?? 'error'}), the journal holds it`;
  return new StateError(ErrorCodes.DIVERGED, message, {
    key: closed.key,
    file: t.files.state,
    hint: DIVERGED_HINT,
    cause,
  });
}

/** Puts a batch checked once on one side without checking it again. */
function putManyChecked(store: StateStore, checked: readonly CheckedRecord[]): Promise<void> {
  return store instanceof AbstractStateStore ? store.putManyChecked(checked) : store.putMany(checked.map((one) => one.record));
}

/** LevelDB alone, no journal: leveldb-only without DUAL_WRITE_MODE (or no migration set up). */
function levelDbAlone(route: Route): boolean {
  return !route.journal && !route.refuseWrites && route.writes.length === 1 && route.writes[0] === 'leveldb';
}

/** JSON alone, journalled: json-only, whose writes a network file's batch can take at once (putChainInJson). */
export function jsonAlone(route: Route): boolean {
  return route.journal && !route.refuseWrites && route.writes.length === 1 && route.writes[0] === 'json';
}

/**
 * A putMany where the phase writes LevelDB alone without a journal: one LevelDB batch (a key named
 * twice ends as its last record), holding the fence as a single put there does (writeThrough: when a
 * state folder exists, so `dual-write enable` never copies a chain with this batch still in flight).
 * `route`: the state's as the caller read it, read again under the fence, as writeRouted reads it.
 * false, with nothing written, on any other route: the caller writes the records by the route they take.
 */
export async function putManyInLevelDb(t: WriteTarget, checked: readonly CheckedRecord[], route: Route): Promise<boolean> {
  if (!levelDbAlone(route)) return false;
  const write = async (): Promise<boolean> => {
    if (!levelDbAlone(await routeUnderFence(t))) return false;
    await putManyChecked(t.openSide?.('leveldb') ?? (await t.side('leveldb')), checked);
    return true;
  };
  return !existsSync(t.files.stateDir) ? write() : t.fence ? t.fence.run(write) : underWriteFence(t.files, write);
}

/** JSON primary, LevelDB written after it, journalled: json-primary. */
function jsonThenLevelDb(route: Route): boolean {
  return route.journal && !route.refuseWrites && route.writes.length === 2 && route.writes[0] === 'json' && route.writes[1] === 'leveldb';
}

/** JSON written first, journalled: json-only and json-primary, whose network's records a putMany writes at once (putChainInJson). */
export function jsonFirst(route: Route): boolean {
  return jsonAlone(route) || jsonThenLevelDb(route);
}

/**
 * One network's records of a putMany in json-only or json-primary: one write of its file, with each
 * record's journal intent and outcome as a single put (writeRouted) makes them, so rollback, the
 * copy, verify and status read them as that many puts. Under the fence: the route read again; every
 * intent appended; the phase checked after them; the file written once (its intents on disk before
 * it is replaced, as a put's are); in json-primary then LevelDB (putChainBothSides); then each
 * record's `ok`. A JSON write that fails gives every record `primary-failed` (durable) and throws.
 * false, with nothing written (or every intent closed `primary-failed` when the phase moved after
 * them), on any other route, or in json-primary with a JSON side that is not a JsonFileStore: the
 * caller writes each record as a single put.
 */
export async function putChainInJson(t: WriteTarget, chain: readonly CheckedRecord[]): Promise<boolean> {
  const fence = t.fence;
  if (fence === undefined || !jsonFirst(await currentRoute(t))) return false;
  const routed = await (fence.runHeld(() => putChainRouted(t, chain)) ?? fence.run(() => putChainRouted(t, chain)));
  return routed !== ROUTE_AGAIN;
}

async function putChainRouted(t: WriteTarget, chain: readonly CheckedRecord[]): Promise<void | typeof ROUTE_AGAIN> {
  // Read again under the fence, as writeRouted reads it.
  const route = await routeUnderFence(t);
  if (!jsonFirst(route)) return ROUTE_AGAIN;
  const { phase } = t.watcher.state;
  const json = t.openSide?.('json') ?? (await t.side('json'));
  // json-primary's batch needs the JSON store's swapMany (what each key held, read in its write).
  const bothSides = jsonThenLevelDb(route);
  if (bothSides && !(json instanceof JsonFileStore)) return ROUTE_AGAIN;
  const started = performance.now();
  const elapsedMs = (): number => Math.round((performance.now() - started) * 1000) / 1000;
  const { pid } = process;
  // Each record's intent as writeRouted prints it (its own id), all in one append.
  const ids = chain.map(() => t.journal.nextId());
  const time = new Date().toISOString();
  const intents = chain.map((one, i) =>
    printIntent({ key: one.key, op: 'put', digest: canonicalDigest(one.record), time, pid, phase, id: ids[i] as string }, one.record),
  );
  const intentAppended = t.journal.appendPrinted(intents.join('\n'));
  if (intentAppended !== undefined) await intentAppended;
  // On disk before the file is replaced: the JSON store syncs them beside its temp file (writeRouted).
  let intentLines: number | undefined;
  if (t.jsonAwaitsJournal) intentLines = t.journal.require();
  else await t.journal.sync();
  // The batch's failure where it changed nothing: every record `primary-failed` or `compensated`.
  const closeUnchanged = (outcome: 'primary-failed' | 'compensated', errorOf: (key: string) => unknown): Promise<void> =>
    closeUnchangedWrite(t, outcomes(outcome, errorOf), intents.join('\n'));
  const closeFailed = (errorOf: (key: string) => unknown): Promise<void> => closeUnchanged('primary-failed', errorOf);
  // Every record's outcome but `ok`, as a single put gives it (each naming its own intent).
  function outcomes(outcome: Exclude<WriteOutcome, 'ok'>, errorOf: (key: string) => unknown): NewJournalEntry[] {
    const at = new Date().toISOString();
    return chain.map((one, i) => ({
      type: 'outcome' as const,
      refId: ids[i] as string,
      key: one.key,
      op: 'put' as const,
      outcome,
      durationMs: elapsedMs(),
      error: errorSummary(errorOf(one.key)),
      time: at,
      pid,
      phase,
    }));
  }

  // The fence against a phase change between reading the route and the intents (writeRouted).
  if (await routeMovedSince(t, route)) {
    await closeFailed((key) => movedBeforeWrite(t, key));
    return ROUTE_AGAIN;
  }

  if (bothSides) await putChainBothSides(t, json as JsonFileStore, chain, intentLines, outcomes, closeUnchanged);
  else await putChainJsonAlone();
  const durationMs = elapsedMs();
  const at = new Date().toISOString();
  const oks = chain.map((one, i) =>
    printOk({ refId: ids[i] as string, key: one.key, op: 'put', durationMs, time: at, pid, phase, id: t.journal.nextId() }),
  );
  const closing = appendOk(t, oks.join('\n'), describeBatch(chain));
  if (closing !== undefined) await closing;

  /** json-only: the file written once, every record `primary-failed` (durable) when it cannot be. */
  async function putChainJsonAlone(): Promise<void> {
    try {
      await putManyChecked(json, chain);
      // On disk already when the JSON store replaced the file; synced now when it wrote nothing.
      if (intentLines !== undefined) await t.journal.flushed(intentLines);
    } catch (error) {
      await closeFailed(() => error);
      throw error;
    }
  }
}

/**
 * json-primary's part of a network's batch (putChainRouted: under the fence, its intents journalled
 * and the phase checked), each guarantee a single put's (writeRouted) kept for the batch: the
 * network's json-primary turn taken once; ONE write of the file that says, under its lock, what each
 * key held before the batch (swapManyChecked); ONE LevelDB batch; when LevelDB fails, the undo per
 * key as a compare-and-swap in ONE locked write (a key another process wrote since is left as it
 * is), every record then `compensated`, or, when the undo fails, `diverged` and the migration
 * marked so; git's version of the file while LevelDB was written gets the batch again on top
 * (keepSwapMany). Returns once both sides hold every record; the caller journals the `ok` lines.
 */
async function putChainBothSides(
  t: WriteTarget,
  json: JsonFileStore,
  chain: readonly CheckedRecord[],
  intentsUpTo: number | undefined,
  outcomes: (outcome: Exclude<WriteOutcome, 'ok'>, errorOf: (key: string) => unknown) => NewJournalEntry[],
  closeUnchanged: (outcome: 'primary-failed' | 'compensated', errorOf: (key: string) => unknown) => Promise<void>,
): Promise<void> {
  const { chainId, key: firstKey } = chain[0] as CheckedRecord;
  const close = (outcome: 'primary-failed' | 'compensated', error: unknown): Promise<void> => closeUnchanged(outcome, () => error);
  let turn: HeldLock;
  try {
    turn = await takeJsonPrimaryTurn(t, chainId, `${firstKey}${chain.length > 1 ? ` and ${chain.length - 1} more` : ''}`);
  } catch (error) {
    await close('primary-failed', error);
    throw error;
  }
  let leveldb: StateStore | undefined;
  try {
    await writeBoth();
  } finally {
    await endJsonPrimaryTurn(turn, leveldb);
  }

  async function writeBoth(): Promise<void> {
    // In the order given: a key named twice ends as its last record; its previous is the value before the batch.
    const entries = chain.map((one) => ({ contractName: one.contractName, next: one }));
    let previous: Map<string, DeploymentRecord | null>;
    let left: SwapVersion;
    try {
      ({ previous, version: left } = await json.swapManyChecked(chainId, entries));
      // On disk already when the JSON store replaced the file; synced now when it wrote nothing.
      if (intentsUpTo !== undefined) await t.journal.flushed(intentsUpTo);
    } catch (error) {
      await close('primary-failed', error);
      throw error;
    }
    try {
      leveldb = await t.side('leveldb');
      // All or nothing (StateStore.putMany): a failure leaves none of the batch in LevelDB.
      await putManyChecked(leveldb, chain);
    } catch (secondaryError) {
      // Each key put back to what it held before the batch only while the file still holds this
      // batch's record there (its last, for a key named twice), all under the file's lock in one
      // write: a key another process wrote since was acknowledged, and stands.
      const last = new Map<string, CheckedRecord>();
      for (const one of chain) last.set(one.contractName, one);
      const undo = [...last.values()].map((one) => ({
        contractName: one.contractName,
        next: previous.get(one.contractName) ?? null,
        expected: one.record,
      }));
      try {
        await json.swapMany(chainId, undo);
      } catch (undoError) {
        throw leftInJson(`${chainId}: ${describeBatch(chain)}`, secondaryError, undoError);
      }
      await close('compensated', secondaryError);
      throw secondaryError;
    }
    // A git command that replaced the file while LevelDB was written: the batch again on top of git's version, within the turn.
    const kept = json.keepSwapMany(chainId, entries, left);
    if (kept !== undefined) {
      try {
        await kept;
      } catch (keepError) {
        throw await markBatchDiverged(
          keepError,
          keepError,
          `${chainId}: ${describeBatch(chain)} written to LevelDB, and the JSON write, replaced by a git command meanwhile, could not be made again; the migration is marked diverged`,
        );
      }
    }
  }

  /**
   * Every record of the batch journalled `diverged` (the JSON write was one, and so is its undo: none
   * of them was undone), and the migration marked so, naming the batch's last record: its intent is
   * the batch's last, so a verify clears the mark only once its quiet point follows every intent of
   * the batch. Returns DIVERGED.
   */
  async function markBatchDiverged(failed: unknown, cause: unknown, message: string): Promise<StateError> {
    const closed = (await t.journal.append(outcomes('diverged', () => failed))) as OutcomeEntry[];
    return markedDiverged(t, closed[closed.length - 1] as OutcomeEntry, message, cause);
  }
}

/**
 * Closes intents whose write failed having changed nothing: their outcomes journalled (durable), or,
 * where the journal cannot take them (the disk full since the intents), the intents' lines
 * withdrawn (Journal.withdraw): left open, they would read as writes cut off. The journal's error
 * only when neither can be done.
 */
async function closeUnchangedWrite(t: WriteTarget, outcomes: NewJournalEntry[], intentLines: string): Promise<void> {
  try {
    await t.journal.record(outcomes, { durable: true });
  } catch (journalError) {
    if (!t.journal.withdraw(intentLines)) throw journalError;
  }
}

/**
 * Appends a finished write's `ok` lines (appendPrinted: no promise unless they are large). The write
 * is stored by then, and an `ok` is never synced (one lost in a crash leaves an open intent, which
 * rollback, the copy and status handle): an append the journal refuses (a full disk) is a warning,
 * never the write's failure, which a script would take for a write that did not happen.
 */
function appendOk(t: WriteTarget, lines: string, what: string): Promise<void> | undefined {
  const unrecorded = (error: unknown): void =>
    warn({
      code: isStateError(error) ? error.code : ErrorCodes.WRITE_FAILED,
      message: `${what}: written, but the journal could not record that it went through (${errorSummary(error).message})`,
      hint: 'nothing is lost (the record is stored); free disk space. Until the key is written again, status names the write as cut off, landed',
      file: t.journal.file,
    });
  try {
    return t.journal.appendPrinted(lines)?.catch(unrecorded);
  } catch (error) {
    unrecorded(error);
    return undefined;
  }
}

/** A batch's keys for a message: the first few, then how many more. */
function describeBatch(chain: readonly CheckedRecord[]): string {
  const keys = [...new Set(chain.map((one) => one.key))];
  return keys.length <= 3 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')} and ${keys.length - 3} more`;
}

/** Whether writes on this route hold the fence and journal their intent and outcome (writeRouted, not the outbox). */
function fencedJournalRoute(t: Pick<WriteTarget, 'outbox'>, route: Route): boolean {
  return route.journal && !route.refuseWrites && !(t.outbox && usesOutbox(route));
}

/** What writeRouted returns when the phase moved under the fence: the write goes through writeThrough again. */
const ROUTE_AGAIN = Symbol('route again');

/** The name of a network's json-primary write turn (its lock file sits with the network files' own locks). */
const JSON_PRIMARY_TURN = 'json-primary-write-';
/** How long a json-primary write waits for its turn: the holder's JSON lock wait and LevelDB hand-over wait, and some. */
const JSON_PRIMARY_TURN_WAIT_MS = 30_000;

/** How long a write waits for a rollback in progress to end (a test may shorten it on its target). */
function rollingBackWaitMs(t: WriteTarget): number {
  return t.rollingBackWaitMs ?? ROLLING_BACK_WAIT_MS;
}

/**
 * WRITES_REFUSED for a write that waited for a rollback in progress as long as writes wait, naming
 * the process that runs it (who to wait for), or saying that none does: a rollback that stopped
 * keeps writes refused until `deploystate rollback` runs again.
 */
function writesRefused(t: WriteTarget, key: string): StateError {
  const runner = rollbackRunner(t.files);
  const phase = t.watcher.state.phase;
  // The file that holds the phase: the committed phase.json, which every phase change writes (state.json in a state from before it).
  const phaseFile = sharedStateFile(t.files.stateDir);
  const file = existsSync(phaseFile) ? phaseFile : t.files.state;
  if (runner === undefined)
    return new StateError(ErrorCodes.WRITES_REFUSED, `writes are refused while the migration is ${phase}, and no rollback is running: the last one stopped before it finished`, {
      key,
      file,
      hint: 'run `deploystate rollback` to finish it (nothing journalled is lost), then retry the write',
      data: { rollback: null },
    });
  return new StateError(ErrorCodes.WRITES_REFUSED, `writes are refused while the migration is ${phase}: the rollback run by ${describeRunner(runner)} has not finished`, {
    key,
    file,
    hint: `the rollback did not finish within ${rollingBackWaitMs(t) / 1000} s; retry the write once pid ${runner.pid} has ended (deploystate status shows the phase)`,
    data: { rollback: { pid: runner.pid, host: runner.host, command: runner.command, since: runner.since } },
  });
}

/**
 * The record and its outbox entry in one LevelDB batch; the drainer brings JSON up to date. No
 * fence: a gate holds LevelDB while it drains and switches the phase, and this write checks the
 * phase once it holds LevelDB, so it lands either before the gate's drain or on the new route.
 * That check is one stat of the file that decides the route (PhaseWatcher.routeUnchanged: phase.json,
 * which every switch rewrites and a git pull replaces), never of state.json's other fields.
 */
async function writeToOutbox(t: WriteTarget, outbox: OutboxDrainer, leveldb: LevelDbStore, w: Write, attempt: number): Promise<boolean> {
  const { key } = writeKey(w);
  const written = leveldb.writeWithOutbox(
    w.op === 'put' ? w : { op: 'delete', chainId: w.at.chainId, contractName: w.at.contractName },
    { key, op: w.op, pid: process.pid, phase: t.watcher.state.phase },
    () => t.watcher.routeUnchanged(),
  );
  // The drain's timer is armed while LevelDB writes the batch on its thread (a put on an open
  // handle has handed it over by now), not after: in a process that wakes for a put every 100 ms,
  // arming a timer costs as much as the batch's own work on this thread.
  outbox.schedule();
  const { admitted, existed } = await written;
  if (!admitted) {
    if (attempt >= 3) throw phaseKeptChanging(t, key);
    return writeThrough(t, w, attempt + 1);
  }
  outbox.committed();
  return w.op === 'put' ? true : existed;
}

/**
 * A putMany where writes take the outbox (dual-write): every record and its outbox entry in one
 * LevelDB batch, all or none, the phase checked once LevelDB is held as a single put's is
 * (writeToOutbox), against the read that gave `route` (the caller's, the one read of the call); the drainer brings JSON up to date. A check that finds the phase files changed
 * reads them again, as a put does: still this route (a git pull that replaced phase.json with the
 * same phase), the batch again, whole. false, with nothing written, on any other route: the caller
 * writes the records by the route of the state as now read.
 */
export async function putManyToOutbox(t: WriteTarget, checked: readonly CheckedRecord[], route: Route, attempt = 0): Promise<boolean> {
  const outbox = t.outbox;
  if (outbox === undefined || !usesOutbox(route)) return false;
  const leveldb = t.openSide?.('leveldb') ?? (await t.side('leveldb'));
  if (!(leveldb instanceof LevelDbStore)) return false;
  const { pid } = process;
  const { phase } = t.watcher.state;
  const written = leveldb.putManyWithOutbox(checked, (one) => ({ key: one.key, op: 'put', pid, phase }), () => t.watcher.routeUnchanged());
  // Armed while LevelDB writes the batch, as a single put arms it (writeToOutbox).
  outbox.schedule();
  // Read again, once per change (the fourth leaves it to the caller, who writes record by record).
  if (!(await written).admitted) return attempt < 3 && putManyToOutbox(t, checked, await currentRoute(t), attempt + 1);
  outbox.committed();
  return true;
}

async function writeRouted(t: WriteTarget, w: Write): Promise<boolean | typeof ROUTE_AGAIN> {
  const { key, chainId, contractName } = writeKey(w);
  const op = w.op;
  const record = w.op === 'put' ? w.checked.record : undefined;
  // Read again under the fence: a gate that held it may have switched the phase meanwhile (a
  // stat of the file that decides the route when unchanged, with no promise: the write reads
  // nothing else of the state).
  const route = await routeUnderFence(t);
  const state = t.watcher.state;
  // The phase switched to rolling-back since the route was read: waited for outside the fence.
  if (route.refuseWrites) return ROUTE_AGAIN;
  // The outbox's route (the phase moved to it since the route was read): its writes take the outbox.
  if (t.outbox && usesOutbox(route)) return ROUTE_AGAIN;
  const [primaryName, secondaryName] = route.writes as [Side, Side | undefined];
  const primary = t.openSide?.(primaryName) ?? (await t.side(primaryName));
  const apply = async (store: StateStore): Promise<boolean> => {
    if (w.op === 'put') {
      await putChecked(store, w.checked);
      return true;
    }
    return store.delete(chainId, contractName);
  };
  if (!route.journal) return apply(primary);

  const started = performance.now();
  const elapsedMs = (): number => Math.round((performance.now() - started) * 1000) / 1000;
  // Rollback carries writes back from JSON by the intents: where JSON is primary the intent is on
  // disk before the JSON file is replaced, and before the put returns. Its sync runs beside the
  // JSON write's own: the JSON store starts it once its temp file's sync has started and awaits it
  // right before its rename (started here, it ran beside the store's printing and writing and
  // slowed them: 50-70 us a put, interleaved A/B at 28 and 500 records). Every other start measured
  // slower too (interleaved A/B, 100 records a network): just before the temp file's sync 35-40 us,
  // after the store's work beside it 35-60 us, as fdatasyncSync 30-60 us; the intent printed and
  // appended there instead of here gained nothing. The two syncs end together, and the thread-pool
  // worker a sync wakes runs first on this thread's core when the other is busy. A side that does
  // not await it gets the write only once it is done. Elsewhere LevelDB is complete and the line
  // needs no fsync.
  // The intent line is printed here, not built as an entry for the journal to print (journal-print.ts).
  const intentId = t.journal.nextId();
  const intentLine = printIntent(
    {
      key,
      op,
      digest: record === undefined ? null : canonicalDigest(record),
      time: new Date().toISOString(),
      pid: process.pid,
      phase: state.phase,
      id: intentId,
    },
    record,
  );
  const intentAppended = t.journal.appendPrinted(intentLine);
  if (intentAppended !== undefined) await intentAppended;
  // The lines the JSON store syncs for this put (its intent and those before it), awaited again below.
  let intentLines: number | undefined;
  if (primaryName === 'json') {
    if (t.jsonAwaitsJournal) intentLines = t.journal.require();
    else await t.journal.sync();
  }
  const outcomeEntry = (outcome: WriteOutcome, error?: unknown): NewJournalEntry => ({
    type: 'outcome',
    refId: intentId,
    key,
    op,
    outcome,
    durationMs: elapsedMs(),
    ...(error !== undefined && { error: errorSummary(error) }),
    time: new Date().toISOString(),
    pid: process.pid,
    phase: state.phase,
  });
  // Outcomes feed the report; an ok one lost in a crash leaves an open intent, which rollback and the copy handle.
  // A failure that changed nothing.
  const close = (outcome: 'primary-failed' | 'compensated', error: unknown): Promise<void> =>
    closeUnchangedWrite(t, [outcomeEntry(outcome, error)], intentLine);
  // The ok outcome, printed here (journal-print.ts): no fsync, and no promise unless the line is large.
  const closeOk = (): Promise<void> | undefined =>
    appendOk(
      t,
      printOk({
        refId: intentId,
        key,
        op,
        durationMs: elapsedMs(),
        time: new Date().toISOString(),
        pid: process.pid,
        phase: state.phase,
        id: t.journal.nextId(),
      }),
      key,
    );

  // The fence against a phase change between reading the route and the intent line: a rollback
  // flips the state, then reads the journal. Stat after the line is written: if the state still
  // is the one routed on, the flip comes after the line and the rollback sees (and waits for) it;
  // if it changed, this write takes the new route instead of landing on a side no longer read. The
  // stat is of the file that decides the route (routeUnchanged: phase.json, where it decides).
  if (await routeMovedSince(t, route)) {
    await close('primary-failed', movedBeforeWrite(t, key));
    return ROUTE_AGAIN;
  }

  // json-primary: one write of a network file at a time in every process, from its JSON write
  // through its LevelDB write (and the undo when that fails). Two scripts writing one key otherwise
  // interleave: JSON and LevelDB could end on different acknowledged values, and an undo could put
  // back another script's write that was itself being undone.
  let turn: HeldLock | undefined;
  if (secondaryName !== undefined && primaryName === 'json') {
    try {
      turn = await takeJsonPrimaryTurn(t, chainId, key);
    } catch (error) {
      await close('primary-failed', error);
      throw error;
    }
  }
  let secondary: StateStore | undefined;
  try {
    return await writeBothSides();
  } finally {
    if (turn !== undefined) await endJsonPrimaryTurn(turn, secondary);
  }

  async function writeBothSides(): Promise<boolean> {
    let previous: DeploymentRecord | null = null;
    let result: boolean;
    // The JSON file as this write left it, confirmed once LevelDB is written too (below).
    let jsonLeft: SwapVersion | undefined;
    try {
      if (secondaryName && primary instanceof JsonFileStore) {
        // What the write replaces, read under the file's lock in the same write: a write another
        // process made just before this one is what an undo puts back, never an older value.
        ({ previous, version: jsonLeft } = await primary.swapChecked(chainId, contractName, w.op === 'put' ? w.checked : null));
        result = op === 'put' || previous !== null;
      } else {
        if (secondaryName) previous = await primary.get(chainId, contractName);
        result = await apply(primary);
      }
      // On disk already when the JSON store replaced the file; synced now when it wrote nothing. Its
      // own lines only: a sync of another put's later intent that failed is that put's failure.
      if (intentLines !== undefined) await t.journal.flushed(intentLines);
    } catch (error) {
      await close('primary-failed', error);
      throw error;
    }
    if (!secondaryName) {
      const closing = closeOk();
      if (closing !== undefined) await closing;
      return result;
    }
    try {
      secondary = await t.side(secondaryName);
      await apply(secondary);
    } catch (secondaryError) {
      try {
        // Undone only while the primary still holds this write: another write of the key that landed
        // since (a script whose own write went through while this one waited for the secondary) was
        // acknowledged, and putting back what came before this write would wipe it.
        if (primary instanceof JsonFileStore) {
          // A compare-and-swap under the file's lock: nothing lands between the check and the undo.
          await primary.swap(chainId, contractName, previous, { expected: record ?? null });
        } else if (await stillHolds(primary, w)) {
          if (previous === null) await primary.delete(chainId, contractName);
          else await primary.put(previous);
        }
      } catch (undoError) {
        // json-primary: JSON, which deploy scripts read, holds the write; it stays open in the journal.
        if (primaryName === 'json') throw leftInJson(key, secondaryError, undoError, key);
        throw await markDiverged(
          undoError,
          secondaryError,
          `${key}: written to ${primaryName} but not to ${secondaryName}, and the ${primaryName} write could not be undone; the migration is marked diverged`,
        );
      }
      await close('compensated', secondaryError);
      throw secondaryError;
    }
    // A git command (reset, checkout, pull) that took the work tree while LevelDB was written may
    // have put its own version of the JSON file over this write, which reads then no longer find
    // (a deploy script would deploy the contract again): waited for, and the JSON write made again
    // on top of git's version, still within this write's turn. Two stats when git is idle.
    const kept =
      jsonLeft !== undefined && primary instanceof JsonFileStore
        ? primary.keepSwap(chainId, contractName, w.op === 'put' ? w.checked : null, jsonLeft)
        : undefined;
    if (kept !== undefined) {
      try {
        await kept;
      } catch (keepError) {
        // LevelDB holds the write and the JSON file, as git left it, does not: the sides disagree.
        throw await markDiverged(
          keepError,
          keepError,
          `${key}: written to LevelDB, and the JSON write, replaced by a git command meanwhile, could not be made again; the migration is marked diverged`,
        );
      }
    }
    const closing = closeOk();
    if (closing !== undefined) await closing;
    return result;
  }

  /** Journals the write as diverged (with `failed`), marks the migration so (promote and cutover wait for a clean verify) and returns DIVERGED. */
  async function markDiverged(failed: unknown, cause: unknown, message: string): Promise<StateError> {
    return markedDiverged(t, (await t.journal.appendOne(outcomeEntry('diverged', failed))) as OutcomeEntry, message, cause);
  }
}
