// Writes a store exactly as the legacy deploy scripts did (`new Level(path, { valueEncoding:
// 'json' })`), plus raw text values as other writers left them: for fixtures, tests and the demo.
import { Level } from 'level';
import { mapLevelError } from './level-errors.js';

export type LegacyEntry = { key: string; value: unknown } | { key: string; raw: string };

export async function writeLegacyStore(path: string, entries: ReadonlyArray<LegacyEntry>): Promise<void> {
  const db = new Level<string, unknown>(path, { valueEncoding: 'json' });
  try {
    await db.open();
    for (const entry of entries) {
      if ('raw' in entry) await db.put<string, string>(entry.key, entry.raw, { valueEncoding: 'utf8' });
      else await db.put(entry.key, entry.value);
    }
  } catch (error) {
    throw mapLevelError(error, path, undefined);
  } finally {
    await db.close();
  }
}
