// `deploystate dual-write enable|disable|verify`: Phase 2 of the runbook.
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { renderReadiness } from '../render.js';

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
      if (!result.ready) ctx.exitCode = 1;
      ctx.out.result(result, () =>
        renderReadiness(result, p, 'dual-write verified: both stores reachable and writable', 'dual-write check failed'),
      );
      return;
    }
    if (action === 'enable') await migration.enableDualWrite();
    else await migration.disableDualWrite();
    const status = await migration.status();
    ctx.out.result({ ok: true, phase: status.phase, reads: status.reads, writes: status.writes }, () => [
      p.green(p.bold(`✔ dual-write ${action}d: phase ${status.phase}`)),
      `reads ${status.reads}, writes ${status.writes.join(' then ')}`,
      ...(action === 'enable' ? ['next: `deploystate dual-write verify`, then `deploystate migrate`'] : []),
    ]);
  });
}
