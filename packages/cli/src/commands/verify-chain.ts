// `deploystate verify-chain`: the records of one side checked against the chains themselves
// (chain id, code at proxy and implementation, EIP-1967 slot, runtime hash). Read-only on the
// stores; exit 1 on any error-level result; ENDPOINT_UNAVAILABLE when no endpoint answers.
// Also the `--chain` option that analyze, verify and cutover share.
import { ErrorCodes, StateError } from '@deploystate/core';
import type { ChainCheckOptions, ChainVerificationReport } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { wholeNumberOption } from '../number-option.js';
import { verdict } from '../render.js';
import { listOption } from './migrate.js';

/** Endpoints from --rpc, the environment and the config file, plus the request limits. */
export async function chainOptions(ctx: Context, options: Record<string, unknown>): Promise<ChainCheckOptions> {
  const { resolveEndpoints } = await import('@deploystate/migrator');
  const rpc = resolveEndpoints({
    flags: listOption(options.rpc),
    config: ctx.config.rpc,
    ...(ctx.config.file !== undefined && { configFile: ctx.config.file }),
    env: process.env,
  });
  if (Object.keys(rpc).length === 0) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'no RPC endpoint configured: nothing can be checked against a chain', {
      hint: 'pass --rpc <chainId>=<url> (repeatable), set "rpc": { "<chainId>": "<url>" } in deploystate.config.json, or RPC_URL_<chainId>',
    });
  }
  const timeoutMs = wholeNumberOption(options.timeout, '--timeout');
  const retries = wholeNumberOption(options.retries, '--retries', 0);
  const concurrency = wholeNumberOption(options.concurrency, '--concurrency');
  return {
    rpc,
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(retries !== undefined && { retries }),
    ...(concurrency !== undefined && { concurrency }),
  };
}

/** Text lines for a chain verification inside another command's output (or its own). */
export async function chainLines(report: ChainVerificationReport): Promise<string[]> {
  const { formatChainReport } = await import('@deploystate/migrator');
  return formatChainReport(report);
}

/** Nothing was verified when no configured endpoint answered: that is an error, not a pass. */
export async function requireReachable(report: ChainVerificationReport): Promise<void> {
  const { assertSomeEndpointReachable } = await import('@deploystate/migrator');
  assertSomeEndpointReachable(report);
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const from = options.from === undefined ? undefined : String(options.from);
  if (from !== undefined && from !== 'leveldb' && from !== 'json')
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--from ${from}: expected leveldb or json`);
  const chain = await chainOptions(ctx, options);
  const report = await withMigration(ctx, (migration) => migration.verifyChain({ ...chain, ...(from !== undefined && { from }) }));
  await requireReachable(report);
  if (!report.ok) ctx.exitCode = 1;
  const p = ctx.out.paint;
  const lines = await chainLines(report);
  ctx.out.result(report, () => [
    p.bold(`Chain verification of the ${report.source ?? 'given'} records`),
    ...lines,
    verdict(
      report.ok,
      p,
      'chain verification passed (no errors)',
      report.counts.error > 0
        ? `chain verification found ${report.counts.error} record(s) with errors`
        : `chain verification could not read ${report.unreadable?.length ?? 0} file(s): their records were not checked`,
    ),
  ]);
}
