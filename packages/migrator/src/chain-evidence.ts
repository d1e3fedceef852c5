// The migration's side of chain verification: which records to check (one side of the store),
// and the last result kept beside the state as an artifact for the report. It sits on the
// migration's floor, above `chain/` (which knows nothing of the migration), and never changes the
// migration state or any record.
import { join } from 'node:path';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import type { ChainCheckOptions, ChainVerificationReport, VerifyChainOptions } from './chain/types.js';
import { verifyChain } from './chain/verify-chain.js';
import { readCommandRecord, usable, type UnreadableRecord } from './command-records.js';
import type { MigrationContext } from './context.js';
import { routeFor, type Side } from './routing.js';
import { readState } from './state.js';
import type { MigrationPaths } from './types.js';

export const CHAIN_VERIFICATION_FILE = 'chain-verification.json';

export const chainVerificationFile = (stateDir: string): string => join(stateDir, CHAIN_VERIFICATION_FILE);

/** Keeps the last chain verification for the report (endpoints are already redacted in it). */
export async function recordChainVerification(stateDir: string, report: ChainVerificationReport): Promise<void> {
  await writeFileDurable(chainVerificationFile(stateDir), `${JSON.stringify(report, null, 2)}\n`);
}

const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Whether a parsed chain-verification.json has the fields the report reads. */
function isChainVerification(value: unknown): value is ChainVerificationReport {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<keyof ChainVerificationReport, unknown>>;
  const counts = v.counts as Record<string, unknown> | null | undefined;
  return (
    typeof v.at === 'string' &&
    typeof v.ok === 'boolean' &&
    Array.isArray(v.chains) &&
    typeof counts === 'object' &&
    counts !== null &&
    ['ok', 'warn', 'error', 'notChecked'].every((k) => isCount(counts[k]))
  );
}

/**
 * The last chain verification as the report reads it: null when none ran; `{ unreadable }` naming
 * the file when it is there but damaged (it is evidence only: `verify-chain` writes it again).
 */
export function readChainVerificationRecord(stateDir: string): Promise<ChainVerificationReport | UnreadableRecord | null> {
  return readCommandRecord(chainVerificationFile(stateDir), isChainVerification);
}

/** The last chain verification, or null when none ran or its file cannot be read. */
export async function readLastChainVerification(stateDir: string): Promise<ChainVerificationReport | null> {
  return usable(await readChainVerificationRecord(stateDir)) ?? null;
}

/** The side deploy scripts read from now, which is what `verify-chain` checks by default. */
export async function readSide(ctx: MigrationContext): Promise<Side> {
  return routeFor(await readState(ctx.files), process.env).reads;
}

/** Verifies the given records (analysis already holds them) and records the result beside the state. */
export async function verifyChainRecords(
  ctx: MigrationContext,
  input: Parameters<typeof verifyChain>[0],
  source: ChainVerificationReport['source'],
  options: ChainCheckOptions & Pick<VerifyChainOptions, 'exclude'>,
): Promise<ChainVerificationReport> {
  const report = await verifyChain(input, { ...options, registry: ctx.registry, now: ctx.now });
  if (source !== undefined) report.source = source;
  await recordChainVerification(ctx.files.stateDir, report);
  return report;
}

/** Verifies one side's records (read-only on it; default the side deploy scripts read now). */
export async function verifyChainOnSide(
  ctx: MigrationContext,
  paths: MigrationPaths,
  options: ChainCheckOptions & { from?: Side },
): Promise<ChainVerificationReport> {
  const state = await readState(ctx.files);
  const side = options.from ?? routeFor(state, process.env).reads;
  // The context's stores: for read-only commands a snapshot copy and a JSON store that never writes.
  const store = side === 'leveldb' ? await ctx.leveldb() : await ctx.json();
  const { from: _from, ...check } = options;
  // What the migration leaves behind (exclusions, and the unmigratable keys they cover), left out as
  // verify leaves it out: a dev-chain record has no contract on any chain to check.
  const exclude = new Set([...state.exclusions, ...state.unmigratable]);
  return verifyChainRecords(ctx, store, side, { ...check, ...(exclude.size > 0 && { exclude }) });
}
