// The entries a store could not read (a whole JSON file, or one record's entry), collected by
// side and key, and the CORRUPTED (or NOT_A_FILE) error that names them: shared by compare, verify
// and the copy.
import { basename, join } from 'node:path';
import { isFileContentProblem, JsonFileStore, readStateFile, stateFileProblem } from '@deploystate/backend-json';
import { ErrorCodes, isStateError, StateError, type InvalidEntry, type NetworkRegistry } from '@deploystate/core';
import type { UnreadableEntry, UnreadableNetworkFile } from './types.js';

/** A JSON problem that covers a whole file is reported under the file's name, not a record key. */
/** Whether the entry stands for a whole file the store could not read (it is named by the file), not for one value. */
export const isWholeFile = (entry: InvalidEntry): boolean => entry.finding.file !== undefined && basename(entry.finding.file) === entry.key;

/** Collects the entries a store could not read, marking those the state already accounts for. */
export function unreadableCollector(
  side: UnreadableEntry['side'],
  known: ReadonlySet<string>,
  location: string,
): { onInvalid: (entry: InvalidEntry) => void; entries: UnreadableEntry[] } {
  const entries: UnreadableEntry[] = [];
  return {
    entries,
    onInvalid: (entry) => {
      const file = entry.finding.file ?? (side === 'json' && isWholeFile(entry) ? join(location, entry.key) : undefined);
      // A whole JSON file is never accounted for: its records are unknown.
      const accounted = !(side === 'json' && isWholeFile(entry)) && known.has(entry.key);
      entries.push({ side, key: entry.key, ...(file !== undefined && { file }), finding: entry.finding, known: accounted });
    },
  };
}

/**
 * CORRUPTED naming the first JSON file (and record key) that could not be read, NOT_A_FILE when
 * that is a folder or link: such a file must never pass for records that are merely missing.
 */
export function unreadableJsonError(unreadable: readonly UnreadableEntry[]): StateError | undefined {
  const bad = unreadable.filter((u) => u.side === 'json' && !u.known);
  const first = bad[0];
  if (!first) return undefined;
  const list = bad
    .slice(0, 10)
    .map(
      (u) =>
        `${u.file ?? u.key}${u.file !== undefined && basename(u.file) !== u.key ? ` (${u.key})` : ''}: ${u.finding.code}${u.finding.line !== undefined ? ` at line ${u.finding.line}${u.finding.column !== undefined ? `, column ${u.finding.column}` : ''}` : ''}`,
    );
  const whole = first.file !== undefined && basename(first.file) === first.key;
  // A folder or link where a state file belongs keeps its own code here, as on the store's reads
  // and writes: one rule for every path.
  const notAFile = first.finding.code === ErrorCodes.NOT_A_FILE;
  const unmerged = first.finding.code === 'MERGE_CONFLICT';
  return new StateError(
    notAFile ? ErrorCodes.NOT_A_FILE : ErrorCodes.CORRUPTED,
    `${bad.length} JSON state file entr${bad.length === 1 ? 'y' : 'ies'} cannot be read: ${list.join('; ')}${bad.length > 10 ? '; ...' : ''}`,
    {
      ...(first.file !== undefined && { file: first.file }),
      ...(!whole && { key: first.key }),
      // Where the first one stops parsing, as `validate` and the store's own read say.
      ...(first.finding.line !== undefined && { position: { line: first.finding.line, column: first.finding.column ?? 1 } }),
      hint: notAFile
        ? 'move what stands at the path named above out of the way (a folder, or a link: put the file itself there); a state file must be a regular file'
        : unmerged
          ? `finish the merge: deploystate merge-resolve ${first.file ?? first.key} (or git checkout --merge -- ${first.file ?? first.key} with the deploystate merge driver configured)`
          : 'fix the file by hand or restore it from its backup (deployments/.deploystate/backups, or the copy backups under .deploystate/backups)',
    },
  );
}

/**
 * Finding codes that mean a whole state file cannot be read (checkIntegrity's, JsonFileStore's
 * fileProblem): its records are unknown, and a deploy script's read of its chain fails.
 */
const UNREADABLE_FILE_CODES: ReadonlySet<string> = new Set(['MERGE_CONFLICT', 'NOT_JSON', 'EMPTY_FILE', 'UNSUPPORTED_SCHEMA_VERSION', 'NOT_A_FILE', 'CHAIN_MISMATCH']);

/**
 * The findings that say a whole state file cannot be read. A schema violation counts when it names
 * the file and no record key (the document's shape is wrong, `records` not an object, say); one
 * record's entry that is not a record names its key and leaves the rest of the file readable.
 */
export function unreadableFiles<F extends { code: string; file?: string; key?: string }>(findings: readonly F[]): F[] {
  return findings.filter((f) => UNREADABLE_FILE_CODES.has(f.code) || (f.code === 'SCHEMA_VIOLATION' && f.file !== undefined && f.key === undefined));
}

/**
 * The network files a deploy script cannot read now, each read and parsed as the store reads it
 * (for `status`; one a git command is rewriting is read once git is done): a pull that left git's
 * conflict markers, a hand edit that broke the JSON, a folder or link where a file belongs. Every
 * read or write of such a chain fails until it is mended.
 */
export async function unreadableNetworkFiles(deployments: string, registry: NetworkRegistry): Promise<UnreadableNetworkFile[]> {
  const json = new JsonFileStore({ dir: deployments, readOnly: true, cache: false, registry });
  try {
    await json.open();
  } catch {
    return []; // No folder: the phase's own checks say so.
  }
  try {
    const out: UnreadableNetworkFile[] = [];
    for (const { chainId, file } of await json.listStateFiles()) {
      try {
        await readStateFile(file, chainId);
      } catch (error) {
        // A file this user may not read is an error to pass on, not a finding about the file.
        if (!isStateError(error) || !isFileContentProblem(error)) throw error;
        // Named as the store's iterate, the rollback and the report name it.
        const { code } = stateFileProblem(error, chainId, file);
        out.push({ file, chainId, code, message: error.message, ...(error.hint !== undefined && { hint: error.hint }) });
      }
    }
    return out;
  } finally {
    await json.close();
  }
}
