// createStateStore(): the store deploy scripts use. It follows the persisted phase (re-read
// before every operation, a stat when unchanged), writes primary then secondary, journals every
// write from dual-write on, compensates a failed secondary write or marks the state diverged.
import { statSync } from 'node:fs';
import {
  AbstractStateStore,
  canonicalDigest,
  ErrorCodes,
  NetworkRegistry,
  parseKey,
  recordKey,
  StateError,
  type DeploymentRecord,
  type IntegrityReport,
  type IterateOptions,
  type RecordQuery,
  type StateStore,
  type StoreCapabilities,
  type StoreEntry,
} from '@deploystate/core';
import { jsonStore, levelDbStore, readsWithoutOpening } from './backends.js';
import { OverwriteWatch, type FilesCheck } from './coowned.js';
import { Journal, type NewJournalEntry, type OutcomeEntry, type WriteOutcome } from './journal.js';
import { resolvePaths, stateFiles, type StateFiles } from './paths.js';
import { routeFor, type Route, type Side } from './routing.js';
import { initialState, readState, updateState } from './state.js';
import type { FactoryStore, MigrationOptions, MigrationPhase, MigrationStateFile } from './types.js';

export interface StateStoreOptions extends MigrationOptions {
  env?: NodeJS.ProcessEnv;
  /** Read both sides where both are written, and journal every mismatch. */
  shadowReads?: boolean;
  /** For tests: stores to use instead of the real backends. */
  stores?: { leveldb: StateStore; json: StateStore };
  /**
   * Called when a write finds that its network file lost records the store wrote there (other code
   * rewrote the file). Default: a warning on stderr naming the keys. The write itself succeeded.
   */
  onForeignOverwrite?: (check: FilesCheck) => void;
}

/** What one stat of state.json showed; compared field by field, so the unchanged case builds nothing. */
interface StateSignature {
  kind: 'present' | 'absent' | 'unreadable';
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Keeps the persisted state current at the cost of one stat when nothing changed. */
export class PhaseWatcher {
  private signature: StateSignature | undefined;
  private current: MigrationStateFile = initialState();

  constructor(private readonly files: StateFiles) {}

  get state(): MigrationStateFile {
    return this.current;
  }

  /** The state as last read, without a stat; undefined before the first read. */
  get known(): MigrationStateFile | undefined {
    return this.signature === undefined ? undefined : this.current;
  }

  /** One stat: whether state.json is still the file last read (false before the first read). */
  unchanged(): boolean {
    const seen = this.signature;
    if (seen === undefined) return false;
    const now = this.stat();
    return now.kind === seen.kind && now.ino === seen.ino && now.size === seen.size && now.mtimeMs === seen.mtimeMs;
  }

  /**
   * The state, when one stat shows state.json unchanged since it was last read; undefined when it
   * must be read again (call refresh()). Synchronous, so the common case costs no promise.
   */
  peek(): MigrationStateFile | undefined {
    return this.unchanged() ? this.current : undefined;
  }

  async refresh(): Promise<MigrationStateFile> {
    const signature = this.stat();
    const seen = this.signature;
    if (
      seen === undefined ||
      signature.kind !== seen.kind ||
      signature.ino !== seen.ino ||
      signature.size !== seen.size ||
      signature.mtimeMs !== seen.mtimeMs
    ) {
      // Stat before read: what is read is at least as new as the signature kept for it.
      this.current = signature.kind === 'absent' ? initialState() : await readState(this.files);
      this.signature = signature;
    }
    return this.current;
  }

  private stat(): StateSignature {
    // A synchronous stat costs microseconds, an async one a trip through the thread pool; state.json
    // is replaced by rename on every change, so the inode alone tells a change.
    try {
      const s = statSync(this.files.state, { throwIfNoEntry: false });
      return s ? { kind: 'present', ino: s.ino, size: s.size, mtimeMs: s.mtimeMs } : { kind: 'absent', ino: 0, size: 0, mtimeMs: 0 };
    } catch {
      return { kind: 'unreadable', ino: 0, size: 0, mtimeMs: 0 };
    }
  }
}

/**
 * Microtask turns a read waits before its stat. LevelDbStore hands a get to the thread pool after
 * two (its lease and the handle's use); the stat then overlaps LevelDB's work instead of preceding
 * it. The count only moves time around: fewer turns make the stat precede the read again, never
 * skip it.
 */
const READ_AHEAD_TICKS = 3;

function errorSummary(error: unknown): { code?: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return { ...(typeof code === 'string' && { code }), message: error instanceof Error ? error.message : String(error) };
}

export class MigrationStateStore extends AbstractStateStore implements FactoryStore {
  readonly backend = 'migration';
  readonly capabilities: StoreCapabilities = { persistent: true, crossProcess: true, rawValues: true };
  readonly location: string;
  private readonly files: StateFiles;
  private readonly journal: Journal;
  private readonly watcher: PhaseWatcher;
  private readonly env: NodeJS.ProcessEnv;
  private readonly shadowReads: boolean;
  private readonly sides: Record<Side, StateStore>;
  private readonly overwrites: OverwriteWatch | undefined;

  constructor(options: StateStoreOptions = {}) {
    const registry = options.registry ?? new NetworkRegistry();
    super({ registry });
    this.files = stateFiles(resolvePaths(options));
    this.location = this.files.stateDir;
    this.journal = new Journal(this.files.journal, this.files.journalLock);
    this.watcher = new PhaseWatcher(this.files);
    this.env = options.env ?? process.env;
    this.shadowReads = options.shadowReads ?? false;
    this.sides = options.stores ?? {
      leveldb: levelDbStore(this.files, { registry }),
      json: jsonStore(this.files, { registry, create: true }),
    };
    // [coowned] Only the real JSON backend has files that other code can rewrite.
    this.overwrites = options.stores
      ? undefined
      : new OverwriteWatch(
          { stateDir: this.files.stateDir, deployments: this.files.deployments, registry, journal: this.journal },
          options.onForeignOverwrite,
        );
  }

  get phase(): MigrationPhase {
    return this.watcher.state.phase;
  }

  /** The route the last operation used. */
  get route(): Route {
    return routeFor(this.watcher.state, this.env);
  }

  private async side(name: Side): Promise<StateStore> {
    const store = this.sides[name];
    if (store.status !== 'open') await store.open();
    return store;
  }

  /** The side when it is open already: the hot path takes it without a promise. */
  private openSide(name: Side): StateStore | undefined {
    const store = this.sides[name];
    return store.status === 'open' ? store : undefined;
  }

  private async currentRoute(): Promise<Route> {
    return routeFor(await this.watcher.refresh(), this.env);
  }

  /** The route when one stat shows the state unchanged; undefined when state.json must be re-read. */
  private routeNow(): Route | undefined {
    const state = this.watcher.peek();
    return state === undefined ? undefined : routeFor(state, this.env);
  }

  protected async _open(): Promise<void> {
    await this.watcher.refresh();
  }

  protected async _close(): Promise<void> {
    await Promise.all([this.sides.leveldb.close(), this.sides.json.close(), this.journal.close()]);
  }

  protected async _get(key: string): Promise<DeploymentRecord | null> {
    const { chainId, contractName } = parseKey(key);
    return this.read(key, chainId, contractName);
  }

  // Every read is checked against a stat of state.json taken after the read started (see readAhead),
  // so a phase change completed before the call is always followed; a re-read only when it changed.
  private async read(key: string, chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    const ahead = this.readAhead(chainId, contractName);
    let route: Route | undefined;
    let record: DeploymentRecord | null | undefined;
    if (ahead !== undefined) {
      // The side's read is in flight on the thread pool by now: the stat runs beside it instead of before it.
      for (let tick = 0; tick < READ_AHEAD_TICKS; tick++) await null;
      if (this.watcher.unchanged()) {
        route = ahead.route;
        record = await ahead.pending;
      }
    }
    if (route === undefined || record === undefined) {
      route = this.routeNow() ?? (await this.currentRoute());
      record = await (this.openSide(route.reads) ?? (await this.side(route.reads))).get(chainId, contractName);
    }
    if (this.shadowReads && route.writes.length === 2) await this.shadowCompare(key, route, record);
    return record;
  }

  /**
   * Starts the read on the route of the state as last read, when that side can serve it without
   * opening anything (no LevelDB reopen, so no lock taken or waited for on a route that may be
   * stale). The caller uses the answer only if the stat after it shows state.json unchanged.
   */
  private readAhead(chainId: number, contractName: string): { route: Route; pending: Promise<DeploymentRecord | null> } | undefined {
    const known = this.watcher.known;
    if (known === undefined) return undefined;
    const route = routeFor(known, this.env);
    const store = this.sides[route.reads];
    if (!readsWithoutOpening(store)) return undefined;
    const pending = store.get(chainId, contractName);
    // A read on a route the stat then finds stale is dropped, its failure with it.
    pending.catch(() => undefined);
    return { route, pending };
  }

  private async shadowCompare(key: string, route: Route, served: DeploymentRecord | null): Promise<void> {
    const other: Side = route.reads === 'leveldb' ? 'json' : 'leveldb';
    const { chainId, contractName } = parseKey(key);
    let shadow: DeploymentRecord | null;
    try {
      shadow = await (await this.side(other)).get(chainId, contractName);
    } catch {
      shadow = null;
    }
    const a = served === null ? null : canonicalDigest(served);
    const b = shadow === null ? null : canonicalDigest(shadow);
    if (a === b) return;
    const digests = route.reads === 'leveldb' ? { leveldbDigest: a, jsonDigest: b } : { leveldbDigest: b, jsonDigest: a };
    // Like github/scientist: the mismatch is recorded, the caller still gets the primary's answer.
    await this.journal
      .record([{ type: 'shadow-mismatch', key, ...digests, time: new Date().toISOString(), pid: process.pid, phase: this.phase }], {
        durable: false,
      })
      .catch(() => undefined);
  }

  protected async *_iterate(options: IterateOptions): AsyncIterable<StoreEntry> {
    const route = await this.currentRoute();
    yield* (await this.side(route.reads)).iterate(options);
  }

  protected override async _list(chainId: number): Promise<DeploymentRecord[]> {
    const route = await this.currentRoute();
    return (await this.side(route.reads)).list(chainId);
  }

  protected async _put(key: string, record: DeploymentRecord): Promise<void> {
    await this.watchedWrite(key, 'put', record);
  }

  protected async _delete(key: string): Promise<boolean> {
    return this.watchedWrite(key, 'delete');
  }

  protected async _putMany(entries: StoreEntry[]): Promise<void> {
    // Each record is journalled and dual-written on its own so rollback and the copy see them all.
    for (const entry of entries) await this.watchedWrite(entry.key, 'put', entry.record);
  }

  // [coowned] A write to a file that other code rewrote still lands, then says what the rewrite lost.
  private async watchedWrite(key: string, op: 'put' | 'delete', record?: DeploymentRecord): Promise<boolean> {
    const watch = this.overwrites;
    if (!watch) return this.write(key, op, record);
    const { chainId } = parseKey(key);
    const before = watch.before(chainId);
    const result = await this.write(key, op, record);
    const route = this.route;
    if (route.journal && route.writes.includes('json')) await watch.after(chainId, before);
    return result;
  }

  private async write(key: string, op: 'put' | 'delete', record?: DeploymentRecord, attempt = 0): Promise<boolean> {
    const route = await this.currentRoute();
    const state = this.watcher.state;
    if (route.refuseWrites) {
      throw new StateError(ErrorCodes.WRITES_REFUSED, `writes are refused while the migration is ${state.phase}`, {
        key,
        file: this.files.state,
        hint: 'retry after the rollback has finished',
      });
    }
    const { chainId, contractName } = parseKey(key);
    const [primaryName, secondaryName] = route.writes as [Side, Side | undefined];
    const primary = await this.side(primaryName);
    const apply = async (store: StateStore): Promise<boolean> => {
      if (op === 'put') {
        await store.put(record as DeploymentRecord);
        return true;
      }
      return store.delete(chainId, contractName);
    };
    if (!route.journal) return apply(primary);

    const started = performance.now();
    // Rollback carries writes back from JSON by the intents: where JSON is primary the intent is
    // on disk before the write. Elsewhere LevelDB is complete and the line needs no fsync.
    const [intentId] = await this.journal.record(
      [
        {
          type: 'intent',
          key,
          op,
          digest: record === undefined ? null : canonicalDigest(record),
          ...(record !== undefined && { record }),
          time: new Date().toISOString(),
          pid: process.pid,
          phase: state.phase,
        },
      ],
      { durable: primaryName === 'json' },
    );
    const outcomeEntry = (outcome: WriteOutcome, error?: unknown): NewJournalEntry => ({
      type: 'outcome',
      refId: intentId as string,
      key,
      op,
      outcome,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(error !== undefined && { error: errorSummary(error) }),
      time: new Date().toISOString(),
      pid: process.pid,
      phase: state.phase,
    });
    // Outcomes feed the report; an ok one lost in a crash leaves an open intent, which rollback and the copy handle.
    const close = (outcome: WriteOutcome, error?: unknown): Promise<unknown> =>
      this.journal.record([outcomeEntry(outcome, error)], { durable: outcome !== 'ok' });

    // The fence against a phase change between reading the route and the intent line: a rollback
    // flips the state, then reads the journal. Stat after the line is written: if the state still
    // is the one routed on, the flip comes after the line and the rollback sees (and waits for) it;
    // if it changed, this write takes the new route instead of landing on a side no longer read.
    if (!this.watcher.unchanged()) {
      const now = await this.currentRoute();
      if (now.refuseWrites || now.reads !== route.reads || now.writes.join() !== route.writes.join()) {
        await close(
          'primary-failed',
          new StateError(ErrorCodes.WRITES_REFUSED, `${key}: the migration moved to ${this.watcher.state.phase} before the write began`),
        );
        if (attempt >= 3) {
          throw new StateError(ErrorCodes.WRITES_REFUSED, `${key}: the migration phase kept changing while writing`, {
            key,
            file: this.files.state,
            hint: 'retry the write',
          });
        }
        return this.write(key, op, record, attempt + 1);
      }
    }

    let previous: DeploymentRecord | null = null;
    let result: boolean;
    try {
      if (secondaryName) previous = await primary.get(chainId, contractName);
      result = await apply(primary);
    } catch (error) {
      await close('primary-failed', error);
      throw error;
    }
    if (!secondaryName) {
      await close('ok');
      return result;
    }
    try {
      await apply(await this.side(secondaryName));
    } catch (secondaryError) {
      try {
        if (previous === null) await primary.delete(chainId, contractName);
        else await primary.put(previous);
      } catch (undoError) {
        const closed = (await this.journal.appendOne(outcomeEntry('diverged', undoError))) as OutcomeEntry;
        await updateState(this.files, (s) => {
          s.diverged = true;
          s.divergedBy = { seq: closed.ref, key, at: new Date().toISOString() };
        });
        throw new StateError(
          ErrorCodes.DIVERGED,
          `${key}: written to ${primaryName} but not to ${secondaryName}, and the ${primaryName} write could not be undone; the migration is marked diverged`,
          {
            key,
            file: this.files.state,
            hint: 'run verify; promote and cutover stay blocked until it is clean',
            cause: secondaryError,
          },
        );
      }
      await close('compensated', secondaryError);
      throw secondaryError;
    }
    await close('ok');
    return result;
  }

  // A store that was never opened opens on its first call, so a deploy script can use the factory's
  // result at once (as it used the old StateManager); after close() calls fail with STORE_CLOSED.
  private async ready(): Promise<void> {
    if (this.status === 'new' || this.status === 'opening') await this.open();
  }

  // get and has take the caller's chainId and name straight to the side (the key is built only to
  // validate them, never parsed back), and await ready() only while the store is not open yet.
  override get(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    if (this.status === 'new' || this.status === 'opening') return this.ready().then(() => this.get(chainId, contractName));
    return this.timed('get', () => this.read(recordKey(chainId, contractName), chainId, contractName));
  }

  override has(chainId: number, contractName: string): Promise<boolean> {
    if (this.status === 'new' || this.status === 'opening') return this.ready().then(() => this.has(chainId, contractName));
    return this.timed('has', async () => (await this.read(recordKey(chainId, contractName), chainId, contractName)) !== null);
  }

  override async put(record: DeploymentRecord): Promise<void> {
    await this.ready();
    return super.put(record);
  }

  override async delete(chainId: number, contractName: string): Promise<boolean> {
    await this.ready();
    return super.delete(chainId, contractName);
  }

  override async putMany(records: readonly DeploymentRecord[]): Promise<void> {
    await this.ready();
    return super.putMany(records);
  }

  override async list(chainId: number): Promise<DeploymentRecord[]> {
    await this.ready();
    return super.list(chainId);
  }

  override async query(query?: RecordQuery): Promise<DeploymentRecord[]> {
    await this.ready();
    return super.query(query);
  }

  override async *iterate(options: IterateOptions = {}): AsyncGenerator<StoreEntry> {
    await this.ready();
    yield* super.iterate(options);
  }

  override async checkIntegrity(): Promise<IntegrityReport> {
    await this.ready();
    return super.checkIntegrity();
  }

  getContract(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    return this.get(chainId, contractName);
  }

  putContract(chainId: number, record: DeploymentRecord): Promise<void> {
    if (record && typeof record === 'object' && record.chainId !== chainId) {
      throw new StateError(ErrorCodes.INVALID_RECORD, `putContract(${chainId}, ...) got a record for chain ${String(record.chainId)}`, {
        key: `${chainId}-${String(record.contractName)}`,
      });
    }
    return this.put(record);
  }

  getAllContracts(chainId: number): Promise<DeploymentRecord[]> {
    return this.list(chainId);
  }
}

/**
 * The store for the current phase. It opens on first use (or call open()); close it when the
 * script ends so LevelDB and timers are released.
 */
export function createStateStore(options: StateStoreOptions = {}): MigrationStateStore {
  return new MigrationStateStore(options);
}
