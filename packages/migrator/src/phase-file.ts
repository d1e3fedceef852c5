// The committed phase file checked field by field under its own name: people edit it and git merges
// it, and a phase the state cannot be in (json-only without the cut-over's LevelDB record) would
// send deploy scripts to a side that lacks records, so it is refused, never acted on.
import { ErrorCodes, StateError } from '@deploystate/core';
import { PHASES } from './machine.js';
import type { MigrationPhase } from './types.js';

const RESTORE = 'restore it from git (`git log -p` on it shows what the team committed)';
const SET_BY_COMMANDS = 'the phase is set by commands (dual-write enable, promote, cutover, rollback), never by hand';

function invalidField(file: string, field: string, problem: string, hint: string): StateError {
  return new StateError(ErrorCodes.MIGRATION_STATE_INVALID, `${file}: "${field}" ${problem}`, {
    file,
    hint,
    data: { field },
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function assertRollback(value: unknown, file: string): void {
  if (value === null) return;
  // `from` and `carriedBack` decide where reads go; the rest, when present, must have its type.
  const optional = (v: unknown, type: 'string' | 'boolean'): boolean => v === undefined || typeof v === type;
  const ok =
    isObject(value) &&
    PHASES.includes(value.from as MigrationPhase) &&
    typeof value.carriedBack === 'boolean' &&
    optional(value.startedAt, 'string') &&
    optional(value.emergency, 'boolean') &&
    optional(value.completedAt, 'string');
  if (!ok) throw invalidField(file, 'rollback', 'must be null or a rollback record (from, carriedBack, startedAt, emergency)', `${RESTORE}; ${SET_BY_COMMANDS}`);
}

function assertCutoverLeveldb(value: unknown, file: string): void {
  if (value === null) return;
  const ok =
    isObject(value) &&
    typeof value.at === 'string' &&
    Number.isSafeInteger(value.count) &&
    typeof value.digest === 'string' &&
    isObject(value.records) &&
    Object.values(value.records).every((d) => typeof d === 'string');
  if (!ok) throw invalidField(file, 'cutoverLeveldb', 'must be null or the LevelDB record of a cut-over (at, count, digest, records)', RESTORE);
}

/**
 * Checks a parsed phase file (version 1 already checked) and returns its shared fields; throws
 * MIGRATION_STATE_INVALID naming the file and the field (`data.field`).
 */
export function assertPhaseFile(shared: Record<string, unknown>, file: string): Record<string, unknown> {
  // Each field may be missing (a phase file from before it was shared); present, it must be right.
  const has = (field: string): boolean => Object.hasOwn(shared, field);
  if (has('phase') && !PHASES.includes(shared.phase as MigrationPhase))
    throw invalidField(file, 'phase', `is ${JSON.stringify(shared.phase)}, not one of ${PHASES.join(', ')}`, `${RESTORE}; ${SET_BY_COMMANDS}`);
  for (const field of ['exclusions', 'acknowledged'] as const) {
    if (has(field) && !isStringArray(shared[field]))
      throw invalidField(file, field, 'must be an array of strings', `${RESTORE}; \`deploystate ${field === 'exclusions' ? 'exclude' : 'acknowledge'}\` records them`);
  }
  if (has('rollback')) assertRollback(shared.rollback, file);
  for (const field of ['cutovers', 'cutoversRolledBack'] as const) {
    if (has(field) && !(Number.isSafeInteger(shared[field]) && (shared[field] as number) >= 0))
      throw invalidField(file, field, 'must be a whole number, 0 or more', `${RESTORE}; ${SET_BY_COMMANDS}`);
  }
  if (has('cutoverLeveldb')) assertCutoverLeveldb(shared.cutoverLeveldb, file);
  if (shared.phase === 'json-only' && (shared.cutoverLeveldb ?? null) === null)
    throw invalidField(
      file,
      'phase',
      'is json-only, but the file holds no cutoverLeveldb, which every cut-over records: deploy scripts would read JSON that may lack records',
      `${RESTORE}; only \`deploystate cutover\` moves to json-only`,
    );
  if (shared.phase === 'rolling-back' && (!isObject(shared.rollback) || shared.rollback.completedAt !== undefined))
    throw invalidField(file, 'phase', 'is rolling-back, but the file holds no rollback in progress', `${RESTORE}; only \`deploystate rollback\` moves to rolling-back`);
  return shared;
}
