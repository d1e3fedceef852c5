// The persisted phase as a long-running process sees it: state.json re-read only when one stat
// shows it replaced, so following a phase change costs a stat per operation.
import { statSync } from 'node:fs';
import type { StateFiles } from './paths.js';
import { initialState, readState } from './state.js';
import type { MigrationStateFile } from './types.js';

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
