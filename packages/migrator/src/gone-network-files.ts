// A network file gone whole (deleted, a checkout or branch without it) while LevelDB holds records
// of its chain. From json-primary or json-only the carry-back makes LevelDB equal to the JSON files,
// and would read the file's absence as every one of those records deleted: the rollback refuses it
// (STORE_NOT_FOUND naming the file), emergency or not, unless the operator acknowledges the file as
// gone on purpose (`rollback({ acknowledge: ['basesepolia.json'] })`, `rollback --acknowledge`).
import { lstat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { errnoCode, ErrorCodes, StateError, tryParseKey } from '@deploystate/core';
import type { MigrationContext } from './context.js';
import type { MigrationPhase } from './types.js';

/** A chain's network file that is not there, and how many of its records the rollback would delete. */
export interface GoneNetworkFile {
  file: string;
  chainId: number;
  /** LevelDB records of the chain the carry-back would delete (exclusions and unmigratable keys left out). */
  records: number;
  /** Whether the operator acknowledged it as gone on purpose (`acknowledge`). */
  acknowledged: boolean;
}

/**
 * Whether `file` is not there at all (a file that is there but unreadable is the JSON side's own
 * check): nothing at the path, or a file where its folder should be (a wrong --deployments).
 */
async function isGone(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return false;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return true;
    throw error;
  }
}

/** Whether `acknowledge` names this file: by its file name, its path, or its chain id. */
function acknowledges(acknowledge: readonly string[], file: string, chainId: number): boolean {
  return acknowledge.some((a) => a === basename(file) || resolve(a) === file || a === String(chainId));
}

/**
 * An acknowledgement names a network file (`<name>.json`, or its path) or a chain id: anything else,
 * a typo, is INVALID_ARGUMENT before anything runs (a guard an acknowledgement silently missed would
 * refuse, but one that matched the wrong thing must never be possible).
 */
export function assertGoneAcknowledgeable(acknowledge: readonly string[]): void {
  for (const a of acknowledge) {
    if (/^(0|[1-9][0-9]{0,15})$/.test(a) || a.endsWith('.json')) continue;
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--acknowledge ${a} names no network file (<network>.json) or chain id`, {
      hint: 'name the file the rollback refused for, as it names it (`basesepolia.json`), or its chain id',
    });
  }
}

/** Counts `key` for its chain, unless it is skipped or no record key (which the carry-back never deletes). */
function countKey(counts: Map<number, number>, key: string, skip: ReadonlySet<string>): void {
  if (skip.has(key)) return;
  const parsed = tryParseKey(key);
  if (parsed) counts.set(parsed.chainId, (counts.get(parsed.chainId) ?? 0) + 1);
}

/** The chains among `counts` whose network file is gone, each marked acknowledged or not. */
async function goneOf(ctx: MigrationContext, counts: ReadonlyMap<number, number>, acknowledge: readonly string[]): Promise<GoneNetworkFile[]> {
  const gone: GoneNetworkFile[] = [];
  for (const [chainId, records] of [...counts].sort((a, b) => a[0] - b[0])) {
    const file = join(ctx.files.deployments, ctx.registry.fileName(chainId));
    if (await isGone(file)) gone.push({ file, chainId, records, acknowledged: acknowledges(acknowledge, file, chainId) });
  }
  return gone;
}

/**
 * Every chain LevelDB holds records of (keys in `skip` left out) whose network file is gone: one
 * pass over LevelDB's keys (values not decoded), one lstat per chain.
 */
export async function goneNetworkFiles(ctx: MigrationContext, skip: ReadonlySet<string>, acknowledge: readonly string[] = []): Promise<GoneNetworkFile[]> {
  const counts = new Map<number, number>();
  for await (const rows of (await ctx.leveldb()).iterateRaw()) for (const [key] of rows) countKey(counts, key, skip);
  return goneOf(ctx, counts, acknowledge);
}

/** The chains a carry-back plan deletes records of whose network file is gone (checked under the fence, on the plan itself). */
export function goneInPlan(ctx: MigrationContext, deletes: readonly string[], acknowledge: readonly string[] = []): Promise<GoneNetworkFile[]> {
  const counts = new Map<number, number>();
  for (const key of deletes) countKey(counts, key, new Set());
  return goneOf(ctx, counts, acknowledge);
}

/** One line per file: its name, chain and the records the rollback would delete. */
export function describeGone(gone: readonly GoneNetworkFile[]): string {
  return gone.map((g) => `${basename(g.file)} (chain ${g.chainId}: LevelDB holds ${g.records} record(s) of it)`).join(', ');
}

/** STORE_NOT_FOUND naming each network file gone that was not acknowledged; nothing when all were. */
export function assertNoneGone(gone: readonly GoneNetworkFile[], from: MigrationPhase, what = 'nothing was changed'): void {
  const refused = gone.filter((g) => !g.acknowledged);
  const first = refused[0];
  if (first === undefined) return;
  const names = refused.map((g) => basename(g.file));
  throw new StateError(
    ErrorCodes.STORE_NOT_FOUND,
    `network file(s) missing: ${describeGone(refused)}; in ${from} the JSON files are the complete copy, and rollback makes LevelDB equal to them, so it would delete those records; ${what}`,
    {
      file: first.file,
      hint: `bring the file back (\`git status\` shows whether it was deleted; \`deploystate restore ${basename(first.file, '.json')}\` restores it from a backup), or, if those records are meant to go, run rollback again with ${names.map((n) => `--acknowledge ${n}`).join(' ')}`,
      data: { missingFiles: refused.map(({ file, chainId, records }) => ({ file, chainId, records })) },
    },
  );
}
