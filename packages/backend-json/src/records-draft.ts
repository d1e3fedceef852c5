// The records a write changes, over the records of the file it starts from: a put changes one
// record of many, and copying all of them before it prints is time on its path. Once the file is
// replaced the draft is settled for the cache: kept as a layer over the records it started from
// (the next write's draft goes over it), and copied into a Map of its own only every few writes,
// so a put into a file of thousands of records does not copy them all each time.
import type { DeploymentRecord } from '@deploystate/core';

// Settled drafts stacked over one Map: at most this many (a read walks them all), and only so many
// that a copy every that many writes costs about as much as copying COPY_BUDGET records each time.
const MAX_LAYERS = 16;
const COPY_BUDGET = 256;

/**
 * A Map of a file's records as a write changes them, that leaves `base` untouched. get, has, set,
 * delete and size read through to `base`; anything else (iteration, clear) first makes the copy.
 */
export class RecordsDraft extends Map<string, DeploymentRecord> {
  /** Each changed name's record now (undefined: deleted), until the copy is made. */
  private changes: Map<string, DeploymentRecord | undefined> | undefined = new Map();
  /** The changes in the order they were made, replayed on the copy. */
  private log: Array<[string, DeploymentRecord | undefined]> = [];
  private count: number;
  /** Set once settled as a layer: the next write drafts over it, and it takes no change of its own. */
  private sealed = false;
  /** The records the write starts from, a Map or a draft settled before (see settle); let go once this holds them all (own). */
  private base: ReadonlyMap<string, DeploymentRecord> | undefined;

  constructor(base: ReadonlyMap<string, DeploymentRecord>) {
    super();
    this.base = base;
    this.count = base.size;
  }

  /**
   * The records as written, for the cache: this draft itself, sealed, while the layers under it are
   * few for the records' number (reads look through them); else a Map of its own with the changes
   * made (the layers' and this one's, replayed in order, so it is the Map a copy changed directly
   * would be, its order too). A draft kept as a layer throws on any change: the write is done.
   */
  settle(): Map<string, DeploymentRecord> {
    const layers = this.layers().length;
    if (this.changes !== undefined && layers < MAX_LAYERS && layers * COPY_BUDGET < this.count) {
      this.sealed = true;
      return this;
    }
    return this.copy();
  }

  /** This draft and the settled drafts under it that still hold only their changes, newest first. */
  private layers(): RecordsDraft[] {
    const drafts: RecordsDraft[] = [];
    for (let under: unknown = this; under instanceof RecordsDraft && under.changes !== undefined; under = under.base) drafts.push(under);
    return drafts;
  }

  /** A Map of its own: the first Map under the layers copied, then each layer's changes replayed, oldest first. */
  private copy(): Map<string, DeploymentRecord> {
    const drafts = this.layers();
    // The first Map under them: this draft itself once it holds every record (own).
    const under = drafts.length === 0 ? this : drafts[drafts.length - 1]?.base;
    const out = new Map<string, DeploymentRecord>();
    // forEach, not the Map constructor: no [name, record] pair made per record.
    under?.forEach((record, name) => out.set(name, record));
    for (let i = drafts.length - 1; i >= 0; i--) {
      for (const [name, record] of (drafts[i] as RecordsDraft).log) {
        if (record === undefined) out.delete(name);
        else out.set(name, record);
      }
    }
    return out;
  }

  /** Holds every record itself (an iteration asked for them all): the layers under it are let go. */
  private own(): void {
    if (this.changes === undefined) return;
    const copied = this.copy();
    this.changes = undefined;
    this.log = [];
    this.base = undefined;
    copied.forEach((record, name) => super.set(name, record));
  }

  private assertOpen(): void {
    if (this.sealed) throw new Error('a settled draft takes no more changes');
  }

  override get(name: string): DeploymentRecord | undefined {
    const changes = this.changes;
    if (changes === undefined) return super.get(name);
    return changes.has(name) ? changes.get(name) : this.base?.get(name);
  }

  override has(name: string): boolean {
    const changes = this.changes;
    if (changes === undefined) return super.has(name);
    return changes.has(name) ? changes.get(name) !== undefined : (this.base?.has(name) ?? false);
  }

  override get size(): number {
    return this.changes === undefined ? super.size : this.count;
  }

  override set(name: string, record: DeploymentRecord): this {
    this.assertOpen();
    const changes = this.changes;
    if (changes === undefined) return super.set(name, record);
    if (!this.has(name)) this.count++;
    changes.set(name, record);
    this.log.push([name, record]);
    return this;
  }

  override delete(name: string): boolean {
    this.assertOpen();
    const changes = this.changes;
    if (changes === undefined) return super.delete(name);
    if (!this.has(name)) return false;
    this.count--;
    changes.set(name, undefined);
    this.log.push([name, undefined]);
    return true;
  }

  override clear(): void {
    this.assertOpen();
    this.changes = undefined;
    this.log = [];
    super.clear();
  }

  override forEach(fn: (record: DeploymentRecord, name: string, map: Map<string, DeploymentRecord>) => void, self?: unknown): void {
    this.own();
    super.forEach(fn, self);
  }

  override keys(): MapIterator<string> {
    this.own();
    return super.keys();
  }

  override values(): MapIterator<DeploymentRecord> {
    this.own();
    return super.values();
  }

  override entries(): MapIterator<[string, DeploymentRecord]> {
    this.own();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, DeploymentRecord]> {
    return this.entries();
  }
}
