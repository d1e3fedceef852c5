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

/**
 * The channel a long wait is announced on while it lasts (`deploystate:waiting`): once, after
 * WAITING_NOTICE_MS, with what it waits for and who holds it, so a person watching a command is
 * told why it is quiet (the CLI prints it on stderr).
 */
export const WAITING_CHANNEL = 'deploystate:waiting';

/** How long a wait lasts before it is announced. */
export const WAITING_NOTICE_MS = 1_000;

export interface Waiting {
  kind: WaitKind;
  /** What it waits for: a folder, a lock file's name. */
  what: string;
  /** The processes holding it, where the system says (Linux): pid and command. */
  holders: Array<{ pid: number; command: string }>;
  /** How long it will wait at most before giving up, in milliseconds. */
  giveUpAfterMs?: number;
}

const waiting = channel(WAITING_CHANNEL);

/** Announces a wait still going on (see WAITING_CHANNEL); `holders` is only asked for when someone listens. */
export function noteWaiting(kind: WaitKind, what: string, holders: () => Waiting['holders'], giveUpAfterMs?: number): void {
  if (!waiting.hasSubscribers) return;
  waiting.publish({ kind, what, holders: holders(), ...(giveUpAfterMs !== undefined && { giveUpAfterMs }) } satisfies Waiting);
}
