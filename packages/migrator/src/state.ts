// The persisted migration state (state.json): read with validation, written crash-safely, and
// updated read-modify-write under a short lock so the factory and the CLI never lose an update.
import { readFile, rename, stat } from 'node:fs/promises';
import { ErrorCodes, StateError, isStateError, warn } from '@deploystate/core';
import { assertReplaceable, writeFileDurable } from '@deploystate/backend-json/atomic';
import { withLock } from '@deploystate/backend-json/lock';
import { assertJsonOnlyWritesCarriedBack } from './json-only-writes.js';
import { PHASES } from './machine.js';
import type { StateFiles } from './paths.js';
import { whereGitHas } from './read-only-git.js';
import { isInitialShared, notJson, parseStateText, placeOf, readSharedState, sharedPart, sharedStateFile, writeSharedState } from './shared-state.js';
import type { MigrationPhase, MigrationStateFile, PhaseTiming } from './types.js';

export function initialState(now: Date = new Date()): MigrationStateFile {
  return {
    version: 1,
    phase: 'leveldb-only',
    diverged: false,
    exclusions: [],
    unmigratable: [],
    dualWriteSinceSeq: null,
    copy: null,
    lastVerify: null,
    acknowledged: [],
    timings: [],
    updatedAt: now.toISOString(),
  };
}

const STATE_HINT = 'restore it from version control or a backup, or remove it only if no migration has started';

function invalid(file: string, problem: string, cause?: unknown): StateError {
  return new StateError(ErrorCodes.MIGRATION_STATE_INVALID, `${file}: ${problem}`, {
    file,
    hint: STATE_HINT,
    // Where a parse stopped, as a network file's CORRUPTED says.
    ...(cause !== undefined && { cause, ...placeOf(cause) }),
  });
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Checks the shape of a parsed state file; throws MIGRATION_STATE_INVALID naming the file. */
export function assertStateFile(value: unknown, file: string): MigrationStateFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(file, 'not a JSON object');
  const s = value as Record<string, unknown>;
  if (s.version !== 1) throw invalid(file, `unsupported version ${JSON.stringify(s.version)}`);
  if (!PHASES.includes(s.phase as MigrationPhase)) throw invalid(file, `unknown phase ${JSON.stringify(s.phase)}`);
  if (typeof s.diverged !== 'boolean') throw invalid(file, 'diverged must be a boolean');
  for (const field of ['exclusions', 'unmigratable', 'acknowledged'] as const) {
    if (!isStringArray(s[field])) throw invalid(file, `${field} must be an array of strings`);
  }
  if (s.dualWriteSinceSeq !== null && !Number.isSafeInteger(s.dualWriteSinceSeq))
    throw invalid(file, 'dualWriteSinceSeq must be an integer or null');
  if (s.copy !== null && (typeof s.copy !== 'object' || !Array.isArray((s.copy as { chainsDone?: unknown }).chainsDone)))
    throw invalid(file, 'copy must be null or hold chainsDone');
  if (!Array.isArray(s.timings)) throw invalid(file, 'timings must be an array');
  if (s.lastVerify !== null && typeof s.lastVerify !== 'object') throw invalid(file, 'lastVerify must be an object or null');
  return value as MigrationStateFile;
}

/**
 * This machine's state (state.json) with the team's shared part (phase.json, committed) laid over
 * it: a phase pulled through git wins over the phase this clone last wrote.
 */
export async function readState(files: StateFiles): Promise<MigrationStateFile> {
  return (await readStateAndRouteSource(files)).state;
}

/**
 * The state as readState() reads it, and whether its route (the phase and the rollback's progress)
 * came from the shared phase file alone: then no change to state.json can change where reads go.
 */
export async function readStateAndRouteSource(files: StateFiles): Promise<{ state: MigrationStateFile; routeFromShared: boolean }> {
  const [read, shared] = await Promise.all([readLocalState(files).catch((error: unknown) => error as Error), readSharedState(files)]);
  const routed = shared !== null && Object.hasOwn(shared, 'phase') && Object.hasOwn(shared, 'rollback');
  if (read instanceof Error) {
    // A state.json no command can read must not stop every run: phase.json holds the phase, and
    // what is lost is this machine's evidence (a rollback replays the whole journal, gates need a
    // fresh copy and verify). The next state write keeps the file aside.
    if (!routed || !isStateError(read, ErrorCodes.MIGRATION_STATE_INVALID)) throw read;
    warnUnreadableOnce(files.state, read);
    const state = assertStateFile({ ...initialState(), ...shared }, files.state);
    assertJsonOnlyWritesCarriedBack(files, state, Object.hasOwn(shared, 'cutovers'));
    return { state, routeFromShared: true };
  }
  const local = read;
  if (!shared) return { state: await withoutPhaseFile(files, local), routeFromShared: false };
  // Each part is checked under its own file's name (readSharedState checks the phase file); the
  // merged state can only fail on what state.json holds.
  const state = assertStateFile({ ...local, ...shared }, files.state);
  // [teams] A phase git moved back past json-only writes no rollback carried back is never followed.
  assertJsonOnlyWritesCarriedBack(files, state, Object.hasOwn(shared, 'cutovers'));
  return { state, routeFromShared: routed };
}

/**
 * The state where the phase file is absent. Every step that changes the shared part (a phase past
 * leveldb-only, exclusions...) writes it, so one absent while this clone's state.json holds a
 * changed shared part was removed. In a git work tree, git tells how: a checkout of a commit from
 * before the migration (or of a branch from before it), where a commit elsewhere holds it, has that
 * commit's phase (none: leveldb-only, as a fresh clone of it reads), followed with a warning; one
 * deleted in the working tree (git's index holds it) or never committed (git clean, say) cannot
 * tell which phase is meant: MIGRATION_STATE_INVALID naming it, never a route guessed from this
 * clone's old phase. Outside git, state.json's phase stands (no other clone shares this one's).
 */
async function withoutPhaseFile(files: StateFiles, local: MigrationStateFile): Promise<MigrationStateFile> {
  if (isInitialShared(local)) return local;
  const file = sharedStateFile(files.stateDir);
  const where = await whereGitHas(file);
  if (where === undefined) return local;
  if (where === 'history') {
    warnCheckoutWithoutPhaseOnce(file, local.phase);
    return { ...local, ...sharedPart(initialState()), version: 1 };
  }
  throw new StateError(
    ErrorCodes.MIGRATION_STATE_INVALID,
    `${file} is missing while this clone's state.json says the migration is ${local.phase} (${where === 'index' ? 'git still tracks it: deleted in the working tree' : 'no commit holds it: removed before it was ever committed'}); which phase deploy scripts follow cannot be told`,
    {
      file,
      hint:
        where === 'index'
          ? `restore it: git checkout -- ${file}`
          : 'restore phase.json from a backup (its phase is the one state.json names) and commit it, so every clone follows one phase',
      data: { localPhase: local.phase },
    },
  );
}

/** Warnings said once per process for each file and kind: a read that repeats says nothing new. */
const warned = new Set<string>();

function warnOnce(kind: string, file: string, message: string, hint: string): void {
  if (warned.has(`${kind}\0${file}`)) return;
  warned.add(`${kind}\0${file}`);
  warn({ code: ErrorCodes.MIGRATION_STATE_INVALID, message, hint, file });
}

function warnCheckoutWithoutPhaseOnce(file: string, localPhase: MigrationPhase): void {
  warnOnce(
    'checkout',
    file,
    `this checkout has no ${file} (a commit from before the migration began): its phase is leveldb-only, as for a fresh clone of it; this clone's state.json (${localPhase}) is not followed here`,
    'check out a commit with phase.json to follow the migration again; if phase.json was never committed and git clean removed it, restore it from a backup',
  );
}

function warnUnreadableOnce(file: string, error: StateError): void {
  warnOnce(
    'unreadable',
    file,
    `${error.message}; the phase is taken from phase.json, this machine's copy and verify evidence is lost`,
    'nothing to do for deploy scripts; the next step that records state keeps the file aside as state.json.unreadable-<time>, and promote or cutover need a fresh verify (and copy)',
  );
}

/**
 * A state.json that reads but does not parse as a state, renamed aside before a new one replaces
 * it (never overwritten). One that cannot be read at all is left for the write to report.
 */
async function keepUnreadableAside(files: StateFiles): Promise<void> {
  const text = await readFile(files.state, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  try {
    parseLocalState(text, files.state);
  } catch {
    await rename(files.state, `${files.state}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  }
}

/** This clone's own state.json alone, without the shared phase file laid over it. */
export async function readLocalState(files: StateFiles): Promise<MigrationStateFile> {
  let text: string;
  try {
    text = await readFile(files.state, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return initialState();
    throw invalid(files.state, `cannot be read: ${(error as Error).message}`, error);
  }
  return parseLocalState(text, files.state);
}

/** state.json's text as a state, as every reader takes it (and as a write decides to keep it aside). */
function parseLocalState(text: string, file: string): MigrationStateFile {
  let parsed: unknown;
  try {
    parsed = parseStateText(text, file, STATE_HINT);
  } catch (error) {
    if (isStateError(error, ErrorCodes.MIGRATION_STATE_INVALID)) throw error;
    throw invalid(file, notJson(error), error);
  }
  return assertStateFile(parsed, file);
}

export async function stateExists(files: StateFiles): Promise<boolean> {
  const exists = (file: string): Promise<boolean> =>
    stat(file).then(
      () => true,
      () => false,
    );
  return (await exists(files.state)) || (await exists(sharedStateFile(files.stateDir)));
}

export async function writeState(files: StateFiles, state: MigrationStateFile): Promise<void> {
  state.updatedAt = new Date().toISOString();
  // The shared file first: a crash between the two leaves the team's phase ahead, which wins on read.
  const shared = sharedStateFile(files.stateDir);
  // Neither is written where the other would be refused (a link or folder at its path: NOT_A_FILE).
  await assertReplaceable(shared);
  await assertReplaceable(files.state);
  const before = await readFile(shared, 'utf8').catch(() => null);
  await writeSharedState(files, state);
  try {
    await keepUnreadableAside(files);
    await writeFileDurable(files.state, `${JSON.stringify(state, null, 2)}\n`);
  } catch (error) {
    const after = await readFile(shared, 'utf8').catch(() => null);
    if (after === before || !isStateError(error)) throw error;
    // The phase file changed and wins on read: whatever the step changed there is in effect. Said
    // so, never "run it again" (the step would find itself done, with its failure unexplained).
    throw new StateError(error.code, `${error.message}; the migration's phase is ${state.phase} all the same: ${shared} was written, and it decides the phase`, {
      file: files.state,
      cause: error,
      hint: `the step took effect (deploy scripts follow ${state.phase}); fix the cause above, then run \`deploystate status\`, which shows it`,
      data: { phaseWritten: true },
    });
  }
}

/** Read-modify-write under the short state lock; returns the state as written. */
export async function updateState(
  files: StateFiles,
  change: (state: MigrationStateFile) => void | Promise<void>,
): Promise<MigrationStateFile> {
  return withLock(
    files.stateLock,
    async (lock) => {
      const state = await readState(files);
      await change(state);
      lock.assertHeld();
      await writeState(files, state);
      return state;
    },
    { timeoutMs: 10_000, purpose: 'state update' },
  );
}

const MAX_TIMINGS = 500;

export function pushTiming(state: MigrationStateFile, timing: PhaseTiming): void {
  state.timings.push(timing);
  if (state.timings.length > MAX_TIMINGS) state.timings.splice(0, state.timings.length - MAX_TIMINGS);
}

export function timing(phase: string, started: number, status: PhaseTiming['status'], detail?: string): PhaseTiming {
  const ended = Date.now();
  return {
    phase,
    status,
    startedAt: new Date(started).toISOString(),
    endedAt: new Date(ended).toISOString(),
    durationMs: ended - started,
    ...(detail !== undefined && { detail }),
  };
}
