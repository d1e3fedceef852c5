// The keys the store wrote, read from the migrator's write journal (`.deploystate/journal.ndjson`
// beside the deployments folder): a legacy entry naming such a key is the store's own record going
// missing, an error; any other is a legacy file listing what the store never had, a warning.
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileSystemError } from '@deploystate/core';

/** Where the migrator keeps its journal by default, for a deployments folder. */
export function defaultJournalFor(dir: string): string {
  return join(dirname(resolve(dir)), '.deploystate', 'journal.ndjson');
}

/** Keys of the put intents in a journal (probes left out); an empty set when there is no journal. */
export async function journalledPutKeys(journal: string): Promise<Set<string>> {
  const keys = new Set<string>();
  if (!existsSync(journal)) return keys;
  const lines = createInterface({ input: createReadStream(journal, 'utf8'), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line.startsWith('{"type":"intent"')) continue;
      try {
        const entry = JSON.parse(line) as { key?: unknown; op?: unknown; probe?: unknown };
        if (typeof entry.key === 'string' && entry.op === 'put' && entry.probe !== true) keys.add(entry.key);
      } catch {
        // A torn line (a crash mid-append) names nothing reliably.
      }
    }
  } catch (error) {
    // A folder in its place, a journal this user may not read: named, with the code the system's error calls for.
    throw fileSystemError(error, journal, 'cannot read the journal');
  }
  return keys;
}
