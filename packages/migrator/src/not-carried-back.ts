// What a rollback could not read on the JSON side (an emergency rollback past a network file that
// does not parse) and LevelDB still lacks: `status` lists it in leveldb-only until it is mended and
// imported, so the runbook's check after an emergency rollback does not pass over it.
import { join } from 'node:path';
import { isFileContentProblem, readStateFile, stateFileProblem } from '@deploystate/backend-json/state-file';
import { isStateError, keyOf, parseKey, type StateStore } from '@deploystate/core';
import type { MigrationStatus, NotCarriedBack, RecordedNotCarriedBack } from './types.js';

/**
 * An entry of what a rollback could not read, as the state records it: with the keys of it LevelDB
 * holds once the carry-back is done (`after`, LevelDB's keys then), so that a key deleted from
 * LevelDB later is not taken for one left behind.
 */
export function recordNotCarriedBack(entry: NotCarriedBack, after: ReadonlyMap<string, unknown> | undefined): RecordedNotCarriedBack {
  const recorded = notCarriedBackEntry(entry);
  if (after === undefined) return recorded;
  if (recorded.chainId === undefined) return { ...recorded, inLevelDb: after.has(recorded.key) ? [recorded.key] : [] };
  const chain = `${recorded.chainId}-`;
  return { ...recorded, inLevelDb: [...after.keys()].filter((key) => key.startsWith(chain)) };
}

/** An entry as rollbackScope() and status() show it: the file or key and its code (what LevelDB held stays in the state). */
export function notCarriedBackEntry({ key, chainId, code }: NotCarriedBack): NotCarriedBack {
  return { key, code, ...(chainId !== undefined && { chainId }) };
}

/**
 * Each entry of `entries` (state.rollback's `notCarriedBack`) LevelDB still lacks, with why:
 * - a record's entry: while LevelDB lacks its key;
 * - a network file: while it cannot be read (its code as the store names it), or, once it reads,
 *   while LevelDB lacks any of its records (`missing`, keys `skip` names aside). A file no longer
 *   there holds nothing left to carry back.
 * A key LevelDB held once the rollback was done (`inLevelDb`) and lacks now was deleted there
 * since: it is not listed.
 * undefined when nothing is left.
 */
export async function stillNotCarriedBack(
  entries: readonly RecordedNotCarriedBack[],
  deployments: string,
  leveldb: StateStore,
  skip: ReadonlySet<string>,
): Promise<MigrationStatus['notCarriedBack']> {
  const out: NonNullable<MigrationStatus['notCarriedBack']> = [];
  for (const recorded of entries) {
    const entry = notCarriedBackEntry(recorded);
    // A hand-edited state may hold anything here: only a list of keys counts.
    const held = new Set(Array.isArray(recorded.inLevelDb) ? recorded.inLevelDb : []);
    if (entry.chainId === undefined) {
      const { chainId, contractName } = parseKey(entry.key);
      if (!held.has(entry.key) && !(await leveldb.has(chainId, contractName)))
        out.push({ ...entry, reason: `LevelDB lacks ${entry.key}, whose JSON entry could not be read (${entry.code})` });
      continue;
    }
    const file = join(deployments, entry.key);
    let records: string[];
    try {
      const model = await readStateFile(file, entry.chainId);
      if (model === undefined) continue;
      records = [...model.records.values()].map(keyOf);
    } catch (error) {
      if (!isStateError(error) || !isFileContentProblem(error)) throw error;
      const { code } = stateFileProblem(error, entry.chainId, file);
      out.push({ ...entry, code, reason: `${file} still cannot be read (${code}): records only it holds are not in LevelDB` });
      continue;
    }
    const have = new Set((await leveldb.list(entry.chainId)).map(keyOf));
    const missing = records.filter((key) => !have.has(key) && !skip.has(key) && !held.has(key));
    if (missing.length > 0) out.push({ ...entry, reason: `${missing.length} record(s) of ${file} are not in LevelDB`, missing });
  }
  return out.length > 0 ? out : undefined;
}
