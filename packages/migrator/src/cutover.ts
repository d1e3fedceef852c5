// The bodies of cut-over (gates read from fresh snapshots, then the switch to json-only under the
// fence) and of fold-in, which carries LevelDB's later changes into the JSON side.
import { openSnapshot } from '@deploystate/backend-leveldb';
import {
  compareKeys,
  describeAcknowledgement,
  ErrorCodes,
  findAcknowledgement,
  FindingCodes,
  nearestKey,
  parseKey,
  sleep,
  StateError,
  tryParseKey,
  type Finding,
} from '@deploystate/core';
import { verifyChainOnSide } from './chain-evidence.js';
import type { ChainVerificationReport } from './chain/types.js';
import type { CommandContext } from './command-context.js';
import { admit, differingKeys, gateFinding, transition, verifyAndRecord } from './command-gates.js';
import { snapshotWait, type MigrationContext } from './context.js';
import { assertFilesIntact, coownedContext } from './coowned.js';
import { foldIn, recordLevelDb, type FoldInReport } from './cutover-leveldb.js';
import { recheckBeforeFence, recheckUnderFence } from './cutover-recheck.js';
import { createStateStore } from './factory.js';
import { completeInterruptedWrites } from './interrupted-writes.js';
import { underGateFence } from './fence.js';
import { allowedCommandsHint, assertRunGate } from './machine.js';
import { readState, updateState } from './state.js';
import type { CutoverOptions, LevelDbAtCutover, MigrationPhase, VerifyReport } from './types.js';
import { findingId, validateFiles } from './verify.js';

export interface CutoverReport {
  dryRun: boolean;
  verify: VerifyReport;
  soakVerifies: number;
  /** Findings in the JSON files that LevelDB already had, and were acknowledged. */
  acknowledged: Finding[];
  phase: MigrationPhase;
  /** The chain verification the gate passed, when asked. */
  chain?: ChainVerificationReport;
  /** Keys whose write was cut off between JSON and LevelDB and that the cut-over wrote to LevelDB first. */
  completed: string[];
}

export async function runCutover(c: CommandContext, options: CutoverOptions): Promise<CutoverReport> {
  const started = c.clock();
  assertAcknowledgeable(options.acknowledge ?? []);
  await admit(c, 'cutover');
  // [coowned] First: a file another program rewrote must stop the gate before anything is written
  // (the check takes what a cut-off write put in JSON as the store's own).
  await assertFilesIntact(coownedContext(c.ctx), 'cutover');
  // [json-primary] Writes cut off between JSON and LevelDB are completed, as a gate drains.
  const completed = options.dryRun ? [] : await completeInterruptedWrites(c, 'cutover');
  // Every read of the gates goes to a fresh snapshot copy of LevelDB: cut-over changes the phase, and
  // in LevelDB only what the writes it completed would have. LevelDB as deploy scripts leave it is
  // recorded from the last verify's snapshot, so a later change to it (a clone that wrote before it
  // pulled) is seen.
  let last = await c.withReadCtx((ctx) => freshVerify(c, ctx, 'fresh clean verify', undefined, !options.dryRun));
  const acknowledged = await c.withReadCtx((ctx) => cutoverFindings(c, ctx, options.acknowledge ?? []));
  let soakVerifies = 0;
  if (options.soak) {
    const count = Math.max(0, Math.floor(options.soak.count));
    for (let i = 0; i < count; i++) {
      await sleep(Math.max(0, options.soak.intervalMs));
      last = await c.withReadCtx((ctx) => freshVerify(c, ctx, 'soak', { round: i + 1, of: count }, !options.dryRun));
      soakVerifies++;
    }
  }
  // The JSON side is what deploy scripts will read alone after cut-over: it must match the chains.
  const chain = options.chain
    ? await c.withReadCtx((ctx) => verifyChainOnSide(ctx, c.paths, { ...options.chain!, from: 'json' }))
    : undefined;
  if (chain)
    assertRunGate(
      'chain verification',
      chain,
      c.files.state,
      'see each problem with `deploystate verify-chain --from json` (the last result is kept in chain-verification.json in the state folder)',
    );
  const verify = last.verify;
  if (!options.dryRun) {
    const ackList = [...[...new Set(options.acknowledge ?? [])].sort(compareKeys), ...c.acknowledgements.map(describeAcknowledgement)];
    // The keys written since the last verify's quiet point (and those it found pending) are
    // re-checked before the fence, then only those written since under it, with the switch: no
    // write lands between the check and the switch, and writers wait for that, not for a whole verify.
    const recorded = last.leveldb as LevelDbAtCutover;
    const first = await recheckBeforeFence(c, verify, recorded);
    await c.journal.lastSeq(); // counted before the fence, so under it only the lines since are read
    await underGateFence(c.files, 'cutover', async () => {
      const leveldbAtCutover = await recheckUnderFence(c, verify, recorded, first);
      await transition(
        c,
        'cutover',
        started,
        (s) => {
          s.acknowledged = ackList;
          s.cutoverEvidence = verify.evidence;
          s.cutoverLeveldb = leveldbAtCutover;
          // After every cut-over counted or rolled back (one made by an older release counts too).
          s.cutovers = Math.max(s.cutovers ?? 0, s.cutoversRolledBack ?? 0) + 1;
        },
        `-> json-only after ${1 + soakVerifies} clean verify(s)`,
      );
    });
  }
  return {
    dryRun: options.dryRun ?? false,
    verify,
    soakVerifies,
    acknowledged,
    phase: options.dryRun ? 'json-primary' : 'json-only',
    ...(chain && { chain }),
    completed,
  };
}

/** A verify on a fresh snapshot that must be clean, and LevelDB as that snapshot holds it (when the switch follows). */
async function freshVerify(
  c: CommandContext,
  ctx: MigrationContext,
  gate: 'fresh clean verify' | 'soak',
  round: { round: number; of: number } | undefined,
  recordLeveldb: boolean,
): Promise<{ verify: VerifyReport; leveldb: LevelDbAtCutover | undefined }> {
  const verify = await verifyAndRecord(c, { ctx });
  if (gate === 'soak') assertRunGate('soak', { ...(round as { round: number; of: number }), evidence: verify.evidence }, c.files.state);
  else
    assertRunGate('fresh clean verify', verify.evidence, c.files.state, verify.next, {
      differingKeys: differingKeys(verify),
      schemaErrors: verify.schema.errors.map(gateFinding),
    });
  return { verify, leveldb: recordLeveldb ? await recordLevelDb(ctx, await ctx.leveldb()) : undefined };
}

/**
 * Each acknowledgement names a finding code, a record key or a file: a typo (`DEV_CHIAN`) matched
 * nothing and was recorded as it was, silently. INVALID_ARGUMENT before anything is read.
 */
function assertAcknowledgeable(acknowledge: readonly string[]): void {
  const codes = Object.keys(FindingCodes);
  for (const ack of acknowledge) {
    if (ack in FindingCodes || tryParseKey(ack) !== null || ack.includes('/') || ack.endsWith('.json')) continue;
    const meant = nearestKey(ack, codes);
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--acknowledge ${ack} names no finding code, record key (<chainId>-<name>) or file${meant ? `; did you mean ${meant}?` : ''}`, {
      hint: '`deploystate cutover --dry-run` lists the findings to acknowledge, by code and key',
    });
  }
}

/**
 * Findings in the JSON files must be ones analysis also finds in LevelDB, and each of those
 * (errors and warnings) must be acknowledged by code or key.
 */
async function cutoverFindings(c: CommandContext, ctx: MigrationContext, acknowledge: readonly string[]): Promise<Finding[]> {
  const state = await readState(c.files);
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  const relevant = (f: Finding): boolean => f.severity !== 'info' && !(f.key !== undefined && skip.has(f.key));
  const leveldb = await ctx.leveldb();
  const json = await ctx.json();
  const before = (await leveldb.checkIntegrity()).findings.filter(relevant);
  const after = [...(await json.checkIntegrity()).findings, ...(await validateFiles(ctx)).errors].filter(relevant);
  const known = new Set(before.map(findingId));
  const keysWithFindings = new Set(before.map((f) => f.key).filter((k): k is string => k !== undefined));
  const devChains = new Set(before.filter((f) => f.code === 'DEV_CHAIN').map((f) => f.chainId));
  // A record's problem can show as another code in the file (a schema violation for an invalid
  // address): it is the same problem when LevelDB has a finding on that key.
  const preExisting = (f: Finding): boolean =>
    known.has(findingId(f)) ||
    (f.key !== undefined && keysWithFindings.has(f.key)) ||
    (f.code === 'DEV_CHAIN_FILE' && devChains.has(f.chainId));
  const fresh = after.filter((f) => !preExisting(f));
  assertRunGate('no new findings', { fresh, unacknowledged: [] }, c.files.deployments, undefined, { findings: fresh.map(gateFinding) });
  const acks = new Set(acknowledge);
  // A recorded acknowledgement names the file, key, code and the record's digest as it is in JSON.
  const recorded = async (f: Finding): Promise<boolean> => {
    if (f.key === undefined || c.acknowledgements.length === 0) return false;
    const { chainId, contractName } = parseKey(f.key);
    const record = await json.get(chainId, contractName).catch(() => null);
    const ack = findAcknowledgement(c.acknowledgements, f, record, f.file ?? json.fileFor(chainId));
    if (ack) f.acknowledged = true;
    return ack !== undefined;
  };
  const unacknowledged: Finding[] = [];
  for (const f of after) {
    if (acks.has(f.code) || (f.key !== undefined && acks.has(f.key)) || (f.file !== undefined && acks.has(f.file))) continue;
    if (!(await recorded(f))) unacknowledged.push(f);
  }
  assertRunGate('acknowledged findings', { fresh: [], unacknowledged }, c.files.deployments, undefined, {
    findings: unacknowledged.map(gateFinding),
    acknowledge: [...new Set(unacknowledged.map((f) => f.code))].sort(),
  });
  return after;
}

/**
 * Writes LevelDB's changes since cut-over into the JSON side (json-only), from this LevelDB or
 * another copy of the store (`from`, a LevelDB folder): only keys JSON still holds as at cut-over;
 * keys changed on both sides are listed as conflicts and left alone. Each write is journalled.
 */
export async function runFoldIn(c: CommandContext, options: { from?: string; dryRun?: boolean }): Promise<FoldInReport> {
  const state = await readState(c.files);
  if (state.phase !== 'json-only')
    throw new StateError(ErrorCodes.TRANSITION_REFUSED, `fold-in is not allowed in ${state.phase} (only in json-only)`, {
      file: c.files.state,
      hint: allowedCommandsHint(state.phase),
    });
  if (!state.cutoverLeveldb)
    throw new StateError(ErrorCodes.GATE_FAILED, 'gate "LevelDB recorded at cut-over" not satisfied: this cut-over predates the record', {
      file: c.files.state,
      hint: "nothing to compare LevelDB with; compare a teammate's export by hand",
    });
  const from = options.from ?? c.paths.leveldb;
  const source = await openSnapshot(from, { registry: c.registry, ...snapshotWait(c.ctx) });
  const writer = createStateStore({ ...c.paths, registry: c.registry });
  try {
    await writer.open();
    const report = await foldIn(state, source.store, await c.ctx.json(), writer, {
      from,
      ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
    });
    // This LevelDB's changes are in JSON now (or named as conflicts): record it as the new baseline.
    if (!report.dryRun && report.conflicts.length === 0 && from === c.paths.leveldb) {
      const now = await recordLevelDb(c.ctx, source.store);
      await updateState(c.files, (s) => {
        s.cutoverLeveldb = { ...now, at: s.cutoverLeveldb?.at ?? now.at };
      });
    }
    return report;
  } finally {
    await writer.close();
    await source.dispose();
  }
}
