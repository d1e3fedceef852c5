// Repair never happens in place: LevelDB's repair rewrites the folder, and on a damaged store
// the original files are the only evidence. It runs on a copy, which can then be inspected.
import { cp, readdir } from 'node:fs/promises';
import { ErrorCodes, StateError } from '@deploystate/core';
import { mapLevelError } from './level-errors.js';
import { loadLevelPackage } from './level-open.js';

export interface RepairResult {
  dest: string;
  /** Entries in the repaired copy (every key, whatever its value). */
  records: number;
}

/** Copies `source` to `dest` (missing or empty), runs LevelDB's repair on the copy, counts its entries. */
export async function repairCopy(source: string, dest: string): Promise<RepairResult> {
  const entries = await readdir(source).catch((error: { code?: unknown }) => {
    if (error.code === 'ENOENT') throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no LevelDB folder at ${source}`, { file: source });
    throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot read ${source}`, { file: source, cause: error });
  });
  if (entries.length === 0) throw new StateError(ErrorCodes.STORE_NOT_FOUND, `${source} is empty`, { file: source });
  const existing = await readdir(dest).catch(() => [] as string[]);
  if (existing.length > 0)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${dest} is not empty; a repaired copy never overwrites anything`, { file: dest });
  // Loaded here, as `level` is (level-open.ts): only a repair needs it. Before the copy, so a
  // package that cannot load leaves no copy behind to make the retry refuse a non-empty folder.
  const { ClassicLevel } = await loadLevelPackage('classic-level', () => import('classic-level'));
  await cp(source, dest, { recursive: true, filter: (path) => !path.endsWith('/LOCK') });
  try {
    await ClassicLevel.repair(dest);
  } catch (error) {
    throw mapLevelError(error, dest);
  }
  const db = new ClassicLevel<string, string>(dest, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing: false });
  try {
    await db.open();
    let records = 0;
    for await (const _key of db.keys()) records++;
    return { dest, records };
  } catch (error) {
    throw mapLevelError(error, dest);
  } finally {
    await db.close().catch(() => undefined);
  }
}
