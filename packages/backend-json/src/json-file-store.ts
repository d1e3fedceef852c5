// JsonFileStore: the StateStore over one JSON file per network. Reads go through a bounded cache
// revalidated by stat (file-cache.ts); writes go per file through a queue (write-queue.ts) that
// coalesces them, takes the cross-process lock, splices only the changed records into the file's
// bytes (record-splice.ts), links a backup and replaces the file atomically.
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  AbstractStateStore,
  ErrorCodes,
  StateError,
  assertChainId,
  assertDeploymentRecord,
  canonicalDigest,
  checkRecord,
  cloneRecord,
  inJsonForm,
  compareKeys,
  gitAtWork,
  isStateError,
  untilGitDone,
  parseKey,
  recordKey,
  type BaseStoreOptions,
  type CheckedRecord,
  type DeploymentRecord,
  type HealthReport,
  type IterateOptions,
  type StoreCapabilities,
  type StoreEntry,
} from '@deploystate/core';
import { backupDirFor, listBackupFiles, restoreStateFile, type RestoreOptions, type RestoreResult } from './backups.js';
import { openDeploymentsFolder, prepareStateDir, stateFilesIn } from './deployments-folder.js';
import { isFileContentProblem, stateFileProblem } from './file-format.js';
import { FileCache, entryExists, existingChainFile, unmovedChainFile, type FileSignature, type LoadedFile } from './file-cache.js';
import type { LockOptions } from './lock.js';
import { WriteQueue, changedSince, refuseInvalidRemaining, type ApplyWrite, type WriteOutcome, type Working } from './write-queue.js';

/** Chains whose file path a store keeps joined (more are joined again, never wrong). */
const MAX_REMEMBERED_PATHS = 1024;

export interface JsonFileStoreOptions extends BaseStoreOptions {
  /** The deployments folder. */
  dir: string;
  /** Create the folder when missing. Default false: a missing folder is STORE_NOT_FOUND. */
  create?: boolean;
  /** Hold parsed files in memory, revalidated by stat. Default true. */
  cache?: boolean;
  /** How many parsed files the cache holds (least recently used go first). Default 16. */
  cacheFiles?: number;
  /** Backups kept per file. Default 10; 0 keeps none. */
  backups?: number;
  /** How long a write waits for another process's lock on its file before LOCKED. */
  lockWait?: Pick<LockOptions, 'timeoutMs'>;
  /** fsync each written file and its folder. Default true. */
  durable?: boolean;
  /**
   * How long (ms) a file's cross-process lock is kept after a write, so back-to-back writes skip
   * taking it again. Another process that waits gets it after the current write (it shows itself
   * through `<lock>.wait`) or when the lease idles out. Default 100; 0 releases after every write.
   */
  lockLeaseMs?: number;
  /**
   * Reads only: creates and prepares nothing on disk (no folder, no `.deploystate/`), and refuses
   * writes with WRITES_REFUSED, so a committed deployments folder stays byte-identical. Default false.
   */
  readOnly?: boolean;
  /**
   * Awaited before each write replaces a state file: under the file's lock, once the new version is
   * complete on disk (synced when durable), right before the rename that makes it the file. A
   * throw abandons the write (the file stays as it was; the write fails with that error). The
   * migrator's journal makes its intent line durable here, so its sync runs beside the file's.
   */
  beforeReplace?: (file: string) => Promise<void> | void;
  /**
   * Called, synchronously, under the file's lock once the new version is written, right after its
   * data sync has started (when durable) and before `beforeReplace`: a caller's own sync started
   * here runs beside the file's. A throw abandons the write (the file stays as it was). The
   * migrator starts its journal intent's sync here, and awaits it in `beforeReplace`.
   */
  whileSyncing?: (file: string) => void;
  /**
   * Asked when a chain has no file under the name the registry gives it (nor as `chain-<id>.json`),
   * before a read calls the chain empty or a write creates the file: return true after registering
   * the chain's new name (the project renamed its file meanwhile: `deploystate rename-network`), and
   * the read or write looks again under that name. The migrator's store asks deploystate.config.json,
   * so a deploy script running through a rename neither reads the chain as empty nor writes a second
   * file under the old name. Asked with no chainId before a listing of every chain's file (an
   * iteration, a query): true when any chain's name changed.
   */
  chainRenamed?: (chainId?: number) => boolean;
  /**
   * Top-level fields every file this store writes carries, asked under the file's lock at each
   * write: a file that lacks one, or holds another value, gets it in the same atomic write as the
   * records (placed after `chainId`); undefined adds nothing. The migrator's store marks a file
   * written in json-only with the cut-over it follows (`jsonOnlyAfterCutover`).
   */
  fileFields?: () => Readonly<Record<string, unknown>> | undefined;
}

export interface ReplaceChainResult {
  /** The state file. */
  file: string;
  /** The backup of the file this write replaced, when there was one. */
  backup?: string;
  /** Keys (`<chainId>-<name>`) that were in the file and are not any more. */
  removed: string[];
  /** False when the file already held exactly these bytes and nothing was written. */
  changed: boolean;
}

export interface SwapResult {
  /** Whether the record was set (or removed): always, unless `expected` was given and the file held something else. */
  swapped: boolean;
  /** What the file held under the name before (a copy), null when it held no record there. */
  previous: DeploymentRecord | null;
}

/** The chain's file as a swap left it (swapChecked), for keepSwap(): compared by stat, never read. */
export interface SwapVersion {
  readonly file: string;
  /** Undefined: the swap left no file there. */
  readonly signature: FileSignature | undefined;
}

export interface CheckedSwapResult extends SwapResult {
  /** The file as the swap left it. */
  version: SwapVersion;
}

/** One name's swap in a swapMany(): as swap()'s arguments. */
export interface SwapManyEntry {
  contractName: string;
  /** The record to set (null removes the name). */
  next: DeploymentRecord | null;
  /** With it, a compare-and-swap of this name against what the file holds when the entry is applied (see swap()). */
  expected?: DeploymentRecord | null;
}

/** A swapManyChecked() entry: its record checked once already (checkRecord). */
export interface CheckedSwapManyEntry {
  contractName: string;
  next: CheckedRecord | null;
  expected?: DeploymentRecord | null;
}

export interface SwapManyResult {
  /** Per entry, in the order given: whether it was set (see swap()). */
  swapped: boolean[];
  /** What the file held under each name before the batch (copies; null where it held no record). */
  previous: Map<string, DeploymentRecord | null>;
}

export interface CheckedSwapManyResult extends SwapManyResult {
  /** The file as the batch left it. */
  version: SwapVersion;
}

export class JsonFileStore extends AbstractStateStore {
  readonly backend = 'json';
  readonly capabilities: StoreCapabilities = { persistent: true, crossProcess: true, rawValues: true };
  readonly location: string;
  private readonly create: boolean;
  private readonly readOnly: boolean;
  /** Why writes cannot run: `.deploystate/` could not be made (a file in its place); reads are served. */
  private unprepared: StateError | undefined;
  private readonly cacheEnabled: boolean;
  private readonly cacheFiles: number;
  private readonly backupsKept: number;
  private readonly durable: boolean;
  private readonly lockWait: Pick<LockOptions, 'timeoutMs'>;
  private readonly lockLeaseMs: number;
  private readonly chainRenamed: ((chainId?: number) => boolean) | undefined;
  private readonly cache: FileCache;
  private readonly writes: WriteQueue;
  private readonly paths = new Map<number, { name: string; path: string }>();

  constructor(options: JsonFileStoreOptions) {
    super(options);
    if (typeof options?.dir !== 'string' || options.dir.length === 0)
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'JsonFileStore needs a dir');
    this.location = resolve(options.dir);
    this.create = options.create ?? false;
    this.readOnly = options.readOnly ?? false;
    this.cacheEnabled = options.cache ?? true;
    this.cacheFiles = Math.max(1, options.cacheFiles ?? 16);
    this.backupsKept = Math.max(0, options.backups ?? 10);
    this.durable = options.durable ?? true;
    this.lockWait = options.lockWait ?? {};
    this.lockLeaseMs = Math.max(0, options.lockLeaseMs ?? 100);
    this.chainRenamed = options.chainRenamed;
    this.cache = new FileCache({
      enabled: this.cacheEnabled,
      files: this.cacheFiles,
      canonicalFile: (chainId) => this.fileFor(chainId),
      fallbackFile: (chainId) => this.unregisteredFileFor(chainId),
      ...(options.chainRenamed && { renamed: options.chainRenamed }),
    });
    this.writes = new WriteQueue({
      location: this.location,
      registry: this.registry,
      cache: this.cache,
      durable: this.durable,
      backupsKept: this.backupsKept,
      lockWait: this.lockWait,
      lockLeaseMs: this.lockLeaseMs,
      writeTargetFor: (chainId) => this.writeTargetFor(chainId),
      beforeReplace: options.beforeReplace,
      whileSyncing: options.whileSyncing,
      fileFields: options.fileFields,
    });
  }

  /** The state file a chain is written to: `<dir>/<registry name>.json`. */
  fileFor(chainId: number): string {
    const name = this.registry.fileName(assertChainId(chainId));
    // Every read asks: the joined path is kept while the registry's name for the chain stays the same.
    const known = this.paths.get(chainId);
    if (known?.name === name) return known.path;
    const path = join(this.location, name);
    if (this.paths.size >= MAX_REMEMBERED_PATHS) this.paths.clear();
    this.paths.set(chainId, { name, path });
    return path;
  }

  /** Where a chain stored before it was registered lives until its next write. */
  private unregisteredFileFor(chainId: number): string | undefined {
    return unmovedChainFile(this.location, this.registry, chainId);
  }

  protected async _open(): Promise<void> {
    this.unprepared = await openDeploymentsFolder(this.location, this.create, this.readOnly);
  }
  protected async _close(): Promise<void> {
    await this.writes.close();
    this.cache.clear();
  }

  protected override async _health(): Promise<Partial<HealthReport>> {
    await stat(this.location);
    return { detail: `${this.cache.size} file(s) cached` };
  }

  // ---- reading ----

  private static sortedNames(loaded: LoadedFile): string[] {
    if (!loaded.sortedNames) {
      const model = loaded.model;
      loaded.sortedNames = model ? [...model.records.keys(), ...model.invalid.keys()].sort(compareKeys) : [];
    }
    return loaded.sortedNames;
  }

  private invalidError(loaded: LoadedFile, name: string): StateError {
    return invalidEntryError(loaded.file, loaded.model?.chainId, name, loaded.model?.invalid.get(name)?.finding.message ?? '');
  }

  // The caller's chainId and name go straight to the file (the key is built only to validate them,
  // never parsed back), and a file unchanged since it was parsed is taken from the cache at once.
  override get(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    return this.timed('get', async () => {
      recordKey(chainId, contractName);
      return this.recordIn(this.cache.cached(chainId) ?? (await this.cache.load(chainId)), contractName);
    });
  }

  /**
   * get() answered synchronously from memory: the record (a copy) or null when the chain's file is
   * cached and one stat shows it unchanged since it was read; undefined when only get() can answer
   * (not cached, changed, racy, or the store not open). Not counted in metrics().
   */
  getCached(chainId: number, contractName: string): DeploymentRecord | null | undefined {
    if (this.status !== 'open') return undefined;
    recordKey(chainId, contractName);
    const loaded = this.cache.cached(chainId);
    return loaded === undefined ? undefined : this.recordIn(loaded, contractName);
  }

  /**
   * Whether the chain's file (with no chain: any file) as this store holds it was read with a git
   * command stopped part-way (core's gitStepInProgress): a record read from it may be older than the
   * one a commit holds. No stat.
   */
  loadedBesideGit(chainId?: number): boolean {
    return this.cache.loadedBesideGit(chainId);
  }

  /**
   * The chain's file as this store last wrote (or read) it, from its cache, with no stat: a caller
   * that has just written the file learns how the write left it (the stat taken right after the
   * rename). Undefined when the cache holds no signed version of the chain's file.
   */
  cachedVersion(chainId: number): SwapVersion | undefined {
    const held = this.cache.held(chainId);
    return held?.signature === undefined ? undefined : { file: held.file, signature: held.signature };
  }

  protected async _get(key: string): Promise<DeploymentRecord | null> {
    const { chainId, contractName } = parseKey(key);
    return this.recordIn(await this.cache.load(chainId), contractName);
  }

  private recordIn(loaded: LoadedFile, contractName: string): DeploymentRecord | null {
    const record = loaded.model?.records.get(contractName);
    if (record) return cloneRecord(record);
    if (loaded.model?.invalid.has(contractName)) throw this.invalidError(loaded, contractName);
    return null;
  }

  protected override async _list(chainId: number): Promise<DeploymentRecord[]> {
    const out: DeploymentRecord[] = [];
    for await (const entry of this._iterate({ chainId })) out.push(entry.record);
    return out;
  }

  /** The state files in the folder, by the chain they belong to (a chain may show twice mid-move). */
  listStateFiles(): Promise<Array<{ chainId: number; file: string }>> {
    // A file renamed meanwhile is listed under its chain only once the registry knows its new name.
    this.chainRenamed?.();
    return stateFilesIn(this.location, this.registry);
  }

  protected async *_iterate(options: IterateOptions): AsyncGenerator<StoreEntry> {
    const chains = options.chainId !== undefined ? [options.chainId] : [...new Set((await this.listStateFiles()).map((f) => f.chainId))];
    // Keys are `<chainId>-<name>`: whole chains sort by `<chainId>-`, as in LevelDB's byte order.
    chains.sort((a, b) => compareKeys(`${a}-`, `${b}-`));
    for (const chainId of chains) {
      let loaded: LoadedFile;
      try {
        loaded = await this.cache.load(chainId);
      } catch (error) {
        if (!options.onInvalid || !isStateError(error) || error.file === undefined || !isFileContentProblem(error)) throw error;
        // A whole file that cannot be read: reported under its file name, since it has no keys.
        options.onInvalid({ key: basename(error.file), finding: stateFileProblem(error, chainId, error.file) });
        continue;
      }
      const model = loaded.model;
      if (!model) continue;
      for (const name of JsonFileStore.sortedNames(loaded)) {
        const record = model.records.get(name);
        if (record) {
          yield { key: `${chainId}-${name}`, record: cloneRecord(record) };
          continue;
        }
        const invalid = model.invalid.get(name);
        if (!invalid) continue;
        if (!options.onInvalid) throw this.invalidError(loaded, name);
        options.onInvalid({ key: `${chainId}-${name}`, finding: invalid.finding });
      }
    }
  }

  // ---- writing ----

  protected async _put(key: string, record: DeploymentRecord): Promise<void> {
    const { chainId, contractName } = parseKey(key);
    await this.putIn(chainId, contractName, record);
  }

  // A checked put carries the chain and name: the file is found without parsing the key back.
  protected override async _putChecked({ chainId, contractName, record }: CheckedRecord): Promise<void> {
    await this.putIn(chainId, contractName, record);
  }

  private async putIn(chainId: number, contractName: string, record: DeploymentRecord): Promise<void> {
    const copy = cloneRecord(record);
    await this.enqueue(chainId, (work) => setEntry(work, contractName, copy));
  }

  protected async _delete(key: string): Promise<boolean> {
    const { chainId, contractName } = parseKey(key);
    const { value } = await this.enqueue(chainId, (work) => setEntry(work, contractName, null));
    return value === true;
  }

  protected async _putMany(entries: StoreEntry[]): Promise<void> {
    await this.putAll(entries.map(({ key, record }) => ({ ...parseKey(key), record })));
  }

  // A checked batch carries each record's chain and name: the files are found without parsing keys back.
  protected override async _putManyChecked(checked: CheckedRecord[]): Promise<void> {
    await this.putAll(checked);
  }

  /** Each file's records in one write; a name given twice ends as its last record. */
  private async putAll(entries: ReadonlyArray<{ chainId: number; contractName: string; record: DeploymentRecord }>): Promise<void> {
    const byChain = new Map<number, Map<string, DeploymentRecord>>();
    for (const { chainId, contractName, record } of entries) {
      let chain = byChain.get(chainId);
      if (!chain) byChain.set(chainId, (chain = new Map()));
      chain.set(contractName, cloneRecord(record));
    }
    // Files are written one by one; reading them all first refuses a batch that touches an
    // unreadable file before any other file is written.
    for (const chainId of byChain.keys()) await this.cache.load(chainId);
    await Promise.all(
      [...byChain].map(([chainId, records]) =>
        this.enqueue(chainId, (work) => {
          refuseInvalidRemaining(work, [...records.keys()]);
          for (const [name, record] of records) {
            work.invalid.delete(name);
            work.records.set(name, record);
            work.touched.add(name);
          }
        }),
      ),
    );
  }

  /**
   * Sets the record under `contractName` to `next` (removes it when null) and says what the file
   * held there before, both under the file's lock, in one write: no other process's write can land
   * between the two. With `expected` (a record, or null for none) it is a compare-and-swap: the file
   * is left as it is unless it holds exactly that (by canonical digest). A name whose entry is not a
   * record is refused (CORRUPTED), as get() refuses it: what it held could not be put back.
   */
  swap(chainId: number, contractName: string, next: DeploymentRecord | null, options: { expected?: DeploymentRecord | null } = {}): Promise<SwapResult> {
    return this.timed('swap', async () => {
      const { swapped, previous } = await this.swapIn(chainId, contractName, next === null ? null : checkRecord(next), options);
      return { swapped, previous };
    });
  }

  /**
   * swap() of a record checked once already (checkRecord), as putChecked() is put(): for a store
   * composed of others. Also says how the swap left the file, for keepSwap().
   */
  swapChecked(
    chainId: number,
    contractName: string,
    next: CheckedRecord | null,
    options: { expected?: DeploymentRecord | null } = {},
  ): Promise<CheckedSwapResult> {
    return this.timed('swap', async () => this.swapIn(chainId, contractName, next, options));
  }

  /**
   * The last step of a swapChecked() that its caller follows with a write elsewhere (the migrator
   * writes LevelDB after JSON): the swap is still the file's unless a git command took the folder
   * since (a reset or checkout that began before the caller's write was done). As a put's own last
   * step, git at work is waited for (bounded, GIT_WAIT_MAX_MS), and a file that is no longer the one
   * the swap left gets the swap again on top of it: git's version keeps everything else it holds.
   * undefined (no promise; two stats) when the file is as the swap left it and git is not at work;
   * else the file as it is then (as the swap made again left it).
   */
  keepSwap(chainId: number, contractName: string, next: CheckedRecord | null, left: SwapVersion): Promise<SwapVersion> | undefined {
    return this.keepSwapMany(chainId, [{ contractName, next }], left);
  }

  /**
   * swap() of several names of one chain in ONE write of its file, under its lock: the entries
   * applied in order, each as swap() applies it (with `expected`, compared with what the file holds
   * at that point of the batch), so the file ends as that many swaps would leave it, and a name given
   * twice ends as its last entry. `previous` is what each name held before the batch. Every entry
   * is checked before anything is written: a name whose entry is not a record (CORRUPTED) or a
   * record of another key (INVALID_ARGUMENT) refuses the whole batch.
   */
  swapMany(chainId: number, entries: readonly SwapManyEntry[]): Promise<SwapManyResult> {
    return this.timed('swap', async () => {
      const checked = entries.map((e) => ({ ...e, next: e.next === null ? null : checkRecord(e.next) }));
      const { swapped, previous } = await this.swapManyIn(chainId, checked);
      return { swapped, previous };
    });
  }

  /** swapMany() of records checked once already, as swapChecked() is swap(); also says how the batch left the file, for keepSwapMany(). */
  swapManyChecked(chainId: number, entries: readonly CheckedSwapManyEntry[]): Promise<CheckedSwapManyResult> {
    return this.timed('swap', async () => this.swapManyIn(chainId, entries));
  }

  /**
   * keepSwap() of a swapManyChecked(): the file as the batch left it unless a git command took the
   * folder since; else (git waited for) the batch's records set again on top of git's version, in
   * one write (each entry's `expected` dropped, as keepSwap() swaps again without one). undefined
   * (no promise; two stats) when git is idle and the file is as the batch left it.
   */
  keepSwapMany(chainId: number, entries: readonly CheckedSwapManyEntry[], left: SwapVersion): Promise<SwapVersion> | undefined {
    if (!gitAtWork(this.location) && !changedSince(left.file, left.signature)) return undefined;
    const again = entries.map(({ contractName, next }) => ({ contractName, next }));
    return (async () => {
      await untilGitDone(this.location);
      return changedSince(left.file, left.signature) ? (await this.swapManyChecked(chainId, again)).version : left;
    })();
  }

  private async swapManyIn(chainId: number, entries: readonly CheckedSwapManyEntry[]): Promise<CheckedSwapManyResult> {
    assertChainId(chainId);
    const plan = entries.map(({ contractName, next, expected }) => {
      recordKey(chainId, contractName);
      const record = next === null ? null : cloneRecord(next.record);
      if (record !== null && (record.chainId !== chainId || record.contractName !== contractName)) {
        throw new StateError(ErrorCodes.INVALID_ARGUMENT, `swap of ${chainId}-${contractName} was given the record ${record.chainId}-${record.contractName}`, {
          key: `${chainId}-${contractName}`,
        });
      }
      return { name: contractName, record, wanted: expected === undefined ? undefined : expected === null ? null : canonicalDigest(expected) };
    });
    const { value, outcome } = await this.enqueue(chainId, (work) => {
      // Checked before any entry is set: the queue writes what an apply set even when it throws after.
      for (const { name } of plan) {
        if (work.invalid.has(name)) throw invalidEntryError(work.file, chainId, name, 'swap puts back what a name held, and this is not a record');
      }
      const previous = new Map<string, DeploymentRecord | null>();
      const swapped = plan.map(({ name, record, wanted }) => {
        const held = work.records.get(name) ?? null;
        if (!previous.has(name)) previous.set(name, held === null ? null : cloneRecord(held));
        if (wanted !== undefined && (held === null ? null : canonicalDigest(held)) !== wanted) return false;
        // The first set refuses a file with entries that are not records before anything is set (setEntry).
        setEntry(work, name, record);
        return true;
      });
      return { swapped, previous };
    });
    return { ...(value as SwapManyResult), version: { file: outcome.file, signature: outcome.leftAs } };
  }

  /** swapManyIn() of one name. */
  private async swapIn(
    chainId: number,
    contractName: string,
    checked: CheckedRecord | null,
    options: { expected?: DeploymentRecord | null },
  ): Promise<CheckedSwapResult> {
    const { swapped, previous, version } = await this.swapManyIn(chainId, [{ contractName, next: checked, expected: options.expected }]);
    return { swapped: swapped[0] as boolean, previous: previous.get(contractName) ?? null, version };
  }

  /**
   * Makes one chain's records exactly `records` in one atomic file write (entries that are not
   * records are replaced too); skips the write when the bytes would not change.
   */
  replaceChain(chainId: number, records: readonly DeploymentRecord[]): Promise<ReplaceChainResult> {
    return this.timed('replaceChain', async () => {
      assertChainId(chainId);
      const next = new Map<string, DeploymentRecord>();
      records.forEach((record, i) => {
        assertDeploymentRecord(record, `records[${i}]`);
        if (record.chainId !== chainId) {
          throw new StateError(
            ErrorCodes.CHAIN_MISMATCH,
            `records[${i}] (${record.contractName}) belongs to chain ${record.chainId}, not ${chainId}`,
            { key: `${record.chainId}-${record.contractName}` },
          );
        }
        // As a put holds it (checkRecord): as every reader gets it back.
        next.set(record.contractName, cloneRecord(inJsonForm(record)));
      });
      const { value, outcome: { leftAs: _leftAs, ...outcome } } = await this.enqueue(chainId, (work) => {
        const removed = [...work.records.keys(), ...work.invalid].filter((name) => !next.has(name));
        work.invalid.clear();
        work.records = new Map(next);
        for (const name of next.keys()) work.touched.add(name);
        return removed.sort(compareKeys).map((name) => `${chainId}-${name}`);
      });
      return { ...outcome, removed: value as string[] };
    });
  }

  /** WRITES_REFUSED for a store opened readOnly. */
  private refusedWrite(): StateError {
    return new StateError(ErrorCodes.WRITES_REFUSED, `JSON store ${this.location} was opened read-only`, {
      file: this.location,
      hint: 'open it without readOnly to write',
    });
  }

  private enqueue(chainId: number, apply: ApplyWrite): Promise<{ value: unknown; outcome: WriteOutcome }> {
    if (this.readOnly) return Promise.reject(this.refusedWrite());
    if (this.unprepared !== undefined) {
      // The folder its writes need could not be made at open: try again (it may be fixed), else say why.
      this.unprepared = prepareStateDir(this.location);
      if (this.unprepared !== undefined) return Promise.reject(this.unprepared);
    }
    return this.writes.enqueue(chainId, apply);
  }

  /** The file a chain's writes go to, and whose lock they take: its existing file (under whatever name it was created), else its registry name. */
  private writeTargetFor(chainId: number): string {
    const found = existingChainFile(this.fileFor(chainId), this.unregisteredFileFor(chainId));
    if (found !== undefined) return found;
    // Neither is there: the chain's file may have been renamed meanwhile (JsonFileStoreOptions.chainRenamed).
    if (this.chainRenamed?.(chainId)) return existingChainFile(this.fileFor(chainId), this.unregisteredFileFor(chainId)) ?? this.fileFor(chainId);
    return this.fileFor(chainId);
  }

  // ---- backups ----

  /** Backups of a chain's file, newest first. */
  async listBackups(chainId: number): Promise<string[]> {
    const fileName = this.registry.fileName(assertChainId(chainId));
    // This process's writes are done, and the backups they pushed out removed: none listed is about to go.
    await this.writes.settled(chainId);
    const names = [fileName, ...(this.registry.isKnown(chainId) ? [`chain-${chainId}.json`] : [])];
    return listBackupFiles(this.location, names);
  }

  /** Brings back the given backup, or the newest that parses (BACKUP_NOT_FOUND when none). */
  async restore(chainId: number, backup?: string, options: Pick<RestoreOptions, 'olderVersion' | 'discardNewer'> = {}): Promise<RestoreResult> {
    assertChainId(chainId);
    // A restore replaces the file as a write does: never from a store opened read-only.
    if (this.readOnly) throw this.refusedWrite();
    // Wait for this process's queued writes so the restore is not overwritten by an older put.
    await this.writes.settled(chainId);
    // restoreStateFile takes the file's lock itself: end this store's lease on it first.
    await this.writes.letGo(this.fileFor(chainId));
    const result = await restoreStateFile(this.location, chainId, {
      registry: this.registry,
      durable: this.durable,
      lockWait: this.lockWait,
      ...(backup !== undefined && { backup }),
      ...(options.olderVersion !== undefined && { olderVersion: options.olderVersion }),
      ...(options.discardNewer !== undefined && { discardNewer: options.discardNewer }),
    });
    this.cache.delete(chainId);
    return result;
  }

  /** The folder a chain's backups are kept in. */
  backupDirFor(chainId: number): string {
    return backupDirFor(this.location, this.registry.fileName(assertChainId(chainId)));
  }
}

/** CORRUPTED for a name whose entry in the file is not a deployment record of the chain. */
function invalidEntryError(file: string, chainId: number | undefined, name: string, detail: string): StateError {
  return new StateError(ErrorCodes.CORRUPTED, `${file}: records[${JSON.stringify(name)}] is not a deployment record of this chain: ${detail}`, {
    file,
    key: `${chainId ?? ''}-${name}`,
    hint: 'fix the entry by hand, or restore a backup (`deploystate restore <network>`; from code, JsonFileStore.restore or replaceChain)',
  });
}

/**
 * Sets one name's entry in a batch's file (removes it, with null): the one step a put, a delete and
 * a swap apply. A file holding other entries that are not records is refused (refuseInvalidRemaining);
 * an entry that is not a record under this name is replaced. Returns whether the file held an entry there.
 */
function setEntry(work: Working, name: string, record: DeploymentRecord | null): boolean {
  refuseInvalidRemaining(work, [name]);
  if (record !== null) {
    work.invalid.delete(name);
    work.records.set(name, record);
    work.touched.add(name);
    return true;
  }
  const had = work.records.delete(name) || work.invalid.delete(name);
  if (had) work.touched.add(name);
  return had;
}
