// One state file read and parsed as the store reads it, for code that checks files without a store
// (status, what a rollback could not carry back): no link followed, and a file a git command is
// rewriting (missing, empty or not parsing meanwhile) read again once git is done.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, isStateError, readBesideGit } from '@deploystate/core';
import { parseStateFile, type StateFileModel } from './file-format.js';
import { readStateFileBytes } from './state-path.js';

/**
 * The state file `file` of chain `chainId`, parsed; undefined when nothing is there. Throws what
 * the store's read throws: NOT_A_FILE for a link or folder, CORRUPTED (stateFileProblem names which
 * kind), UNSUPPORTED_SCHEMA_VERSION, CHAIN_MISMATCH.
 */
export function readStateFile(file: string, chainId: number): Promise<StateFileModel | undefined> {
  const read = async (): Promise<StateFileModel | undefined> => {
    const bytes = await readStateFileBytes(file);
    return bytes === undefined ? undefined : parseStateFile(bytes.toString('utf8'), file, chainId);
  };
  return readBesideGit(dirname(file), read, {
    missing: (model) => model === undefined,
    unfinished: (error) => isStateError(error, ErrorCodes.CORRUPTED),
    exists: () => existsSync(file),
  });
}
