// [teams] Writes made in json-only are in JSON alone until a rollback carries them back. A phase
// file that git moves back to a phase reading LevelDB (a revert of the cut-over's commit, a
// checkout of an older phase.json) without that rollback would send deploy scripts to a LevelDB
// that lacks them: a contract they deployed reads as never deployed. The store marks each network
// file it writes in json-only with the cut-over it follows (phase.json counts them), and a phase
// that reads LevelDB is refused while a file holds a cut-over no rollback ended.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_ONLY_STAMP } from '@deploystate/backend-json/state-file';
import { errnoCode, ErrorCodes, StateError } from '@deploystate/core';
import { sharedStateFile } from './shared-state.js';
import type { StateFiles } from './paths.js';
import type { MigrationStateFile } from './types.js';

/** The number of the cut-over the state stands on or last made (1 for a cut-over from before they were counted). */
export function cutoverNumber(state: Pick<MigrationStateFile, 'cutovers' | 'cutoverLeveldb'>): number {
  return state.cutovers ?? (state.cutoverLeveldb ? 1 : 0);
}

/** The top-level field the store gives each network file it writes in this state (json-only only). */
export function jsonOnlyFields(state: MigrationStateFile | undefined): Record<string, number> | undefined {
  return state?.phase === 'json-only' ? { [JSON_ONLY_STAMP]: cutoverNumber(state) } : undefined;
}

// The mark sits after `chainId`, near the top: the head of a file says whether it has one.
const HEAD_BYTES = 4096;
const STAMP_LINE = new RegExp(`^\\s*"${JSON_ONLY_STAMP}"\\s*:\\s*(\\d+)`, 'm');

/** The cut-over a network file's json-only writes follow, or 0 when it has none (or cannot be read: other commands name that). */
function stampOf(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 0;
  }
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const read = readSync(fd, head, 0, HEAD_BYTES, 0);
    const text = head.subarray(0, read).toString('utf8');
    let found = STAMP_LINE.exec(text);
    // A file whose top-level keys before `records` run past the head (a large legacy section first): read whole.
    if (found === null && read === HEAD_BYTES && !text.includes('"records"')) {
      const whole = Buffer.alloc(statSync(file).size);
      found = STAMP_LINE.exec(whole.subarray(0, readSync(fd, whole, 0, whole.length, 0)).toString('utf8'));
    }
    return found ? Number(found[1]) : 0;
  } catch {
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** The latest cut-over any network file in `deployments` says its json-only writes follow (0: none). */
export function latestMark(deployments: string): number {
  return Math.max(0, ...jsonOnlyWritesAfter(deployments, 0).map((b) => b.cutover));
}

/** Network files holding json-only writes of a cut-over after `through`, with that cut-over. */
export function jsonOnlyWritesAfter(deployments: string, through: number): Array<{ file: string; cutover: number }> {
  let names: string[];
  try {
    names = readdirSync(deployments);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
  const out: Array<{ file: string; cutover: number }> = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const file = join(deployments, name);
    const cutover = stampOf(file);
    if (cutover > through) out.push({ file, cutover });
  }
  return out;
}

/**
 * Throws MIGRATION_STATE_INVALID when the state reads LevelDB (leveldb-only, dual-write) while a
 * network file holds json-only writes of a cut-over no rollback ended (see the top of this file).
 * Only where phase.json counts cut-overs (`counted`: every phase.json this release writes does): one
 * an older release wrote last (which leaves the counts out) cannot say which cut-overs a rollback
 * ended, and is followed as before, never refused for a rollback it did.
 */
export function assertJsonOnlyWritesCarriedBack(files: StateFiles, state: MigrationStateFile, counted: boolean): void {
  if (!counted || (state.phase !== 'leveldb-only' && state.phase !== 'dual-write')) return;
  const through = state.cutoversRolledBack ?? 0;
  const behind = jsonOnlyWritesAfter(files.deployments, through);
  if (behind.length === 0) return;
  const phaseFile = sharedStateFile(files.stateDir);
  const last = Math.max(...behind.map((b) => b.cutover));
  const named = behind.length === 1 ? (behind[0] as { file: string }).file : `${(behind[0] as { file: string }).file} and ${behind.length - 1} more`;
  throw new StateError(
    ErrorCodes.MIGRATION_STATE_INVALID,
    `${phaseFile} says ${state.phase}, which reads LevelDB, but ${named} ${behind.length === 1 ? 'holds' : 'hold'} writes made in json-only after cut-over ${last}, which no rollback carried back to LevelDB: git moved the phase back (a revert or checkout of phase.json), and deploy scripts would read those records as never written`,
    {
      file: phaseFile,
      hint: `restore ${phaseFile} as the cut-over left it (\`git log -p -- ${phaseFile}\` shows it; \`git checkout <commit> -- ${phaseFile}\`), then \`deploystate rollback\` carries those writes back to LevelDB`,
      data: { phase: state.phase, cutover: last, cutoversRolledBack: through, files: behind.map((b) => b.file) },
    },
  );
}
