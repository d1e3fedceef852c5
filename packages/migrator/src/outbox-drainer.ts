// The drainer of the LevelDB outbox (dual-write, and leveldb-only with DUAL_WRITE_MODE=true): it
// applies the writes LevelDB committed to the JSON files off the put's path, journals each one
// (intent and outcome), then removes the entries. Any process drains what it finds, whatever its env.
import { readFile } from 'node:fs/promises';
import { existsSync, unlinkSync } from 'node:fs';
import { OUTBOX_PREFIX, type LevelDbStore, type OutboxEntry } from '@deploystate/backend-leveldb';
import { hasWaiters, withFileLock, withLock } from '@deploystate/backend-json/lock';
import { canonicalDigest, ErrorCodes, isStateError, parseKey, sleep, warn, type DeploymentRecord, type StateStore } from '@deploystate/core';
import { writeFileAtomic } from '@deploystate/backend-json';
import type { ForeignOverwrite, OverwriteWatch } from './coowned.js';
import { WRITE_FENCE_WAIT_MS } from './fence.js';
import type { Journal, NewJournalEntry } from './journal.js';
import { errorSummary } from './journal-line.js';
import type { StateFiles } from './paths.js';
import type { MigrationPhase } from './types.js';
import { join } from 'node:path';

/** A drain starts once puts paused this long... */
export const DRAIN_QUIET_MS = 5;
/** ...or this long after the first undrained put, whichever comes first. */
export const DRAIN_MAX_DELAY_MS = 100;
/** After a failed drain, the next try comes this much later. */
const RETRY_AFTER_MS = 1_000;
/** Entries taken per round. */
const ROUND_SIZE = 500;
/** What the drains' lock guards (lockFileFor: `<deployments>/.deploystate/locks/outbox-drain.lock`). */
const DRAIN_LOCK_TARGET = 'outbox-drain';

/** The last drain failure, kept in the state folder for `status` and the promote gate. */
export interface OutboxFailure {
  key: string;
  code?: string;
  message: string;
  at: string;
  pid: number;
}

export function outboxFailureFile(files: Pick<StateFiles, 'stateDir'>): string {
  return join(files.stateDir, 'outbox-error.json');
}

/**
 * Removes the last drain failure after a drain that left nothing behind. Synchronous: as a rule
 * there is none, and an unlink that finds none costs microseconds, where the asynchronous removal
 * cost two thread-pool round trips at the end of every script's close.
 */
function clearOutboxFailure(files: Pick<StateFiles, 'stateDir'>): void {
  try {
    unlinkSync(outboxFailureFile(files));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The journal id of an outbox entry's intent: its key is unique to it (time, pid, counter), so this is too. */
export function outboxJournalId(entryId: string): string {
  return `outbox.${entryId.slice(OUTBOX_PREFIX.length)}`;
}

export async function readOutboxFailure(files: Pick<StateFiles, 'stateDir'>): Promise<OutboxFailure | null> {
  try {
    return JSON.parse(await readFile(outboxFailureFile(files), 'utf8')) as OutboxFailure;
  } catch {
    return null;
  }
}

/** What draining needs. */
export interface DrainTarget {
  files: StateFiles;
  journal: Journal;
  leveldb(): Promise<LevelDbStore>;
  json(): Promise<StateStore>;
  /** [coowned] checks each file before the drain writes it; undefined where no file is co-owned. */
  watch?: OverwriteWatch;
}

export interface DrainResult {
  applied: number;
  failed: number;
  /** Entries left in the outbox (failed ones, and any a concurrent writer added). */
  left: boolean;
  /** [coowned] Records the store wrote that a file had lost when the drain was about to write it. */
  overwrites: ForeignOverwrite[];
  /** Stopped early for a gate waiting for the fence: what is left drains after it. */
  yielded?: boolean;
}


/**
 * Applies every outbox entry to JSON: each key gets the value LevelDB holds now (a later write of
 * the same key is newer than the entry), then the intent and outcome are journalled and the
 * entries removed. A key whose JSON write fails keeps its entry, and the failure is journalled and
 * kept for `status`. `fenced`: the caller holds the gate fence; else the fence is held shared, so a
 * gate never sees a drain half done.
 */
export async function drainOutbox(
  t: DrainTarget,
  options: { fenced?: boolean; rounds?: number; yieldToGates?: boolean } = {},
): Promise<DrainResult> {
  const total: DrainResult = { applied: 0, failed: 0, left: false, overwrites: [] };
  const rounds = options.rounds ?? 20;
  for (let round = 0; round < rounds; round++) {
    const fenced = options.fenced || !existsSync(t.files.stateDir);
    // Holding the fence shared, a drain keeps out a gate that waits for it exclusively (and shared
    // takes never queue behind it): with a gate waiting, the drain ends at the next file and lets it go first.
    const gateWaiting = !fenced && options.yieldToGates ? () => hasWaiters(t.files.fence) : undefined;
    // A timed drain does not even take the fence while a gate waits for it: it comes back after.
    if (gateWaiting?.()) return { ...total, left: true, yielded: true };
    // One drain at a time, of any store in any process, from its read of the outbox to the removal
    // of what it applied: two that overlapped each wrote the values they had read, so the one that
    // read first could write last and leave a key older in JSON than LevelDB acknowledged. Taken
    // inside the fence, as a gate's drain takes it, and only tried there: a drain that waited for
    // it would hold the fence shared meanwhile, and such holds kept gates out. A timed drain that
    // finds another running comes back later (that one may have read before its entries); close()
    // tries again shortly, holding nothing in between. The lock lives beside the network files'
    // own (the folder every drain writes to, with or without a migration's state folder).
    const drainLock = join(t.files.deployments, DRAIN_LOCK_TARGET);
    const run = (): Promise<DrainResult> => withFileLock(drainLock, () => drainRound(t, gateWaiting), { timeoutMs: 0 });
    const result = await untilDrainFree(
      () => (fenced ? run() : withLock(t.files.fence, run, { mode: 'shared', timeoutMs: WRITE_FENCE_WAIT_MS })),
      drainLock,
      !options.yieldToGates,
    );
    total.applied += result.applied;
    total.failed += result.failed;
    total.left = result.left;
    total.overwrites.push(...result.overwrites);
    if (result.yielded) total.yielded = true;
    if (!result.left || result.failed > 0 || result.yielded) break;
  }
  return total;
}

/**
 * Runs `attempt` once, or (`wait`) again while it finds another drain holding `drainLock`, with a
 * short pause in between, for as long as the fence's own wait; LOCKED naming the lock after that.
 */
async function untilDrainFree(attempt: () => Promise<DrainResult>, drainLock: string, wait: boolean): Promise<DrainResult> {
  const until = performance.now() + WRITE_FENCE_WAIT_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await attempt();
    } catch (error) {
      if (!wait || !isStateError(error, ErrorCodes.LOCKED) || error.file !== drainLock || performance.now() >= until) throw error;
      await sleep(pause);
    }
  }
}

async function drainRound(t: DrainTarget, gateWaiting?: () => boolean): Promise<DrainResult> {
  if (gateWaiting?.()) return { applied: 0, failed: 0, left: true, overwrites: [], yielded: true };
  const leveldb = await t.leveldb();
  // One turn on LevelDB for the entries and their keys' values: among several processes taking
  // turns, every separate read could wait for a hand-over of its own.
  const values = new Map<string, DeploymentRecord | null | { error: unknown }>();
  let opening: Promise<StateStore> | undefined;
  const entries = await leveldb.holdWhile(async () => {
    const read = await leveldb.readOutbox(ROUND_SIZE);
    // The JSON side opens (a script's store opens it here, at close) while LevelDB reads the values.
    if (read.length > 0) {
      opening = t.json();
      opening.catch(() => undefined);
    }
    // Every key's value in one read (one turn on LevelDB's thread, not one per key).
    const keys: string[] = [];
    for (const key of new Set(read.map((entry) => entry.key))) {
      try {
        parseKey(key);
        keys.push(key);
      } catch (error) {
        values.set(key, { error });
      }
    }
    const records = keys.length === 0 ? [] : await leveldb.getRecords(keys);
    keys.forEach((key, i) => values.set(key, records[i] ?? null));
    return read;
  });
  if (entries.length === 0) {
    clearOutboxFailure(t.files);
    return { applied: 0, failed: 0, left: false, overwrites: [] };
  }
  const json = await (opening ?? t.json());
  const byChain = new Map<number, Map<string, OutboxEntry[]>>();
  for (const entry of entries) {
    let chainId: number;
    try {
      chainId = parseKey(entry.key).chainId;
    } catch {
      chainId = -1;
    }
    const keys = byChain.get(chainId) ?? new Map<string, OutboxEntry[]>();
    keys.set(entry.key, [...(keys.get(entry.key) ?? []), entry]);
    byChain.set(chainId, keys);
  }
  // [coowned] Keys with an entry still in the outbox (this round's, and any beyond it) are pending.
  const pending = async (): Promise<ReadonlySet<string>> => {
    const keys = new Set(entries.map((e) => e.key));
    for (const e of await leveldb.readOutbox()) keys.add(e.key);
    return keys;
  };
  const outcomes: ChainOutcome[] = [];
  let yielded = false;
  // Up to FILES_AT_ONCE files at a time: their syncs run side by side on the thread pool (a script
  // that wrote to five networks waited for five durable writes one after the other at close). A
  // gate waiting for the fence is let in between groups.
  const chains = [...byChain];
  for (let at = 0; at < chains.length; at += FILES_AT_ONCE) {
    if (at > 0 && gateWaiting?.()) {
      yielded = true;
      break;
    }
    const group = chains.slice(at, at + FILES_AT_ONCE);
    outcomes.push(...(await Promise.all(group.map(([chainId, keys]) => drainChain(t, json, chainId, keys, values, pending)))));
  }
  // One append for the round's lines (each chain's outcomes are known by now); a failure's are synced.
  await t.journal.record(outcomes.flatMap((o) => o.lines), { durable: outcomes.some((o) => o.failed > 0) });
  const done = outcomes.flatMap((o) => o.done);
  const overwrites = outcomes.flatMap((o) => o.overwrites);
  const applied = outcomes.reduce((n, o) => n + o.applied, 0);
  const failed = outcomes.reduce((n, o) => n + o.failed, 0);
  const failure = outcomes.find((o) => o.failure !== undefined)?.failure;
  await leveldb.removeOutbox(done);
  if (failure) await writeFileAtomic(outboxFailureFile(t.files), `${JSON.stringify(failure, null, 2)}\n`).catch(() => undefined);
  const left = failed > 0 || yielded || entries.length >= ROUND_SIZE;
  if (!left) clearOutboxFailure(t.files);
  return { applied, failed, left, overwrites, ...(yielded && { yielded }) };
}

/** What draining one chain's entries did. */
interface ChainOutcome {
  /** Its journal lines (intent and outcome per entry), appended with the other chains' once all are written. */
  lines: NewJournalEntry[];
  done: string[];
  overwrites: ForeignOverwrite[];
  applied: number;
  failed: number;
  failure?: OutboxFailure;
}

/** How many network files a drain writes at once. */
const FILES_AT_ONCE = 8;

/** One chain's entries applied to its file (each key the value LevelDB holds now), then journalled. */
async function drainChain(
  t: DrainTarget,
  json: StateStore,
  chainId: number,
  keys: Map<string, OutboxEntry[]>,
  values: ReadonlyMap<string, DeploymentRecord | null | { error: unknown }>,
  pending: () => Promise<ReadonlySet<string>>,
): Promise<ChainOutcome> {
  const lines: NewJournalEntry[] = [];
  const outcome: ChainOutcome = { lines, done: [], overwrites: [], applied: 0, failed: 0 };
  // [coowned] Before the file is written, as issue 10's check runs for a write: what a foreign
  // rewrite dropped is reported while the file still shows it, whatever this write then does.
  if (t.watch && chainId >= 0) outcome.overwrites.push(...(await t.watch.beforeWrite(chainId, pending)));
  const started = performance.now();
  let error: unknown;
  const chainValues = new Map<string, DeploymentRecord | null>();
  try {
    if (chainId < 0) throw new Error('not a record key');
    for (const key of keys.keys()) {
      const value = values.get(key);
      if (value !== null && value !== undefined && 'error' in value) throw value.error;
      chainValues.set(key, value ?? null);
    }
    const puts = [...chainValues.values()].filter((r): r is DeploymentRecord => r !== null);
    if (puts.length > 0) await json.putMany(puts);
    for (const [key, value] of chainValues) if (value === null) await json.delete(chainId, parseKey(key).contractName);
  } catch (caught) {
    error = caught;
  }
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  const now = new Date().toISOString();
  for (const [key, written] of keys) {
    const value = chainValues.get(key);
    // Every entry of a key journals the one value applied: digested once, not once per entry.
    const digest = value ? canonicalDigest(value) : null;
    for (const entry of written) {
      const id = outboxJournalId(entry.id);
      const phase = (entry.phase ?? 'dual-write') as MigrationPhase;
      const applyOp = value === null ? 'delete' : entry.op;
      lines.push(
        {
          type: 'intent',
          id,
          key,
          op: applyOp,
          digest,
          ...(value && { record: value }),
          time: entry.time,
          pid: entry.pid,
          phase,
        },
        {
          type: 'outcome',
          refId: id,
          key,
          op: applyOp,
          outcome: error === undefined ? 'ok' : 'secondary-failed',
          durationMs,
          ...(error !== undefined && { error: errorSummary(error) }),
          time: now,
          pid: process.pid,
          phase,
        },
      );
    }
  }
  // Failures are journalled durably (drainRound): they block promote until a drain succeeds.
  const count = [...keys.values()].reduce((n, list) => n + list.length, 0);
  if (error === undefined) {
    for (const written of keys.values()) for (const entry of written) outcome.done.push(entry.id);
    outcome.applied = count;
    if (t.watch && chainId >= 0) t.watch.wrote(chainId);
  } else {
    outcome.failed = count;
    outcome.failure = { key: [...keys.keys()][0] as string, ...errorSummary(error), at: new Date().toISOString(), pid: process.pid };
  }
  return outcome;
}

/**
 * One process's drainer: debounced (a drain once puts pause, never one file rewrite per put),
 * serialised, and run again by close() and before the process exits.
 */
export class OutboxDrainer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private firstPending = 0;
  private lastPut = 0;
  private running: Promise<unknown> = Promise.resolve();
  /** A timed drain in progress: puts meanwhile wait for the next one, counted from its end. */
  private draining = false;
  private pending = false;
  /** Timed drains in a row that found a gate waiting: the next look comes later each time. */
  private yieldedInARow = 0;
  /** One drain per exit: a drain that fails at exit leaves its entries to the next process. */
  private drainedAtExit = false;
  private readonly onBeforeExit = (): void => {
    if (!this.pending || this.drainedAtExit) return;
    this.drainedAtExit = true;
    void this.drainNow();
  };
  private listening = false;

  constructor(
    private readonly target: DrainTarget,
    private readonly onError: (error: unknown) => void = warnDrainFailed,
  ) {}

  /**
   * A put is committing an entry: drain once puts pause (or at most DRAIN_MAX_DELAY_MS from now).
   * Called as the put's batch starts; committed() once it has landed.
   */
  schedule(): void {
    const now = performance.now();
    this.lastPut = now;
    this.drainedAtExit = false;
    if (!this.pending) {
      this.pending = true;
      this.firstPending = now;
      if (!this.listening) {
        atExit.add(this.onBeforeExit);
        this.listening = true;
      }
    }
    if (this.timer === undefined) this.arm(DRAIN_QUIET_MS);
  }

  /**
   * The entry announced by schedule() is in LevelDB now. A drain that started before it landed
   * missed it, and runs again (its end re-arms the timer when a put is pending); with no drain
   * timed or running, one is timed now.
   */
  committed(): void {
    this.pending = true;
    if (this.timer === undefined && !this.draining) this.arm(DRAIN_QUIET_MS);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = performance.now();
    const quietFor = now - this.lastPut;
    const waitedFor = now - this.firstPending;
    // Under a steady stream of puts a drain never queues behind the one running (it would run
    // drains back to back, on the puts' event loop and thread pool): the next starts from its end.
    if (this.draining) return;
    if (quietFor < DRAIN_QUIET_MS && waitedFor < DRAIN_MAX_DELAY_MS) {
      this.arm(Math.max(1, Math.min(DRAIN_QUIET_MS - quietFor, DRAIN_MAX_DELAY_MS - waitedFor)));
      return;
    }
    this.draining = true;
    const run = this.drainNow(true);
    void run.finally(() => {
      this.draining = false;
      // A drain queued meanwhile (close(), the exit) takes what is pending; else the next is timed from now.
      if (this.running !== run || !this.pending || this.timer !== undefined) return;
      this.firstPending = performance.now();
      this.arm(DRAIN_QUIET_MS);
    });
  }

  /**
   * Drains now (after any drain in progress); resolves when done, never rejects. `yieldToGates`: a
   * timed drain ends early for a gate waiting for the fence, and the rest is drained after it.
   */
  drainNow(yieldToGates = false): Promise<DrainResult | undefined> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.running.then(async () => {
      this.pending = false;
      try {
        const result = await drainOutbox(this.target, { yieldToGates });
        if (result.failed > 0) this.retryLater();
        else if (result.yielded) {
          // The rest drains after the gate: the next try comes sooner at first, then every 100 ms at
          // most while the gate runs (a drainer per store, each looking every 5 ms, adds up).
          this.pending = true;
          this.yieldedInARow++;
          if (this.timer === undefined) this.arm(Math.min(DRAIN_MAX_DELAY_MS, DRAIN_QUIET_MS * 2 ** Math.min(this.yieldedInARow - 1, 5)));
        } else {
          this.yieldedInARow = 0;
          // Stopped after its rounds with entries left (a putMany of more records than they take is
          // one batch): the rest is drained next, not left until some later put.
          if (result.left) this.pending = true;
        }
        return result;
      } catch (error) {
        // The fence or LevelDB was busy for too long, or the journal cannot be written: the
        // entries stay in LevelDB for the next try (or the next process).
        if (!(isStateError(error) && error.code === ErrorCodes.LOCKED)) this.onError(error);
        this.retryLater();
        return undefined;
      }
    });
    this.running = run;
    return run;
  }

  private retryLater(): void {
    this.pending = true;
    if (this.timer === undefined) {
      // A timed drain, as the first try was: one that waited for the drain in progress would hold
      // the fence shared meanwhile, and a store per put makes many such retries at once: a gate
      // waiting for the fence would never find a moment without one.
      this.timer = setTimeout(() => void this.drainNow(true), RETRY_AFTER_MS);
      // A failing drain must not keep a finished script alive: what is left waits for the next process.
      this.timer.unref();
    }
  }

  /** Drains what this process left (close() calls it), then stops listening for the exit. */
  async close(): Promise<void> {
    if (this.pending || this.timer !== undefined) {
      // Until a drain leaves nothing (one stops after its rounds): LevelDB, committed to git, keeps
      // no entry once nothing runs, and JSON lacks nothing LevelDB acknowledged.
      let drained = await this.drainNow();
      while (drained?.left === true && drained.failed === 0 && drained.yielded !== true) drained = await this.drainNow();
    } else await this.running;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
    if (this.listening) atExit.delete(this.onBeforeExit);
    this.listening = false;
  }
}

/**
 * The drains a process still owes when its event loop empties: one `beforeExit` listener for all
 * the stores a process opened (a script that opens a store per call, and never closes one, would
 * otherwise add a listener each, and Node warns past ten).
 */
const atExit = new (class extends Set<() => void> {
  private listening = false;

  override add(drain: () => void): this {
    super.add(drain);
    if (!this.listening) {
      this.listening = true;
      process.on('beforeExit', () => {
        for (const owed of [...this]) owed();
      });
    }
    return this;
  }
})();

function warnDrainFailed(error: unknown): void {
  warn({
    code: isStateError(error) ? error.code : ErrorCodes.WRITE_FAILED,
    message: `the JSON side of dual-write could not be brought up to date yet (${errorSummary(error).message})`,
    hint: 'It is retried; `deploystate status` shows it.',
    ...(isStateError(error) && error.file !== undefined && { file: error.file }),
  });
}
