// What the toolkit has to tell a person without failing: a write that was stored but found its file
// rewritten by other code, a drain that will be retried. Published on a diagnostics channel, so a
// program (the CLI, a deploy framework) shows warnings its own way; with nobody subscribed, one line
// on stderr, as a library that must not be silent has to.
import { channel } from 'node:diagnostics_channel';
import type { ErrorCode } from './errors.js';

/** The channel's name: `diagnostics_channel.subscribe(WARNING_CHANNEL, (w: Warning) => ...)`. */
export const WARNING_CHANNEL = 'deploystate:warning';

export interface Warning {
  /** The stable code of what happened (an ErrorCode): branch on it, never on the message. */
  code: ErrorCode;
  /** What happened, in a sentence. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** The file concerned, when there is one. */
  file?: string;
  /** The keys concerned, when there are any. */
  keys?: readonly string[];
}

const warnings = channel(WARNING_CHANNEL);

/** The line a warning is printed as when nobody subscribes. */
export function warningLine(warning: Warning): string {
  return `deploystate: warning ${warning.code}: ${warning.message}. ${warning.hint}`;
}

/** Publishes a warning to the channel's subscribers, or prints it on stderr when there are none. */
export function warn(warning: Warning): void {
  if (warnings.hasSubscribers) warnings.publish(warning);
  else process.stderr.write(`${warningLine(warning)}\n`);
}
