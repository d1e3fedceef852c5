// The StateStore contract every backend fulfils, and the base class that owns what is common:
// argument and record validation, keys, open/closed state and metrics. A backend implements only
// the small private methods (_open, _get, _put, ...) over its medium.
import { ErrorCodes, StateError } from './errors.js';
import { finding, recordFindings, type Finding } from './findings.js';
import { describeValue } from './describe-value.js';
import { assertChainId, compareKeys, recordKey } from './keys.js';
import { nearestKey } from './nearest-key.js';
import { inJsonForm } from './json-form.js';
import { assertDeploymentRecord, compareIntegers, keyOf, type DeploymentRecord } from './record.js';
import { NetworkRegistry } from './registry.js';
import type { StoreEntry } from './compare.js';

export type StoreStatus = 'new' | 'opening' | 'open' | 'closing' | 'closed';

export interface StoreCapabilities {
  /** Data survives close and reopen. */
  persistent: boolean;
  /** Several processes may use the same location (taking turns or locking). */
  crossProcess: boolean;
  /** Stored values are text that may fail to decode (integrity reports undecodable values). */
  rawValues: boolean;
}

export type SortField = 'key' | 'timestamp' | 'contractName' | 'chainId';

export interface RecordQuery {
  chainId?: number;
  contractName?: string;
  networkName?: string;
  /** Default `key` (key order). Ties fall back to key order. */
  sortBy?: SortField;
  order?: 'asc' | 'desc';
  limit?: number;
}

export interface InvalidEntry {
  key: string;
  /** The stored text, when the backend stores text. */
  raw?: string;
  finding: Finding;
}

export interface IterateOptions {
  /** Only this chain's records (a key range, not a scan, where the backend can). */
  chainId?: number;
  /**
   * Receives entries whose stored value is not a record. Without it such an entry stops the
   * iteration with CORRUPTED naming the key: nothing is ever skipped silently.
   */
  onInvalid?: (entry: InvalidEntry) => void;
}

export interface IntegrityReport {
  ok: boolean;
  backend: string;
  location?: string;
  total: number;
  /** Record count per chainId. */
  perChain: Record<string, number>;
  findings: Finding[];
}

export interface HealthReport {
  ok: boolean;
  backend: string;
  status: StoreStatus;
  location?: string;
  detail?: string;
}

export interface OperationMetrics {
  count: number;
  errors: number;
  totalMs: number;
  maxMs: number;
}

export interface StoreMetrics {
  backend: string;
  operations: Record<string, OperationMetrics>;
}

export interface StateStore {
  readonly backend: string;
  readonly capabilities: StoreCapabilities;
  readonly status: StoreStatus;
  /** Folder or path the store lives in, when it has one. */
  readonly location: string | undefined;
  /** Idempotent. */
  open(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
  /** The record, or null when absent. */
  get(chainId: number, contractName: string): Promise<DeploymentRecord | null>;
  has(chainId: number, contractName: string): Promise<boolean>;
  /** Refuses a value that is not a DeploymentRecord with INVALID_RECORD; nothing is written. */
  put(record: DeploymentRecord): Promise<void>;
  /** True when a record was there. */
  delete(chainId: number, contractName: string): Promise<boolean>;
  /** One chain's records, in key order. */
  list(chainId: number): Promise<DeploymentRecord[]>;
  query(query?: RecordQuery): Promise<DeploymentRecord[]>;
  /** Every record (or one chain's) in key order, streamed. */
  iterate(options?: IterateOptions): AsyncIterable<StoreEntry>;
  /** All or nothing: one invalid record refuses the whole batch. */
  putMany(records: readonly DeploymentRecord[]): Promise<void>;
  checkIntegrity(): Promise<IntegrityReport>;
  health(): Promise<HealthReport>;
  metrics(): StoreMetrics;
}

/** A key in both forms, built once: LevelDB takes `key`, the JSON files `chainId` and `contractName`. */
export interface RecordKey {
  readonly key: string;
  readonly chainId: number;
  readonly contractName: string;
}

declare const checkedOnce: unique symbol;

/**
 * A record that passed the record check once, with its key: what a put hands to every store it
 * reaches (a composed store's sides included), so one put validates once and builds its key once.
 * Only checkRecord makes one.
 */
export interface CheckedRecord extends RecordKey {
  readonly record: DeploymentRecord;
  readonly [checkedOnce]: true;
}

/**
 * The record check of a put (INVALID_RECORD, naming `at` when given) and its key, once; the record
 * as every store reads it back (inJsonForm: a Date as its text, 2^60 as a bigint), so every store
 * holds, digests and answers the same value, in the writing process as in any other.
 */
export function checkRecord(value: unknown, at?: string): CheckedRecord {
  const record = inJsonForm(assertDeploymentRecord(value, at));
  const key = keyOf(record);
  return { record, key, chainId: record.chainId, contractName: record.contractName } as CheckedRecord;
}

export interface BaseStoreOptions {
  registry?: NetworkRegistry;
  /**
   * A store that was never opened opens on its first call instead of failing with STORE_CLOSED
   * (after close() calls still fail). For stores handed to scripts that never call open().
   */
  openOnFirstUse?: boolean;
}

export abstract class AbstractStateStore implements StateStore {
  abstract readonly backend: string;
  abstract readonly capabilities: StoreCapabilities;
  abstract readonly location: string | undefined;
  protected readonly registry: NetworkRegistry;
  private readonly openOnFirstUse: boolean;
  private currentStatus: StoreStatus = 'new';
  private pending: Promise<void> | undefined;
  private readonly ops: Record<string, OperationMetrics> = {};

  constructor(options: BaseStoreOptions = {}) {
    this.registry = options.registry ?? new NetworkRegistry();
    this.openOnFirstUse = options.openOnFirstUse ?? false;
  }

  get status(): StoreStatus {
    return this.currentStatus;
  }

  protected abstract _open(): Promise<void>;
  protected abstract _close(): Promise<void>;
  protected abstract _get(key: string): Promise<DeploymentRecord | null>;
  protected abstract _put(key: string, record: DeploymentRecord): Promise<void>;
  protected abstract _delete(key: string): Promise<boolean>;
  protected abstract _putMany(entries: StoreEntry[]): Promise<void>;
  protected abstract _iterate(options: IterateOptions): AsyncIterable<StoreEntry>;

  /** A put checked already; a backend that wants the key in another form than the string overrides it. */
  protected _putChecked(checked: CheckedRecord): Promise<void> {
    return this._put(checked.key, checked.record);
  }

  /** A batch checked already (every record, before any is written). */
  protected _putManyChecked(checked: CheckedRecord[]): Promise<void> {
    return this._putMany(checked);
  }

  protected async _has(key: string): Promise<boolean> {
    return (await this._get(key)) !== null;
  }

  protected async _list(chainId: number): Promise<DeploymentRecord[]> {
    const out: DeploymentRecord[] = [];
    for await (const entry of this._iterate({ chainId })) out.push(entry.record);
    return out;
  }

  protected async _health(): Promise<Partial<HealthReport>> {
    return {};
  }

  async open(): Promise<void> {
    if (this.currentStatus === 'open') return;
    if (this.pending) {
      await this.pending;
      return this.open();
    }
    this.currentStatus = 'opening';
    this.pending = this._open().then(
      () => {
        this.currentStatus = 'open';
      },
      (error: unknown) => {
        this.currentStatus = 'closed';
        throw error;
      },
    );
    try {
      await this.pending;
    } finally {
      this.pending = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.currentStatus === 'closed' || this.currentStatus === 'new') {
      this.currentStatus = 'closed';
      return;
    }
    if (this.pending) {
      await this.pending.catch(() => undefined);
      return this.close();
    }
    this.currentStatus = 'closing';
    this.pending = this._close().finally(() => {
      this.currentStatus = 'closed';
    });
    try {
      await this.pending;
    } finally {
      this.pending = undefined;
    }
  }

  protected assertOpen(): void {
    if (this.currentStatus !== 'open') {
      throw new StateError(
        ErrorCodes.STORE_CLOSED,
        `${this.backend} store${this.location ? ` at ${this.location}` : ''} is ${this.currentStatus === 'new' ? 'not open yet' : 'closed'}`,
        {
          ...(this.location !== undefined && { file: this.location }),
          hint: 'call open() first',
        },
      );
    }
  }

  /** Whether the next call must open the store first (openOnFirstUse, and not opened yet). */
  protected get opensFirst(): boolean {
    return this.openOnFirstUse && (this.currentStatus === 'new' || this.currentStatus === 'opening');
  }

  /**
   * timed() for an answer that needs no promise: `run` answers at once, or returns undefined and the
   * caller takes the full path (which counts the call then). Runs only on an open store; a `run` that
   * throws is no answer either, so the full path reports the error as it does. A deploy script's get
   * at its pace ran cold through timed()'s async frames: a few tens of microseconds of a 0.2 ms read.
   */
  protected timedNow<T>(operation: string, run: () => T | undefined): T | undefined {
    if (this.currentStatus !== 'open') return undefined;
    const started = performance.now();
    let answer: T | undefined;
    try {
      answer = run();
    } catch {
      return undefined;
    }
    if (answer !== undefined) this.count(operation, performance.now() - started);
    return answer;
  }

  private count(operation: string, ms: number, failed = false): void {
    const stats = (this.ops[operation] ??= { count: 0, errors: 0, totalMs: 0, maxMs: 0 });
    stats.count++;
    if (failed) stats.errors++;
    stats.totalMs += ms;
    if (ms > stats.maxMs) stats.maxMs = ms;
  }

  protected async timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.opensFirst) await this.open();
    this.assertOpen();
    const started = performance.now();
    let failed = false;
    try {
      return await run();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      this.count(operation, performance.now() - started, failed);
    }
  }

  get(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    return this.timed('get', () => this._get(recordKey(chainId, contractName)));
  }

  has(chainId: number, contractName: string): Promise<boolean> {
    return this.timed('has', () => this._has(recordKey(chainId, contractName)));
  }

  put(record: DeploymentRecord): Promise<void> {
    return this.timed('put', () => this._putChecked(checkRecord(record)));
  }

  /**
   * The put of a record checked once already (checkRecord): for a store composed of others, which
   * checks the record once and hands it to each side without a second check or a second key.
   */
  putChecked(checked: CheckedRecord): Promise<void> {
    return this.timed('put', () => this._putChecked(checked));
  }

  delete(chainId: number, contractName: string): Promise<boolean> {
    return this.timed('delete', () => this._delete(recordKey(chainId, contractName)));
  }

  putMany(records: readonly DeploymentRecord[]): Promise<void> {
    return this.timed('putMany', async () => {
      if (!Array.isArray(records)) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `putMany takes an array of records, got ${describeValue(records)}`);
      const checked = records.map((record, i) => checkRecord(record, `batch[${i}]`));
      if (checked.length > 0) await this._putManyChecked(checked);
    });
  }

  /**
   * The putMany of records checked once already (checkRecord), as putChecked() is put(): for a store
   * composed of others, which hands a batch to one side without a second check or a second key.
   */
  putManyChecked(checked: readonly CheckedRecord[]): Promise<void> {
    return this.timed('putMany', async () => {
      if (checked.length > 0) await this._putManyChecked([...checked]);
    });
  }

  list(chainId: number): Promise<DeploymentRecord[]> {
    return this.timed('list', () => this._list(assertChainId(chainId)));
  }

  query(query: RecordQuery = {}): Promise<DeploymentRecord[]> {
    return this.timed('query', async () => {
      assertQuery(query);
      let records: DeploymentRecord[];
      if (query.chainId !== undefined) {
        records = await this._list(query.chainId);
      } else {
        records = [];
        for await (const entry of this._iterate({})) records.push(entry.record);
      }
      return applyQuery(records, query);
    });
  }

  async *iterate(options: IterateOptions = {}): AsyncGenerator<StoreEntry> {
    if (this.opensFirst) await this.open();
    this.assertOpen();
    if (options.chainId !== undefined) assertChainId(options.chainId);
    for await (const entry of this._iterate(options)) {
      yield entry;
    }
  }

  checkIntegrity(): Promise<IntegrityReport> {
    return this.timed('checkIntegrity', async () => {
      const findings: Finding[] = [];
      const perChain: Record<string, number> = {};
      let total = 0;
      const onInvalid = (entry: InvalidEntry): void => {
        total++;
        findings.push(entry.finding);
      };
      for await (const { key, record } of this._iterate({ onInvalid })) {
        total++;
        perChain[record.chainId] = (perChain[record.chainId] ?? 0) + 1;
        findings.push(...recordFindings(record, { registry: this.registry, key }));
      }
      return {
        ok: !findings.some((f) => f.severity === 'error'),
        backend: this.backend,
        ...(this.location !== undefined && { location: this.location }),
        total,
        perChain,
        findings,
      };
    });
  }

  async health(): Promise<HealthReport> {
    const base: HealthReport = {
      ok: this.currentStatus === 'open',
      backend: this.backend,
      status: this.currentStatus,
      ...(this.location !== undefined && { location: this.location }),
    };
    if (!base.ok) return base;
    try {
      return { ...base, ...(await this._health()) };
    } catch (error) {
      return { ...base, ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  metrics(): StoreMetrics {
    const operations: Record<string, OperationMetrics> = {};
    for (const [name, stats] of Object.entries(this.ops)) operations[name] = { ...stats };
    return { backend: this.backend, operations };
  }
}

/** The finding for a stored value that cannot be decoded or is not a record. */
export function invalidValueFinding(key: string, error: unknown, kind: 'UNDECODABLE_VALUE' | 'INVALID_RECORD' | 'INVALID_KEY' | 'DUPLICATE_KEY'): Finding {
  const message = error instanceof Error ? error.message : String(error);
  // Named once: an error that already starts with the key (the codec's, the record check's) is not prefixed again.
  return finding(kind, message.startsWith(`${key}: `) ? message : `${key}: ${message}`, { key });
}

function compareBy(field: SortField): (a: DeploymentRecord, b: DeploymentRecord) => number {
  switch (field) {
    case 'timestamp':
      return (a, b) => compareIntegers(a.timestamp, b.timestamp);
    case 'contractName':
      return (a, b) => compareKeys(a.contractName, b.contractName);
    case 'chainId':
      return (a, b) => a.chainId - b.chainId;
    default:
      return () => 0;
  }
}

/** Filters and sorts records given in key order; shared by every backend. */
export function applyQuery(records: DeploymentRecord[], query: RecordQuery): DeploymentRecord[] {
  assertQuery(query);
  const sortBy = query.sortBy ?? 'key';
  const filtered = records.filter(
    (r) =>
      (query.chainId === undefined || r.chainId === query.chainId) &&
      (query.contractName === undefined || r.contractName === query.contractName) &&
      (query.networkName === undefined || r.networkName === query.networkName),
  );
  // Records arrive in key order and Array.prototype.sort is stable, so ties stay in key order.
  const direction = query.order === 'desc' ? -1 : 1;
  const byField = compareBy(sortBy);
  const sorted = sortBy === 'key' ? filtered : filtered.sort((a, b) => byField(a, b) * direction);
  if (sortBy === 'key' && direction === -1) sorted.reverse();
  return query.limit === undefined ? sorted : sorted.slice(0, query.limit);
}

const QUERY_FIELDS: readonly string[] = ['chainId', 'contractName', 'networkName', 'sortBy', 'order', 'limit'];

/**
 * Throws INVALID_ARGUMENT (INVALID_KEY for a chain id) for a query that cannot mean what its
 * caller meant: a field it does not know (a typo would otherwise filter nothing and return every
 * record), a filter of the wrong type (would match nothing), a limit that is not a whole number of
 * records, a sort or order it does not offer.
 */
export function assertQuery(query: RecordQuery): void {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `a query is an object of ${QUERY_FIELDS.join(', ')}, got ${describeValue(query)}`);
  }
  for (const field of Object.keys(query)) {
    if (QUERY_FIELDS.includes(field)) continue;
    const meant = nearestKey(field, QUERY_FIELDS);
    throw new StateError(
      ErrorCodes.INVALID_ARGUMENT,
      `query has no field ${JSON.stringify(field)}${meant === undefined ? '' : ` (did you mean ${meant}?)`}; its fields are ${QUERY_FIELDS.join(', ')}`,
    );
  }
  if (query.chainId !== undefined) assertChainId(query.chainId);
  for (const field of ['contractName', 'networkName'] as const) {
    const value = query[field];
    if (value !== undefined && typeof value !== 'string') {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `query ${field} must be a string, got ${describeValue(value)}`);
    }
  }
  if (query.sortBy !== undefined && !['key', 'timestamp', 'contractName', 'chainId'].includes(query.sortBy)) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `sortBy must be key, timestamp, contractName or chainId, got ${describeValue(query.sortBy)}`);
  }
  if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `order must be asc or desc, got ${describeValue(query.order)}`);
  }
  if (query.limit !== undefined && !(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `limit must be a whole number of records, 0 or more, got ${describeValue(query.limit)}`);
  }
}
