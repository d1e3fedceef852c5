// `deploystate cutover`: json-primary -> json-only, behind the verify (and optional soak) gates.
import { ErrorCodes, isStateError, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { wholeNumberOption } from '../number-option.js';
import { withMigration } from '../migration.js';
import { verdict } from '../render.js';
import { commitLines } from '../commit-hint.js';
import { listOption } from './migrate.js';
import { chainLines, chainOptions } from './verify-chain.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const acknowledge = listOption(options.acknowledge);
  const dryRun = options.dryRun === true;
  let soak: { count: number; intervalMs: number } | undefined;
  if (options.soak !== undefined) {
    const count = wholeNumberOption(options.soak, '--soak') as number;
    const intervalMs = wholeNumberOption(options.soakInterval, '--soak-interval', 0) ?? 1000;
    soak = { count, intervalMs };
  }
  const chain = options.chain === true ? await chainOptions(ctx, options) : undefined;
  const p = ctx.out.paint;
  await withMigration(ctx, async (migration) => {
    const before = await migration.status();
    // Cut over already: the dry run answers as the cut-over itself does (nothing to check, nothing to change).
    if (before.phase === 'json-only') {
      ctx.out.result({ phase: before.phase, changed: false }, () =>
        p.green(dryRun ? '✔ already in json-only; a cutover would change nothing' : '✔ already in json-only; nothing changed'),
      );
      return;
    }
    if (!dryRun) {
      await ctx.confirm('cutover', [
        `switch phase ${before.phase} -> json-only: deploy scripts read and write JSON only (${before.paths.deployments})`,
        `first check the gates: a fresh clean verify${soak ? `, ${soak.count} clean verifies ${soak.intervalMs}ms apart` : ''}${acknowledge.length > 0 ? `, acknowledged: ${acknowledge.join(', ')}` : ''}`,
        `leave LevelDB at ${before.paths.leveldb} as it is (but for writes a killed script left half done, which it completes there first), so \`deploystate rollback\` can come back`,
      ]);
    }
    const result = await migration
      .cutover({ acknowledge, dryRun, ...(soak !== undefined && { soak }), ...(chain !== undefined && { chain }) })
      .catch((error: unknown) => {
        if (isStateError(error, ErrorCodes.GATE_FAILED) && /acknowledg/i.test(error.message)) {
          throw new StateError(error.code, error.message, {
            ...(error.file !== undefined && { file: error.file }),
            hint: acknowledgeHint(error.message, acknowledge, error.data?.['acknowledge']),
            ...(error.data !== undefined && { data: error.data }),
            cause: error,
          });
        }
        throw error;
      });
    const after = await migration.status();
    const commit = dryRun ? [] : await commitLines(ctx);
    const chainText = result.chain ? [p.bold('Chain verification (--chain)'), ...(await chainLines(result.chain))] : [];
    ctx.out.result({ ...result, phase: after.phase, changed: !dryRun }, () => [
      ...chainText,
      ...(result.completed.length > 0
        ? [`completed in LevelDB first (a script was killed between its JSON and LevelDB writes): ${result.completed.join(', ')}`]
        : []),
      `verify clean (${result.verify.evidence.leveldb.count} records, digest ${result.verify.evidence.json.digest.slice(0, 16)}…)${result.soakVerifies > 0 ? `; soak: ${result.soakVerifies} clean verifies` : ''}${result.acknowledged.length > 0 ? `; ${result.acknowledged.length} findings acknowledged` : ''}`,
      verdict(
        true,
        p,
        dryRun ? `pre-cut-over validation passed: every gate is met (phase still ${after.phase})` : `cut over: phase ${after.phase}`,
        '',
      ),
      ...(dryRun
        ? [`next: \`deploystate rollback --ready\`, then \`${cutoverCommand(acknowledge, chain !== undefined)}\``]
        : ['next: `deploystate status --expect json-only --probe`, then `deploystate report`']),
      ...commit,
    ]);
  });
}

/** The cut-over to run after a dry run: the same acknowledgements (and --chain), or its gate fails again. */
function cutoverCommand(acknowledge: string[], chain: boolean): string {
  return ['deploystate cutover', ...acknowledge.map((a) => `--acknowledge ${a}`), ...(chain ? ['--chain'] : [])].join(' ');
}

/**
 * What to pass after the acknowledgement gate failed: every finding code the gate listed
 * ("CODE key, CODE key, ..."), on top of what was already acknowledged, so the printed flags are
 * enough. Falls back to the general form when the list cannot be read.
 */
export function acknowledgeHint(message: string, acknowledged: string[], fromGate?: unknown): string {
  const list = message.slice(message.lastIndexOf('):') + 2);
  // The gate's own list of codes (data.acknowledge); else those the message names.
  const codes = Array.isArray(fromGate)
    ? fromGate.filter((c): c is string => typeof c === 'string')
    : [...new Set([...list.matchAll(/(?:^|[,;])\s*([A-Z][A-Z0-9_]+)\b/g)].map((m) => m[1] as string))];
  const review = 'review them (`deploystate validate`), then accept them with --acknowledge <code|key> (repeatable)';
  if (codes.length === 0) return review;
  const flags = [...new Set([...acknowledged, ...codes])].map((c) => `--acknowledge ${c}`).join(' ');
  return `${review}; to accept every finding listed, see the gates pass with \`deploystate cutover --dry-run ${flags}\`, then run it without --dry-run`;
}
