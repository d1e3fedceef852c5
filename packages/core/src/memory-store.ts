// The in-memory reference implementation of StateStore: the smallest store that passes the
// conformance suite, for tests and as the model other backends are measured against.
import type { StoreEntry } from './compare.js';
import { compareKeys, chainKeyRange } from './keys.js';
import { cloneRecord, type DeploymentRecord } from './record.js';
import { AbstractStateStore, type BaseStoreOptions, type IterateOptions, type StoreCapabilities } from './store.js';

export interface MemoryStoreOptions extends BaseStoreOptions {
  /** Share one map between instances to model persistence across close and reopen. */
  data?: Map<string, DeploymentRecord>;
}

export class MemoryStore extends AbstractStateStore {
  readonly backend = 'memory';
  readonly capabilities: StoreCapabilities = { persistent: true, crossProcess: false, rawValues: false };
  readonly location = undefined;
  private readonly data: Map<string, DeploymentRecord>;

  constructor(options: MemoryStoreOptions = {}) {
    super(options);
    this.data = options.data ?? new Map();
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {}

  protected async _get(key: string): Promise<DeploymentRecord | null> {
    const record = this.data.get(key);
    return record === undefined ? null : cloneRecord(record);
  }

  protected async _put(key: string, record: DeploymentRecord): Promise<void> {
    this.data.set(key, cloneRecord(record));
  }

  protected async _delete(key: string): Promise<boolean> {
    return this.data.delete(key);
  }

  protected async _putMany(entries: StoreEntry[]): Promise<void> {
    const copies = entries.map(({ key, record }) => [key, cloneRecord(record)] as const);
    for (const [key, record] of copies) this.data.set(key, record);
  }

  protected async *_iterate(options: IterateOptions): AsyncGenerator<StoreEntry> {
    const range = options.chainId === undefined ? undefined : chainKeyRange(options.chainId);
    const keys = [...this.data.keys()]
      .filter((k) => !range || (compareKeys(k, range.gte) >= 0 && compareKeys(k, range.lt) < 0))
      .sort(compareKeys);
    for (const key of keys) {
      const record = this.data.get(key);
      if (record !== undefined) yield { key, record: cloneRecord(record) };
    }
  }
}
