// createStateStore(): the store deploy scripts use, composed of the two backends. It follows the
// persisted phase (phase-watcher.ts), reads the side the phase routes to (routing.ts), writes
// through the write protocol (write-protocol.ts) and answers to the legacy names (legacy-names.ts).
import {
  canonicalDigest,
  checkRecord,
  NetworkRegistry,
  parseKey,
  recordKey,
  type CheckedRecord,
  type DeploymentRecord,
  type IterateOptions,
  type StateStore,
  type StoreCapabilities,
  type StoreEntry,
} from '@deploystate/core';
import { jsonStore, leveldbLockWait, levelDbStore, loadedBesideGit, readFromMemory, readsWithoutOpening } from './backends.js';
import { lostWriteError, OverwriteWatch, type FilesCheck, type ForeignOverwriteKind } from './coowned.js';
import { Journal } from './journal.js';
import { jsonOnlyFields } from './json-only-writes.js';
import { LegacyNamedStore } from './legacy-names.js';
import { resolvePaths, stateFiles } from './paths.js';
import { PhaseWatcher } from './phase-watcher.js';
import { followConfigRenames, withProjectConfig, type ProjectConfigOption } from './project-options.js';
import { readSide, routeFor, type Route, type Side } from './routing.js';
import type { FactoryStore, MigrationOptions, MigrationPhase } from './types.js';
import {
  currentRoute,
  jsonFirst,
  outboxWriteNow,
  putChainInJson,
  putManyInLevelDb,
  putManyToOutbox,
  usesOutbox,
  writeKey,
  writeThrough,
  type Write,
  type WriteTarget,
} from './write-protocol.js';
import { OutboxDrainer } from './outbox-drainer.js';
import { WriteFence } from './write-fence.js';
import { LevelDbStore, loadLevelDb } from '@deploystate/backend-leveldb';
import { JsonFileStore, type SwapVersion } from '@deploystate/backend-json';

export interface StateStoreOptions extends MigrationOptions, ProjectConfigOption {
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

/**
 * Microtask turns a read waits before its stat. LevelDbStore hands a get to the thread pool after
 * two (its lease and the handle's use); the stat then overlaps LevelDB's work instead of preceding
 * it. The count only moves time around: fewer turns make the stat precede the read again, never
 * skip it.
 */
const READ_AHEAD_TICKS = 3;
/** How many times a read whose route changed under it reads again before it answers anyway. */
const ROUTE_RECHECKS = 2;
/**
 * A read on the route ahead that took longer than this waited for something (a LevelDB reopen
 * after git replaced the folder, another process's lock) and has its route checked again; a get
 * takes tens of microseconds, so the usual read pays no second stat.
 */
const SLOW_READ_MS = 2;

/** What a read from a file read beside git refuses: the store's record missing, or changed (older) in it. */
const CHANGED_OR_MISSING: readonly ForeignOverwriteKind[] = ['missing', 'changed'];

export class MigrationStateStore extends LegacyNamedStore implements FactoryStore {
  readonly backend = 'migration';
  readonly capabilities: StoreCapabilities = { persistent: true, crossProcess: true, rawValues: true };
  readonly location: string;
  private readonly journal: Journal;
  private readonly watcher: PhaseWatcher;
  private readonly env: NodeJS.ProcessEnv;
  private readonly shadowReads: boolean;
  private readonly sides: Record<Side, StateStore>;
  /** What the write protocol uses of this store. */
  private readonly writer: WriteTarget;
  private readonly overwrites: OverwriteWatch | undefined;
  /** Brings JSON up to date with LevelDB's outbox (real LevelDB only). */
  private readonly outbox: OutboxDrainer | undefined;
  /** Held shared across back-to-back writes (write-fence.ts). */
  private readonly fence: WriteFence;
  private leftoversChecked = false;
  /** The look for entries another process left, while it runs: close() waits for it, so they are drained. */
  private leftoverCheck: Promise<void> | undefined;

  constructor(given: StateStoreOptions = {}) {
    // The files, chain names, paths and lock wait the CLI uses: deploystate.config.json fills what
    // `given` leaves out (its lock wait also what DEPLOYSTATE_LOCK_WAIT_MS leaves out).
    const options = withProjectConfig(given, given.env ?? process.env);
    const registry = options.registry ?? new NetworkRegistry();
    // The registry the project's config made (none given): it follows the config's renames.
    const followsConfig = given.registry === undefined && given.projectConfig !== false;
    // Deploy scripts use the store as they used the old StateManager, without calling open().
    super({ registry, openOnFirstUse: true });
    const files = stateFiles(resolvePaths(options));
    // A network renamed by `deploystate rename-network` while this script runs is followed.
    const chainRenamed = followsConfig ? followConfigRenames(options.cwd ?? process.cwd(), files.deployments, registry) : undefined;
    // A bad DEPLOYSTATE_LOCK_WAIT_MS or lockWaitMs fails here, naming it, before anything is opened.
    const lockWait = leveldbLockWait(options.lockWaitMs, options.env ?? process.env);
    this.location = files.stateDir;
    this.journal = new Journal(files.journal, files.journalLock);
    this.watcher = new PhaseWatcher(files);
    this.env = options.env ?? process.env;
    this.shadowReads = options.shadowReads ?? false;
    this.fence = new WriteFence(files);
    // The journal lines each file's write in progress waits for: those its puts asked for before it
    // started its sync, not a later put's (whose failed sync would fail this write too).
    const intentsOf = new Map<string, number>();
    this.sides = options.stores ?? {
      leveldb: levelDbStore(files, { registry, lockWait, ...(options.leveldbSync === true && { sync: true }) }),
      // A JSON-primary write's journal intent is on disk before the file it changes is replaced; its
      // sync starts once the temp file's own has (see writeRouted).
      json: jsonStore(files, {
        registry,
        create: true,
        ...(chainRenamed && { chainRenamed }),
        whileSyncing: (file) => void intentsOf.set(file, this.journal.startFlush()),
        beforeReplace: (file) => {
          const upTo = intentsOf.get(file);
          intentsOf.delete(file);
          return this.journal.flushed(upTo);
        },
        // [teams] A file written in json-only says which cut-over its writes follow (json-only-writes.ts).
        fileFields: () => jsonOnlyFields(this.watcher.known),
      }),
    };
    // [coowned] Only the real JSON backend has files that other code can rewrite.
    this.overwrites = options.stores
      ? undefined
      : new OverwriteWatch(
          { stateDir: files.stateDir, deployments: files.deployments, registry, journal: this.journal },
          options.onForeignOverwrite,
          chainRenamed,
        );
    const leveldb = this.sides.leveldb;
    this.outbox =
      leveldb instanceof LevelDbStore
        ? new OutboxDrainer({
            files,
            journal: this.journal,
            leveldb: async () => (await this.side('leveldb')) as LevelDbStore,
            json: () => this.side('json'),
            ...(this.overwrites && { watch: this.overwrites }),
          })
        : undefined;
    this.writer = {
      files,
      journal: this.journal,
      watcher: this.watcher,
      env: this.env,
      side: (name) => this.side(name),
      openSide: (name) => this.openSide(name),
      jsonAwaitsJournal: options.stores === undefined,
      fence: this.fence,
      ...(this.outbox && { outbox: this.outbox }),
    };
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
    if (store.status !== 'open') {
      await store.open();
      if (name === 'leveldb') await this.drainLeftovers(store);
    }
    return store;
  }

  /**
   * Entries another process left in the outbox (it ended without draining) are applied by this one,
   * whatever its env. The look is awaited (one read of at most one entry, once a process): left
   * running beside the first write, it kept the handle busy, so a json-primary turn's hand-over
   * right after that write could not close it and the waiting script waited on (seen once, in a
   * full test run beside other suites).
   */
  private async drainLeftovers(store: StateStore): Promise<void> {
    if (this.leftoversChecked || !this.outbox || !(store instanceof LevelDbStore) || store.readOnly) return;
    this.leftoversChecked = true;
    const outbox = this.outbox;
    this.leftoverCheck = store.readOutbox(1).then(
      (entries) => {
        if (entries.length > 0) outbox.schedule();
      },
      () => undefined,
    );
    await this.leftoverCheck;
  }

  /** The side when it is open already: the hot path takes it without a promise. */
  private openSide(name: Side): StateStore | undefined {
    const store = this.sides[name];
    return store.status === 'open' ? store : undefined;
  }

  private currentRoute(): Promise<Route> {
    return currentRoute(this.writer);
  }

  /** The route for a read when a stat shows it unchanged; undefined when the state must be re-read. */
  private routeNow(): Route | undefined {
    return this.watcher.routeUnchanged() ? routeFor(this.watcher.state, this.env) : undefined;
  }

  protected async _open(): Promise<void> {
    await this.watcher.refresh();
    // LevelDB opens on first use, and its package loads with it. Where the phase reads or writes
    // LevelDB it loads here: a machine whose binding cannot load fails the store's open, before
    // anything is written, not a write half done (json-primary writes LevelDB after JSON).
    const route = this.route;
    if (route.reads === 'leveldb' || route.writes.includes('leveldb')) await loadLevelDb();
  }

  protected async _close(): Promise<void> {
    // Whatever this process put through the outbox, or found left there, reaches JSON before
    // LevelDB is released.
    await this.leftoverCheck;
    await this.outbox?.close();
    await Promise.all([this.sides.leveldb.close(), this.sides.json.close(), this.journal.close(), this.fence.release()]);
  }

  protected async _get(key: string): Promise<DeploymentRecord | null> {
    const { chainId, contractName } = parseKey(key);
    return this.read(key, chainId, contractName);
  }

  // Every read is checked against a stat of the file that decides its route (phase.json, or state.json
  // too for a state without it; PhaseWatcher.routeUnchanged) taken after the read started (see
  // readAhead), so a phase change completed before the call is always followed; a re-read only when it changed.
  // `memoryTried`: the caller asked readNow already (get and has), so memory is not asked again.
  private async read(key: string, chainId: number, contractName: string, memoryTried = false): Promise<DeploymentRecord | null> {
    const now = memoryTried ? undefined : this.readNow(chainId, contractName);
    if (now !== undefined) return now ?? this.absentInJson(key, chainId);
    const ahead = this.readAhead(chainId, contractName);
    let route: Route | undefined;
    let record: DeploymentRecord | null | undefined;
    if (ahead !== undefined) {
      // A LevelDB read is in flight on the thread pool by now: the stat runs beside it instead of
      // before it. A JSON read did its stat and lookup before it returned: nothing to wait for.
      if (ahead.route.reads === 'leveldb') for (let tick = 0; tick < READ_AHEAD_TICKS; tick++) await null;
      if (this.watcher.routeUnchanged()) {
        const started = performance.now();
        route = ahead.route;
        record = await ahead.pending;
        // A read that waited (below) is checked again; a quick one answered from the route it checked.
        if (performance.now() - started > SLOW_READ_MS && !this.watcher.routeUnchanged()) record = undefined;
      } else {
        // A read on a route the stat found stale is dropped, its failure with it (handled within
        // the microtask turns that produced it, so never reported as unhandled).
        ahead.pending.catch(() => undefined);
      }
    }
    if (route === undefined || record === undefined) ({ route, value: record } = await this.readOnSteadyRoute((side) => side.get(chainId, contractName)));
    if (this.shadowReads && route.writes.length === 2) await this.shadowCompare(key, route, record);
    if (record === null) return route.reads === 'json' ? this.absentInJson(key, chainId) : null;
    // [coowned] From a file read while a git command stood stopped part-way (a rebase's conflict or
    // `break`): the record may be older than the one the store wrote (an upgrade would be made again).
    if (route.reads === 'json' && loadedBesideGit(this.sides.json, chainId)) await this.refuseLostWrite(chainId, key, CHANGED_OR_MISSING);
    return record;
  }

  // [coowned] null is the answer only for a key the store did not write to the file and leave
  // there: one the file lost (a git merge that overwrote it, another program) is FOREIGN_OVERWRITE.
  private async absentInJson(key: string, chainId: number): Promise<null> {
    await this.refuseLostWrite(chainId, key);
    return null;
  }

  /**
   * FOREIGN_OVERWRITE when the chain's file lost the store's write of `key` (with no key: of any
   * record; with no chain: in any file), or, with `kinds` CHANGED_OR_MISSING, holds it changed.
   */
  private async refuseLostWrite(chainId: number | undefined, key?: string, kinds?: readonly ForeignOverwriteKind[]): Promise<void> {
    const lost = await (chainId === undefined ? this.overwrites?.lostWriteAnywhere(kinds) : this.overwrites?.lostWrite(chainId, key, kinds));
    if (lost !== undefined) throw lostWriteError(lost);
  }

  /** What a list or iteration over `chainId` (every chain without) refuses: a record changed too where its file was read beside git. */
  private listRefusal(chainId?: number): readonly ForeignOverwriteKind[] | undefined {
    return loadedBesideGit(this.sides.json, chainId) ? CHANGED_OR_MISSING : undefined;
  }

  /**
   * A read on the side the route now reads. A read that waited (LevelDB reopening once git is done
   * with it, or opening at all) may answer from files that a phase change since then routes away
   * from (a teammate's cut-over pulled meanwhile: the old side as the new commit left it): it is
   * read again on the route then (at most ROUTE_RECHECKS times).
   */
  private async readOnSteadyRoute<T>(read: (side: StateStore) => Promise<T>): Promise<{ route: Route; value: T }> {
    for (let attempt = 0; ; attempt++) {
      const route = this.routeNow() ?? (await this.currentRoute());
      const value = await read(this.openSide(route.reads) ?? (await this.side(route.reads)));
      if (attempt >= ROUTE_RECHECKS || this.watcher.routeUnchanged()) return { route, value };
    }
  }

  /**
   * The read answered from the JSON store's memory when the state as last read routes reads there
   * and the phase stat after it shows that route still current (as readAhead's answer is used);
   * undefined when the full read path must answer. No promise of its own: most reads in json-primary
   * and json-only end here.
   */
  private readNow(chainId: number, contractName: string): DeploymentRecord | null | undefined {
    const known = this.watcher.known;
    if (known === undefined || this.shadowReads || readSide(known) !== 'json') return undefined;
    const record = readFromMemory(this.sides.json, chainId, contractName);
    // One read beside git goes the full way, through the check of what the store wrote.
    if (record !== null && loadedBesideGit(this.sides.json, chainId)) return undefined;
    return record !== undefined && this.watcher.routeUnchanged() ? record : undefined;
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
    return { route, pending: store.get(chainId, contractName) };
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

  // [coowned] Nor does an iteration (a query across chains, an integrity check) answer without a
  // record a file lost: checked before the first entry and again after the last (the files may
  // lose one while the caller reads).
  protected async *_iterate(options: IterateOptions): AsyncIterable<StoreEntry> {
    const route = await this.currentRoute();
    const refuse = route.reads === 'json' ? () => this.refuseLostWrite(options.chainId, undefined, this.listRefusal(options.chainId)) : async () => undefined;
    await refuse();
    yield* (await this.side(route.reads)).iterate(options);
    await refuse();
  }

  protected override async _list(chainId: number): Promise<DeploymentRecord[]> {
    const { route, value } = await this.readOnSteadyRoute((side) => side.list(chainId));
    // [coowned] A list from a file that lost a record the store wrote there is not the chain's
    // records (a deploy flow deploys what it leaves out): FOREIGN_OVERWRITE, as a read of that record.
    if (route.reads === 'json') await this.refuseLostWrite(chainId, undefined, this.listRefusal(chainId));
    return value;
  }

  // A put is checked once (the base class's put), and each side takes the checked record as it is.
  protected override async _putChecked(checked: CheckedRecord): Promise<void> {
    const w: Write = { op: 'put', checked };
    await (outboxWriteNow(this.writer, w) ?? this.watchedWrite(w));
  }

  protected async _put(_key: string, record: DeploymentRecord): Promise<void> {
    await this._putChecked(checkRecord(record));
  }

  protected async _delete(key: string): Promise<boolean> {
    const { chainId, contractName } = parseKey(key);
    return this.watchedWrite({ op: 'delete', at: { key, chainId, contractName } });
  }

  protected override async _putManyChecked(checked: CheckedRecord[]): Promise<void> {
    // The state read once for both (a stat or two); each checks its route again where the write is
    // decided: under the fence, or once LevelDB is held.
    const route = await this.currentRoute();
    // LevelDB alone, no journal: one LevelDB batch (a key named twice ends as its last record).
    if (await putManyInLevelDb(this.writer, checked, route)) return;
    // Through the outbox (dual-write): one LevelDB batch with each record's outbox entry.
    if (await putManyToOutbox(this.writer, checked, route)) return;
    // Every other route journals each record, so rollback and the copy see them all. Networks go side
    // by side, as the drain writes them: their durable writes and the journal's syncs overlap. A
    // network's records, in the order given (a key named twice ends as its last record): in json-only
    // one write of its file (putChainInJson), elsewhere one put after the other. The call settles
    // once every network's writes have ended; the first failure is then thrown.
    const byChain = new Map<number, CheckedRecord[]>();
    for (const one of checked) {
      const chain = byChain.get(one.chainId);
      if (chain) chain.push(one);
      else byChain.set(one.chainId, [one]);
    }
    const settled = await Promise.allSettled([...byChain].map(([chainId, chain]) => this.putChain(chainId, chain)));
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * One network's records of a putMany. json-only and json-primary: one write of its file (in
   * json-primary one LevelDB batch after it, and its turn, undo and git check each the batch's),
   * watched as one put is ([coowned] the file checked before, its new version noted after). Any
   * other route, or neither found there any more: each record as a single put (the outbox's phase
   * check is one write's).
   */
  private async putChain(chainId: number, chain: CheckedRecord[]): Promise<void> {
    if (jsonFirst(this.route)) {
      const watch = this.overwrites;
      const checking = watch?.beforePut(chainId);
      if (checking !== undefined) await checking;
      if (await putChainInJson(this.writer, chain)) {
        if (jsonFirst(this.route)) watch?.wrote(chainId, this.jsonLeft(chainId));
        return;
      }
    }
    for (const one of chain) await this.watchedWrite({ op: 'put', checked: one });
  }

  protected async _putMany(entries: StoreEntry[]): Promise<void> {
    await this._putManyChecked(entries.map((entry) => checkRecord(entry.record)));
  }

  // A delete, like a put, builds its key once and never parses it back.
  override delete(chainId: number, contractName: string): Promise<boolean> {
    return this.timed('delete', () => this.watchedWrite({ op: 'delete', at: { key: recordKey(chainId, contractName), chainId, contractName } }));
  }

  // [coowned] A write to a file that other code rewrote says what the rewrite lost, and still lands.
  private async watchedWrite(w: Write): Promise<boolean> {
    const watch = this.overwrites;
    // Through the outbox, JSON is written later: the drainer checks the file then.
    if (!watch || (this.outbox && usesOutbox(this.route))) return writeThrough(this.writer, w);
    const { chainId } = writeKey(w);
    // The route as last read (the store's open reads it): a write that moved to JSON meanwhile
    // leaves the file unseen, so the next write checks it.
    const writesJson = (route: Route): boolean => route.journal && route.writes.includes('json');
    const watched = writesJson(this.route);
    const checking = watched ? watch.beforePut(chainId) : undefined;
    if (checking !== undefined) await checking;
    const result = await writeThrough(this.writer, w);
    if (watched && writesJson(this.route)) watch.wrote(chainId, this.jsonLeft(chainId));
    return result;
  }

  /** The chain's file as this store's JSON side last wrote it, told by that side with no stat (the watch's note after a write). */
  private jsonLeft(chainId: number): SwapVersion | undefined {
    const json = this.sides.json;
    return json instanceof JsonFileStore ? json.cachedVersion(chainId) : undefined;
  }

  // get and has take the caller's chainId and name straight to the side: the key is built only to
  // validate them, never parsed back (the base class opens a never-opened store first).
  override get(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    return this.lookUp('get', chainId, contractName);
  }

  override has(chainId: number, contractName: string): Promise<boolean> {
    return this.lookUp('has', chainId, contractName).then((record) => record !== null);
  }

  /**
   * get and has: a record JSON holds in memory, on a route the phase stat shows current, is
   * answered with no async frame (readNow); an absent one still goes through the lost-write check,
   * without reading memory again; anything else takes the full read.
   */
  private lookUp(operation: 'get' | 'has', chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    let absent = false;
    const held = this.timedNow(operation, () => {
      const now = this.readNow(chainId, contractName);
      absent = now === null;
      return now ?? undefined;
    });
    if (held !== undefined) return Promise.resolve(held);
    return this.timed(operation, () => {
      const key = recordKey(chainId, contractName);
      return absent ? this.absentInJson(key, chainId) : this.read(key, chainId, contractName, true);
    });
  }
}

/**
 * The store for the current phase, over the project's files as deploystate.config.json names them
 * (options passed win; `projectConfig: false` ignores the file). It opens on first use (or call
 * open()); close it when the script ends so LevelDB and timers are released.
 */
export function createStateStore(options: StateStoreOptions = {}): MigrationStateStore {
  return new MigrationStateStore(options);
}
