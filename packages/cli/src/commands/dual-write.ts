// `deploystate dual-write enable|disable|verify`: Phase 2 of the runbook. enable and disable change
// the phase (committed, read by every deploy script), so they ask first; a phase that is already the
// target is a success that changes nothing ("already in dual-write", exit 0).
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { confirmIfAllowed, withMigration } from '../migration.js';
import { renderReadiness } from '../render.js';
import { commitLines } from '../commit-hint.js';

const ACTIONS = ['enable', 'disable', 'verify'] as const;
type Action = (typeof ACTIONS)[number];

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const action = String(args[0]) as Action;
  if (!ACTIONS.includes(action)) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `dual-write ${action}: expected one of ${ACTIONS.join(', ')}`);
  }
  const p = ctx.out.paint;
  await withMigration(ctx, async (migration) => {
    if (action === 'verify') {
      const result = await migration.verifyDualWrite();
      if (!result.ready) ctx.fail('CHECK_FAILED', 'dual-write check failed', { failed: result.checks.filter((c) => !c.ok).map((c) => c.name) });
      ctx.out.result(result, () =>
        renderReadiness(result, p, 'dual-write verified: both stores reachable and writable', 'dual-write check failed'),
      );
      return;
    }
    const before = await migration.status();
    const target = action === 'enable' ? 'dual-write' : 'leveldb-only';
    if (before.phase === target) {
      ctx.out.result({ phase: before.phase, reads: before.reads, writes: before.writes, changed: false }, () => [
        p.green(`✔ already in ${target}; nothing changed`),
        `reads ${before.reads}, writes ${before.writes.join(' then ')}`,
      ]);
      return;
    }
    await confirmIfAllowed(ctx, migration, `dual-write ${action}`, `dual-write ${action}`, () => [
      action === 'enable'
        ? `switch phase ${before.phase} -> dual-write: deploy scripts write LevelDB, then the JSON files in ${before.paths.deployments}`
        : `switch phase ${before.phase} -> leveldb-only: deploy scripts stop writing the JSON files`,
      'record the phase in the state folder (deploy scripts follow it on their next write)',
    ]);
    if (action === 'enable') await migration.enableDualWrite();
    else await migration.disableDualWrite();
    const status = await migration.status();
    const commit = await commitLines(ctx);
    ctx.out.result({ phase: status.phase, reads: status.reads, writes: status.writes, changed: true }, () => [
      p.green(p.bold(`✔ dual-write ${action}d: phase ${status.phase}`)),
      `reads ${status.reads}, writes ${status.writes.join(' then ')}`,
      ...(action === 'enable' ? ['next: `deploystate dual-write verify`, then `deploystate migrate`'] : []),
      ...commit,
    ]);
  });
}
