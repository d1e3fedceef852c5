// The torn log tails a LevelDB store accepted when it opened: each noted once, at most 20 kept.
import type { TornTail } from './level-files.js';

/**
 * Something the pre-open check accepted but reports: a log whose final record was cut short by
 * the crash of a writer (SIGKILL, power loss). That write was never acknowledged; LevelDB drops
 * it when it opens the store, and every acknowledged write before it is kept.
 */
export interface RecoveryNote {
  kind: 'torn-log-tail';
  severity: 'warning';
  /** The log file. */
  file: string;
  detail: string;
  /** Bytes after the last whole record, which LevelDB drops. */
  droppedBytes: number;
  /** When this store saw it (ISO 8601). */
  seenAt: string;
}

/** Adds each tail not noted yet to `notes` (most recent last, at most 20). */
export function noteTornTails(notes: RecoveryNote[], tails: readonly TornTail[]): void {
  for (const tail of tails) {
    const droppedBytes = tail.size - tail.completeEnd;
    if (notes.some((n) => n.file === tail.file && n.droppedBytes === droppedBytes && n.detail === tail.detail)) continue;
    notes.push({
      kind: 'torn-log-tail',
      severity: 'warning',
      file: tail.file,
      detail: tail.detail,
      droppedBytes,
      seenAt: new Date().toISOString(),
    });
    if (notes.length > 20) notes.shift();
  }
}
