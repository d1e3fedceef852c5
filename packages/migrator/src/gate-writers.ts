// Who keeps a gate waiting: writers hold the fence shared and leave no name in its lock file (the
// last exclusive holder's is there, a gate long finished), so a gate's LOCKED names the journalled
// writes still open whose process lives: the writes in flight.
import { ErrorCodes, StateError } from '@deploystate/core';
import { Journal, writerAlive } from './journal.js';
import { summarizeJournal } from './journal-queries.js';
import type { StateFiles } from './paths.js';

/** How far back the journal is read for writes in flight (each took the fence before its intent line). */
const RECENT_ENTRIES = 10_000;
const NAMED = 5;

/** The fence's LOCKED, naming the writes in flight when the journal shows any; else the error as it is. */
export async function namingWritersInFlight(files: Pick<StateFiles, 'fence' | 'journal'>, error: StateError): Promise<StateError> {
  let open;
  try {
    const journal = new Journal(files.journal);
    const last = await journal.lastSeq();
    open = (await summarizeJournal(journal, Math.max(0, last - RECENT_ENTRIES))).open.filter((e) => writerAlive(e));
  } catch {
    return error;
  }
  // No write in flight: the holders (named by the lock, where the system tells) are between writes.
  if (open.length === 0)
    return new StateError(ErrorCodes.LOCKED, error.message, {
      file: files.fence,
      hint: 'a deploy script keeps the fence for a moment after each write, and for as long as it is paused (SIGSTOP) or busy without yielding; run the command again once it goes on or ends',
      cause: error,
    });
  const named = open
    .slice(0, NAMED)
    .map((e) => `${e.key} (pid ${e.pid}, since ${e.time})`)
    .join(', ');
  const more = open.length > NAMED ? ` and ${open.length - NAMED} more` : '';
  return new StateError(ErrorCodes.LOCKED, `${files.fence} is held by writes in flight: ${named}${more}`, {
    file: files.fence,
    hint: 'run the command again once they have finished; a writer that is paused (SIGSTOP) or hung holds the fence until it ends',
    cause: error,
  });
}
