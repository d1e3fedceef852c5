// Opening the migration for a command: first make sure there is something to open, so that a run
// in an empty folder says what it looked for and how to get a sample, instead of a raw ENOENT.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Migration } from '@deploystate/migrator';
import type { Context } from './context.js';

/** The state folder in use: the option, the config, or the migrator's default beside cwd. */
export function stateDirOf(ctx: Context): string {
  return ctx.paths.stateDir ?? resolve(ctx.cwd, '.deploystate');
}

/** Throws STORE_NOT_FOUND (exit 4) when there is neither a LevelDB folder nor a migration state. */
export function requireStore(ctx: Context): void {
  const stateFile = join(stateDirOf(ctx), 'state.json');
  if (existsSync(ctx.paths.leveldb) || existsSync(stateFile) || existsSync(join(stateDirOf(ctx), 'phase.json'))) return;
  throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no LevelDB store at ${ctx.paths.leveldb} and no migration state at ${stateFile}`, {
    file: ctx.paths.leveldb,
    hint: 'run it where ./leveldb is, pass --leveldb <path> (or "leveldb" in deploystate.config.json), or create a sample: `deploystate demo` then `cd deploystate-demo`',
  });
}

export async function openMigration(ctx: Context): Promise<Migration> {
  requireStore(ctx);
  const { Migration: MigrationClass } = await import('@deploystate/migrator');
  return MigrationClass.open(ctx.migrationOptions());
}

/** Releases whatever the migration holds (LevelDB handles close on their own when idle). */
export async function closeMigration(migration: Migration): Promise<void> {
  const closable = migration as unknown as { close?: () => Promise<void> };
  if (typeof closable.close === 'function') await closable.close();
}

/** Runs `fn` with an open migration and closes it afterwards, even on failure. */
export async function withMigration<T>(ctx: Context, fn: (migration: Migration) => Promise<T>): Promise<T> {
  const migration = await openMigration(ctx);
  try {
    return await fn(migration);
  } finally {
    await closeMigration(migration);
  }
}

/**
 * Asks before a step, but only once the phase allows it and its gates are open (`status.next`): an
 * operator is not asked about a step that is then refused. The phase's refusal is thrown here
 * (TRANSITION_REFUSED, as the migrator would); a closed gate is left to the migrator, which refuses
 * on the same facts before it changes anything.
 */
export async function confirmIfAllowed(
  ctx: Context,
  migration: Migration,
  command: string,
  action: string,
  plan: (status: Awaited<ReturnType<Migration['status']>>) => string[],
): Promise<void> {
  const status = await migration.status();
  const next = status.next.find((n) => n.command === command);
  if (next === undefined) {
    // Loaded already (a Migration is open): imported here so the commands that never open one stay light.
    const { allowedCommandsHint } = await import('@deploystate/migrator');
    throw new StateError(ErrorCodes.TRANSITION_REFUSED, `${command} is not allowed in ${status.phase}`, {
      hint: allowedCommandsHint(status.phase),
    });
  }
  // A closed gate: the migrator decides on the same facts status shows, so the step is refused there,
  // unasked and with its own code (GATE_FAILED, FOREIGN_OVERWRITE). Writes still in flight are the
  // exception: the migrator waits for them (bounded) where status does not, so that step is asked.
  if (!next.ready && next.gate !== 'writes settled since verify') return;
  await ctx.confirm(action, plan(status));
}
