// Writes a store exactly as the legacy deploy scripts did (`new Level(path, { valueEncoding:
// 'json' })`), plus raw text values as other writers left them: for fixtures, tests and the demo.
import { ErrorCodes, StateError, stringifyLossless } from '@deploystate/core';
import { mapLevelError } from './level-errors.js';
import { levelModule } from './level-open.js';
import { heldHereError, openHeld } from './process-holds.js';

export type LegacyEntry = { key: string; value: unknown } | { key: string; raw: string };

function holdsBigint(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(holdsBigint);
}

/**
 * Writes `entries` into the LevelDB folder at `path` (created when missing). A `value` goes
 * through the legacy JSON encoding; `raw` text is stored as is. A value holding a bigint, which
 * the legacy encoding cannot print, is stored as its exact JSON text (a bare literal), the way
 * other writers left such values.
 */
export async function writeLegacyStore(path: string, entries: ReadonlyArray<LegacyEntry>): Promise<void> {
  const { Level } = await levelModule();
  let db: InstanceType<typeof Level<string, unknown>> | undefined;
  let key: string | undefined;
  try {
    // Never a second handle on a folder a store of this process has open (it would drop that store's lock).
    db = await openHeld(path, () => new Level<string, unknown>(path, { valueEncoding: 'json' }));
    if (db === undefined) throw heldHereError(path);
    for (const entry of entries) {
      key = entry.key;
      if (typeof entry.key !== 'string' || entry.key.length === 0)
        throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'every legacy entry needs a non-empty key', { file: path });
      if ('raw' in entry) await db.put<string, string>(entry.key, entry.raw, { valueEncoding: 'utf8' });
      else if (holdsBigint(entry.value)) await db.put<string, string>(entry.key, stringifyLossless(entry.value), { valueEncoding: 'utf8' });
      else await db.put(entry.key, entry.value);
    }
  } catch (error) {
    throw mapLevelError(error, path, key);
  } finally {
    await db?.close();
  }
}
