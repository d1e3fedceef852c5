// The records a write changes, over the records of the file it starts from: a put changes one
// record of many, and copying all of them before it prints is time on its path; the copy is made
// once the file is replaced (settle), while the folder's sync runs.
import type { DeploymentRecord } from '@deploystate/core';

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

  constructor(private readonly base: ReadonlyMap<string, DeploymentRecord>) {
    super();
    this.count = base.size;
  }

  /** A Map of its own with the changes made: the base copied, then each change replayed in order. */
  settle(): Map<string, DeploymentRecord> {
    const changes = this.changes;
    if (changes === undefined) return new Map(this);
    // Replayed as they were made, so the copy is the Map a copy changed directly would be (its order too).
    const out = new Map(this.base);
    for (const [name, record] of this.log) {
      if (record === undefined) out.delete(name);
      else out.set(name, record);
    }
    return out;
  }

  private own(): void {
    const changes = this.changes;
    if (changes === undefined) return;
    const settled = this.settle();
    this.changes = undefined;
    this.log = [];
    for (const [name, record] of settled) super.set(name, record);
  }

  override get(name: string): DeploymentRecord | undefined {
    const changes = this.changes;
    if (changes === undefined) return super.get(name);
    return changes.has(name) ? changes.get(name) : this.base.get(name);
  }

  override has(name: string): boolean {
    const changes = this.changes;
    if (changes === undefined) return super.has(name);
    return changes.has(name) ? changes.get(name) !== undefined : this.base.has(name);
  }

  override get size(): number {
    return this.changes === undefined ? super.size : this.count;
  }

  override set(name: string, record: DeploymentRecord): this {
    const changes = this.changes;
    if (changes === undefined) return super.set(name, record);
    if (!this.has(name)) this.count++;
    changes.set(name, record);
    this.log.push([name, record]);
    return this;
  }

  override delete(name: string): boolean {
    const changes = this.changes;
    if (changes === undefined) return super.delete(name);
    if (!this.has(name)) return false;
    this.count--;
    changes.set(name, undefined);
    this.log.push([name, undefined]);
    return true;
  }

  override clear(): void {
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
