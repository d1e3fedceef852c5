// What the migration's commands know of the LevelDB outbox: its depth and oldest entry (read from
// whatever LevelDB store the command uses: a snapshot for read-only commands), the last drain
// failure, and the drain a gate runs while it holds LevelDB.
import type { LevelDbStore } from '@deploystate/backend-leveldb';
import type { MigrationContext } from './context.js';
import { coownedContext, OverwriteWatch } from './coowned.js';
import { drainOutbox, readOutboxFailure, type DrainResult, type OutboxFailure } from './outbox-drainer.js';

export interface OutboxStatus {
  /** Writes LevelDB committed that JSON has not received yet. */
  depth: number;
  /** The oldest of them. */
  oldest: { key: string; time: string; pid: number } | null;
  /** The last drain failure not followed by a drain that emptied the outbox. */
  lastError: OutboxFailure | null;
}

/** The keys with undrained writes: pending, never differences. */
export async function pendingKeys(store: LevelDbStore): Promise<Set<string>> {
  return new Set((await store.readOutbox()).map((e) => e.key));
}

export async function outboxStatus(ctx: Pick<MigrationContext, 'files'>, store: LevelDbStore | undefined): Promise<OutboxStatus> {
  const entries = store ? await store.readOutbox().catch(() => []) : [];
  const first = entries[0];
  return {
    depth: entries.length,
    oldest: first ? { key: first.key, time: first.time, pid: first.pid } : null,
    lastError: await readOutboxFailure(ctx.files),
  };
}

/**
 * Drains the outbox from the command's own process (the caller holds the gate fence): a gate
 * switches the phase only once JSON holds every write LevelDB acknowledged. What the drain's check
 * finds before it writes a file comes back in `overwrites`, for the gate to stop on.
 */
export function drainForGate(
  ctx: MigrationContext,
  watch = new OverwriteWatch(coownedContext(ctx), () => undefined),
): Promise<DrainResult> {
  return drainOutbox(
    {
      files: ctx.files,
      journal: ctx.journal,
      leveldb: () => ctx.leveldb(),
      json: () => ctx.json(),
      watch,
    },
    { fenced: true },
  );
}
