// The part of the migration state a team shares through git: the phase (with a rollback's
// progress), the exclusions and acknowledgements, and LevelDB's digest at cut-over. It lives in
// `<stateDir>/phase.json`, the one committed file of the state folder; everything else there
// (verify evidence, journal, progress, backups, locks, reports, temp files) is one machine's own,
// and the folder's `.gitignore` keeps it out of git.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, ErrorCodes, isStateError, keepingFileStyle, parseLosslessDocument, StateError, withoutByteOrderMark } from '@deploystate/core';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { assertPhaseFile } from './phase-file.js';
import type { StateFiles } from './paths.js';
import type { MigrationStateFile } from './types.js';

export const SHARED_STATE_FILE = 'phase.json';

/** The state folder's `.gitignore`: everything is local but itself and the shared phase file. */
export const STATE_GITIGNORE = `# deploystate: commit phase.json (the phase every clone and CI follow); the rest is this machine's own.\n*\n!.gitignore\n!${SHARED_STATE_FILE}\n`;

export type SharedState = Pick<MigrationStateFile, 'phase' | 'exclusions' | 'acknowledged' | 'rollback' | 'cutoverLeveldb' | 'cutovers' | 'cutoversRolledBack'>;

export const sharedStateFile = (stateDir: string): string => join(stateDir, SHARED_STATE_FILE);

/** The shared fields of a state, in a stable order (so an unchanged phase writes the same bytes). */
export function sharedPart(state: MigrationStateFile): SharedState & { version: 1 } {
  return {
    version: 1,
    phase: state.phase,
    exclusions: state.exclusions,
    acknowledged: state.acknowledged,
    // Always present, so a teammate's finished rollback or a new cut-over replaces this clone's.
    rollback: state.rollback ?? null,
    cutoverLeveldb: state.cutoverLeveldb ?? null,
    // Always written: their presence says this release wrote the file (json-only-writes.ts).
    cutovers: state.cutovers ?? 0,
    cutoversRolledBack: state.cutoversRolledBack ?? 0,
  };
}

/**
 * A state file's text as JSON.parse reads it, except that an object naming one key twice (a merge
 * resolved by keeping both lines: `"phase": "json-only"` and `"phase": "leveldb-only"`) is refused,
 * never read as its last value. Throws MIGRATION_STATE_INVALID for that, the parser's error otherwise.
 */
export function parseStateText(text: string, file: string, hint: string): unknown {
  // A byte-order mark an editor saved (as network files may start with one) is read past.
  text = withoutByteOrderMark(text);
  const { value, plain, duplicate } = parseLosslessDocument(text, { source: file });
  if (duplicate) {
    const { key, pointer, position } = duplicate;
    throw new StateError(
      ErrorCodes.MIGRATION_STATE_INVALID,
      `${file}: key ${JSON.stringify(key)} appears twice in ${pointer || 'the top-level object'} (line ${position.line}, column ${position.column}); neither value is taken`,
      { file, position, hint, data: { field: key } },
    );
  }
  // A number no double holds as written (hand-edited) reads as JSON.parse reads it, as before.
  return plain ? value : JSON.parse(text);
}

/** What a state file's failed parse says, where it stopped (`is not valid JSON at line 3, column 7`), as a network file's says. */
export function notJson(error: unknown): string {
  if (!isStateError(error) || error.position === undefined) return 'is not valid JSON';
  const { line, column } = error.position;
  return /nest deeper/.test(error.message) ? `nests deeper than the reader takes (line ${line}, column ${column})` : `is not valid JSON at line ${line}, column ${column}`;
}

/** The parse's position, for the error that reports it. */
export const placeOf = (error: unknown): { position?: { line: number; column: number } } =>
  isStateError(error) && error.position !== undefined ? { position: { line: error.position.line, column: error.position.column } } : {};

/** The committed phase file, or null when there is none yet (a state from before it, or a fresh project). */
export async function readSharedState(files: StateFiles): Promise<Record<string, unknown> | null> {
  const file = sharedStateFile(files.stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return null;
    // A folder in its place (a checkout gone wrong) is named, with what to do; other causes by the system's message.
    const why = code === 'EISDIR' ? 'it is a folder, not a file' : (error as Error).message;
    throw new StateError(ErrorCodes.MIGRATION_STATE_INVALID, `${file}: cannot be read: ${why}`, {
      file,
      cause: error,
      hint:
        code === 'EISDIR'
          ? `move the folder away, then restore the file from git (\`git checkout -- ${SHARED_STATE_FILE}\` in the state folder)`
          : 'restore it from git (`git log -p` on it shows what the team committed)',
    });
  }
  const hint = 'resolve it to the phase the team is in (see `git log -p` on it), then run status';
  let parsed: unknown;
  try {
    parsed = parseStateText(text, file, hint);
  } catch (error) {
    if (isStateError(error, ErrorCodes.MIGRATION_STATE_INVALID)) throw error;
    throw new StateError(ErrorCodes.MIGRATION_STATE_INVALID, `${file}: ${notJson(error)} (a git merge conflict?)`, { file, cause: error, hint, ...placeOf(error) });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || (parsed as { version?: unknown }).version !== 1)
    throw new StateError(ErrorCodes.MIGRATION_STATE_INVALID, `${file}: not a version 1 phase file`, {
      file,
      hint: 'restore it from git (`git log -p` on it shows what the team committed)',
      data: { field: 'version' },
    });
  const { version: _version, ...shared } = parsed as Record<string, unknown>;
  return assertPhaseFile(shared, file);
}

/**
 * Writes the committed phase file only when its content changes: a verify leaves it byte-identical,
 * and does not create it while the shared part is the initial one (which a missing file reads as).
 */
export async function writeSharedState(files: StateFiles, state: MigrationStateFile, options: { create?: boolean } = {}): Promise<void> {
  const file = sharedStateFile(files.stateDir);
  const read = await readFile(file, 'utf8').catch(() => null);
  const part: Partial<ReturnType<typeof sharedPart>> = sharedPart(state);
  // A phase file from before the counts keeps its bytes while no cut-over was counted: a command
  // that changes nothing shared (verify) must leave the committed file as it is.
  if (read !== null && part.cutovers === 0 && part.cutoversRolledBack === 0 && !/"cutovers"\s*:/.test(read)) {
    delete part.cutovers;
    delete part.cutoversRolledBack;
  }
  const text = `${JSON.stringify(part, null, 2)}\n`;
  if (read === null && !options.create && isInitialShared(state)) return;
  // The committed file's indent, line ends and byte-order mark stay, so git shows only the phase change.
  const next = keepingFileStyle(read, text);
  if (read !== next) await writeFileDurable(file, next);
  await ensureStateGitignore(files.stateDir);
}

/** The shared part of a state no command has changed yet: what a missing phase file reads as. */
export const isInitialShared = (state: MigrationStateFile): boolean =>
  state.phase === 'leveldb-only' &&
  state.exclusions.length === 0 &&
  state.acknowledged.length === 0 &&
  (state.rollback ?? null) === null &&
  (state.cutoverLeveldb ?? null) === null &&
  (state.cutovers ?? 0) === 0;

/**
 * What a read-only command leaves in a state folder that has no `.gitignore` yet (before `init`):
 * one that ignores everything, itself included, so `git status` stays empty. `init`, and the first
 * command that writes the phase file, replace it with STATE_GITIGNORE.
 */
export const LOCAL_STATE_GITIGNORE = `# deploystate: this machine's own files; \`deploystate init\` replaces this with the committed .gitignore.\n*\n`;

async function writeGitignoreIfMissing(stateDir: string, text: string): Promise<boolean> {
  try {
    await writeFile(join(stateDir, '.gitignore'), text, { flag: 'wx' });
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Writes `<stateDir>/.gitignore` that commits the phase file, when it is missing or is the local
 * one a read-only command left (any other is the user's to change); true when written.
 */
export async function ensureStateGitignore(stateDir: string): Promise<boolean> {
  const file = join(stateDir, '.gitignore');
  if ((await readFile(file, 'utf8').catch(() => null)) === LOCAL_STATE_GITIGNORE) {
    await writeFileDurable(file, STATE_GITIGNORE);
    return true;
  }
  return writeGitignoreIfMissing(stateDir, STATE_GITIGNORE);
}

/** Keeps what a read-only command wrote in the state folder out of git, and the `.gitignore` too (read-only commands commit nothing). */
export async function ensureLocalStateGitignore(stateDir: string): Promise<boolean> {
  return writeGitignoreIfMissing(stateDir, LOCAL_STATE_GITIGNORE);
}

/** Writes the shared phase file from the current state when there is none yet (init: so it is committed from the start). */
export async function ensureSharedState(files: StateFiles, state: MigrationStateFile): Promise<boolean> {
  if ((await readFile(sharedStateFile(files.stateDir), 'utf8').catch(() => null)) !== null) return false;
  await writeSharedState(files, state, { create: true });
  return true;
}
