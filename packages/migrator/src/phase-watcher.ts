// The persisted phase as a long-running process sees it: state.json (and the shared phase.json, which
// a `git pull` may replace alone) re-read only when a stat shows one replaced, so following a phase
// change costs a stat or two per operation, and a read or write one stat once phase.json decides the route.
import { readFileSync, statSync } from 'node:fs';
import { gitAtWork, racyUntilMs, untilGitDone } from '@deploystate/core';
import type { StateFiles } from './paths.js';
import { sharedStateFile } from './shared-state.js';
import { initialState, readStateAndRouteSource } from './state.js';
import type { MigrationStateFile } from './types.js';

/** What one stat of state.json showed; compared field by field, so the unchanged case builds nothing. */
interface StateSignature {
  kind: 'present' | 'absent' | 'unreadable';
  ino: number;
  size: number;
  mtimeMs: number;
  /** The shared phase file's; -1 when absent. */
  sharedIno: number;
  sharedSize: number;
  sharedMtimeMs: number;
}

const sameSignature = (a: StateSignature, b: StateSignature): boolean =>
  a.kind === b.kind &&
  a.ino === b.ino &&
  a.size === b.size &&
  a.mtimeMs === b.mtimeMs &&
  a.sharedIno === b.sharedIno &&
  a.sharedSize === b.sharedSize &&
  a.sharedMtimeMs === b.sharedMtimeMs;

/** Keeps the persisted state current at the cost of one stat when nothing changed. */
export class PhaseWatcher {
  private signature: StateSignature | undefined;
  private current: MigrationStateFile = initialState();
  /** Whether the state as last read took its phase and rollback from phase.json alone. */
  private routeFromShared = false;
  /**
   * Whether the files were read within their timestamps' tick (git's racy rule): a change in the
   * same tick (same size, same inode) would leave the stat as it was, so the stat vouches for
   * nothing until they are read again once the tick is over (2 s where timestamps keep whole seconds).
   */
  private racy = false;
  /** While racy: both files' bytes as read before they were parsed, and when the tick ends. */
  private racyBytes: { state: Buffer | null; shared: Buffer | null; until: number; sharedSettled: boolean } | undefined;

  private readonly sharedFile: string;

  constructor(private readonly files: StateFiles) {
    this.sharedFile = sharedStateFile(files.stateDir);
  }

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
    return sameSignature(this.stat(), seen) && this.sameBytesIfRacy();
  }

  /**
   * Not racy: true. Racy: whether both files still hold the bytes read (a change in the same tick
   * shows only there); a look after the tick ended that finds them so ends the racy state.
   */
  private sameBytesIfRacy(): boolean {
    const racy = this.racyBytes;
    if (!this.racy || racy === undefined) return !this.racy;
    const lookedAt = Date.now();
    const same = sameBytes(readIfThere(this.files.state), racy.state) && sameBytes(readIfThere(this.sharedFile), racy.shared);
    if (same && lookedAt > racy.until) {
      this.racy = false;
      this.racyBytes = undefined;
    }
    return same;
  }

  /**
   * Whether reads and writes may still take the route of the state as last read. When phase.json
   * decided that route (readState lays its phase and rollback over state.json's), it alone can
   * change it: one stat of phase.json, and state.json's changes (copy progress, evidence, timings),
   * which no read or write uses, are left to refresh(), which re-reads them once phase.json changes.
   * Otherwise both files are checked, as unchanged().
   * The answer is as strict as unchanged() for routing: a phase change completed before the stat
   * (the shared file replaced by rename, rewritten in place, removed, or state.json changed while
   * it decides) is never reported unchanged.
   */
  routeUnchanged(): boolean {
    const seen = this.signature;
    if (seen === undefined || !this.routeFromShared || seen.kind !== 'present') return this.unchanged();
    let shared;
    try {
      shared = statSync(this.sharedFile, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    const sameStat =
      shared !== undefined && shared.ino === seen.sharedIno && shared.size === seen.sharedSize && shared.mtimeMs === seen.sharedMtimeMs;
    // Within phase.json's tick only its bytes tell (state.json's are left to unchanged(), as above).
    return sameStat && this.sharedSameIfRacy();
  }

  /**
   * routeUnchanged's look at phase.json's bytes while racy: once a look after the tick finds them
   * as read, phase.json is settled and reads go back to its stat alone (state.json is settled by
   * unchanged() or refresh(), whichever looks next).
   */
  private sharedSameIfRacy(): boolean {
    const racy = this.racyBytes;
    if (!this.racy || racy === undefined || racy.sharedSettled) return true;
    const lookedAt = Date.now();
    const same = sameBytes(readIfThere(this.sharedFile), racy.shared);
    if (same && lookedAt > racy.until) racy.sharedSettled = true;
    return same;
  }

  /**
   * The state, when one stat shows state.json unchanged since it was last read; undefined when it
   * must be read again (call refresh()). Synchronous, so the common case costs no promise.
   */
  peek(): MigrationStateFile | undefined {
    return this.unchanged() ? this.current : undefined;
  }

  async refresh(): Promise<MigrationStateFile> {
    let seenAt = Date.now();
    let signature = this.stat();
    const seen = this.signature;
    if (seen === undefined || !sameSignature(signature, seen) || !this.sameBytesIfRacy()) {
      // A phase that changes while git rewrites the work tree (a teammate's cut-over or rollback
      // arriving by pull or checkout) is read once git is done: git writes phase.json before the
      // data folders, so routing by it at once read the new phase's side as the old commit left it
      // (a record neither commit holds).
      if (gitAtWork(this.files.stateDir)) {
        await untilGitDone(this.files.stateDir);
        seenAt = Date.now();
        signature = this.stat();
      }
      // Within the tick: the bytes before the parse, so a change meanwhile shows as a difference later.
      const until = Math.max(racyUntilMs(signature.mtimeMs), racyUntilMs(signature.sharedMtimeMs));
      const bytes =
        seenAt <= until ? { state: readIfThere(this.files.state), shared: readIfThere(this.sharedFile), until, sharedSettled: false } : undefined;
      // Stat before read: what is read is at least as new as the signature kept for it.
      const read =
        signature.kind === 'absent' ? { state: initialState(), routeFromShared: false } : await readStateAndRouteSource(this.files);
      this.current = read.state;
      this.routeFromShared = read.routeFromShared;
      this.signature = signature;
      this.racy = bytes !== undefined;
      this.racyBytes = bytes;
    }
    return this.current;
  }

  private stat(): StateSignature {
    // A synchronous stat costs microseconds, an async one a trip through the thread pool; state.json
    // is replaced by rename on every change, so the inode alone tells a change.
    try {
      const s = statSync(this.files.state, { throwIfNoEntry: false });
      const shared = statSync(this.sharedFile, { throwIfNoEntry: false });
      const sharedIno = shared?.ino ?? -1;
      const sharedSize = shared?.size ?? -1;
      const sharedMtimeMs = shared?.mtimeMs ?? -1;
      if (!s && !shared) return { kind: 'absent', ino: 0, size: 0, mtimeMs: 0, sharedIno, sharedSize, sharedMtimeMs };
      return { kind: 'present', ino: s?.ino ?? -1, size: s?.size ?? -1, mtimeMs: s?.mtimeMs ?? -1, sharedIno, sharedSize, sharedMtimeMs };
    } catch {
      return { kind: 'unreadable', ino: 0, size: 0, mtimeMs: 0, sharedIno: 0, sharedSize: 0, sharedMtimeMs: 0 };
    }
  }
}

/** A small file's bytes, or null when it is not there (or cannot be read: the stat and parse judge it). */
function readIfThere(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

const sameBytes = (a: Buffer | null, b: Buffer | null): boolean => (a === null || b === null ? a === b : a.equals(b));
