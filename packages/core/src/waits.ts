// Where the toolkit waited for another process (LevelDB's turn, a kernel lock, a rollback in
// progress), published on a diagnostics channel for whoever measures it (the zero-downtime walk,
// the bench). With nobody subscribed a wait costs one property read.
import { channel } from 'node:diagnostics_channel';

/** The channel's name: `diagnostics_channel.subscribe(WAIT_CHANNEL, (w: Wait) => ...)`. */
export const WAIT_CHANNEL = 'deploystate:wait';

export type WaitKind =
  /** LevelDB held by another process: the wait for it to hand the database over. */
  | 'leveldb'
  /** This process handing LevelDB over to another one: its next operation waits for the turn. */
  | 'handover'
  /** A kernel lock held elsewhere (the fence, the state lock, a network file). */
  | 'lock'
  /** A write waiting for a rollback in progress to end. */
  | 'rolling-back';

export interface Wait {
  kind: WaitKind;
  /** How long it waited, in milliseconds. */
  ms: number;
  /** What it waited for: a lock file's name, a folder. */
  what?: string;
}

const waits = channel(WAIT_CHANNEL);

/** Publishes a wait that began at `startedAt` (performance.now()) and ends now. */
export function noteWait(kind: WaitKind, startedAt: number, what?: string): void {
  if (!waits.hasSubscribers) return;
  waits.publish({ kind, ms: performance.now() - startedAt, ...(what !== undefined && { what }) } satisfies Wait);
}
