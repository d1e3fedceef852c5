// The bodies of the read-only commands status, analyze and check: they read a snapshot and never
// change state or data (analyze leaves its summary beside the state, never in it).
import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { isStateError, recordKey } from '@deploystate/core';
import { cutOffJsonOnlyWrites } from './cut-off-writes.js';
import { crossCheckInventory, crossCheckLegacy, scanStore, type RoundTripCodec } from './analysis.js';
import { verifyChainRecords } from './chain-evidence.js';
import type { ChainCheckOptions } from './chain/types.js';
import type { CommandContext } from './command-context.js';
import { openWrite } from './command-gates.js';
import { isoNow } from './context.js';
import { carryBackLeftBehind, leftBehindSince } from './rollback.js';
import { checkFiles, coownedContext } from './coowned.js';
import { describeGone, goneNetworkFiles } from './gone-network-files.js';
import { levelDbSinceCutover, type LevelDbSinceCutover } from './cutover-leveldb.js';
import { proposeDecisions } from './decisions.js';
import { scanDirectWrites } from './direct-writes.js';
import { summarizeJournal } from './journal-queries.js';
import { nextCommands, type GateFacts } from './machine.js';
import { describeRunner, rollbackRunner } from './migration-runner.js';
import { stillNotCarriedBack } from './not-carried-back.js';
import { outboxStatus } from './outbox-status.js';
import { ReadOnlySides } from './read-only.js';
import { routeFor } from './routing.js';
import { readState } from './state.js';
import type { AnalysisReport, MigrationPhase, MigrationStateFile, MigrationStatus } from './types.js';
import { unreadableNetworkFiles } from './unreadable.js';

export type CheckReport = Pick<
  AnalysisReport,
  'source' | 'total' | 'findings' | 'numericAudit' | 'roundTrip' | 'unmigratable' | 'digest' | 'ok'
>;

export interface AnalyzeOptions {
  /** Kept for compatibility: analysis always reads a consistent snapshot copy of the folder. */
  snapshot?: boolean;
  /** JSON file `{ "<network or chainId>": number | string[] }`. */
  expectedInventory?: string;
  /** Also check the records against the chains (the result is `report.chain`). */
  chain?: ChainCheckOptions;
  /** Test seam: the codec the round-trip proof uses (core's lossless codec by default). */
  roundTripCodec?: RoundTripCodec;
  /** Folders to scan for direct writes to deployments/*.json (default: scripts, deploy, tasks beside it). */
  scripts?: readonly string[];
}

export async function status(c: CommandContext): Promise<MigrationStatus> {
  const state = await readState(c.files);
  const read = await summarizeJournal(c.journal, 0);
  const route = routeFor(state, process.env);
  const since = state.lastVerify?.journalSeq ?? 0;
  // A write journalled `diverged` since the last clean verify (which clears the mark) and this
  // migration's start, which state.json does not show (a full disk refused the mark; see
  // markedDiverged): diverged all the same, until a clean verify.
  const { lastDiverged: unmarked, drainFailures } = read;
  const clearedUpTo = Math.max(state.lastVerify?.clean ? since : 0, state.dualWriteSinceSeq ?? 0);
  const divergedInJournal = !state.diverged && unmarked !== undefined && unmarked.seq > clearedUpTo && state.phase !== 'leveldb-only';
  // The same facts the commands decide on, read without waiting for writers in flight.
  // The outbox lives where LevelDB is written first; a snapshot shows what is still to drain.
  // The snapshot is status's own, removed when read: status may run beside a command on the same
  // Migration, and it is a copy of the whole LevelDB folder.
  // [teams] In the same snapshot: a teammate's rollback, pulled, may have left this clone's
  // JSON-side writes out of LevelDB (only while this clone's state still holds its migration).
  // A LevelDB that cannot be opened where writes go first is what every deploy script hits: said.
  let leveldbUnreadable: MigrationStatus['leveldbUnreadable'];
  let leftBehindUnknown: MigrationStatus['leftBehindUnknown'];
  // The phase a rollback would carry back from (a rollback stopped part-way: the one it left).
  const rollbackFrom = state.phase === 'rolling-back' ? (state.rollback?.from ?? 'json-only') : state.phase;
  const fromJson = JSON_AUTHORITATIVE.includes(rollbackFrom);
  const { outbox, leftBehind, cutOff, notCarriedBack, gone } = await c.withReadCtx(async (read) => ({
    outbox: await outboxStatus(
      c.ctx,
      ['dual-write', 'leveldb-only', 'rolling-back'].includes(state.phase)
        ? await read.leveldb().catch((error: unknown) => {
            leveldbUnreadable = problemOf(error);
            return undefined;
          })
        : undefined,
      drainFailures,
    ),
    leftBehind:
      (await leftBehindSince(c.ctx, state)) !== null
        ? // Needs LevelDB: when it cannot be opened, status says that and that this is unknown, never fails.
          await carryBackLeftBehind(read, { dryRun: true }).then(
            (report) => report.leftBehind,
            (error: unknown) => {
              leftBehindUnknown = problemOf(error);
              return undefined;
            },
          )
        : undefined,
    // json-only: writes a dead process left without an outcome (other phases' gates complete them).
    cutOff: state.phase === 'json-only' ? await cutOffJsonOnlyWrites(c.journal, state.cutoverEvidence?.journalSeq ?? 0, read) : [],
    // leveldb-only after a rollback that could not read part of JSON: what LevelDB still lacks of it.
    notCarriedBack:
      state.phase === 'leveldb-only' && state.rollback?.notCarriedBack?.length
        ? await read.leveldb().then(
            (leveldb) => stillNotCarriedBack(state.rollback?.notCarriedBack ?? [], c.files.deployments, leveldb, new Set([...state.exclusions, ...state.unmigratable])),
            // LevelDB that cannot be opened is said above (leveldbUnreadable, from the outbox's read).
            () => undefined,
          )
        : undefined,
    // Network files gone whole while LevelDB holds their chain's records: what the rollback refuses
    // on (STORE_NOT_FOUND). LevelDB that cannot be opened is said elsewhere; this is then unknown.
    gone: fromJson
      ? await goneNetworkFiles(read, new Set([...state.exclusions, ...state.unmigratable])).catch(() => [])
      : [],
  }));
  const facts: GateFacts = {
    // The gates read a mark state.json could not record as they read a recorded one.
    state: divergedInJournal ? { ...state, diverged: true, divergedBy: { ...unmarked, at: '' } } : state,
    openSinceVerify: read.open.filter((e) => e.seq > since).map(openWrite),
    outboxError: outbox.lastError,
  };
  const leveldbSinceCutover = await sinceCutover(c, state);
  // [coowned] Records other code's rewrites dropped from the network files (read-only: nothing recorded).
  const foreignOverwrites = (await checkFiles(coownedContext(c.ctx)).catch(() => undefined))?.findings ?? [];
  // Files every script's read or write of their chain fails on (a pull's conflict markers, say): said, not hidden behind a probe.
  const unreadable = JSON_PHASES.includes(state.phase) ? await unreadableNetworkFiles(c.files.deployments, c.registry) : [];
  const next = nextCommands(facts);
  // A rollback running now (its process holds the migration lock): another one would stop LOCKED on it.
  const runner = state.phase === 'rolling-back' ? rollbackRunner(c.files) : undefined;
  // What makes the commands refuse beyond the state table's gates, as `rollback --ready` checks it:
  // the rollback stops on lost records only where it carries JSON back (json-primary, json-only).
  const blocks = (command: string): string[] => [
    ...(foreignOverwrites.length > 0 && (command !== 'rollback' || fromJson)
      ? ['records lost from a network file (FOREIGN_OVERWRITE): run `deploystate repair-files`']
      : []),
    ...(command === 'rollback' && runner !== undefined
      ? [`a rollback is running now (${describeRunner(runner)}); it finishes this one (a paused one once resumed)`]
      : []),
    ...(command === 'rollback' && gone.length > 0
      ? [
          `network file(s) missing while LevelDB holds their chain's records (STORE_NOT_FOUND): ${describeGone(gone)}; bring them back, or \`deploystate rollback ${gone.map((g) => `--acknowledge ${basename(g.file)}`).join(' ')}\` if those records are meant to go`,
        ]
      : []),
  ];
  for (const n of next) {
    if (!['promote', 'cutover', 'rollback'].includes(n.command)) continue;
    const reasons = blocks(n.command);
    if (reasons.length > 0) Object.assign(n, { ready: false, blockedBy: [...(n.blockedBy ? [n.blockedBy] : []), ...reasons].join('; ') });
  }
  return {
    ...(leveldbSinceCutover && { leveldbSinceCutover }),
    paths: c.paths,
    phase: state.phase,
    diverged: state.diverged || divergedInJournal,
    ...(divergedInJournal && { divergedUnrecorded: unmarked }),
    reads: route.reads,
    writes: route.writes,
    next,
    // leveldb-only: a copy or verify is no evidence of anything (the next enable clears them); a
    // disable or rollback cut off after phase.json changed leaves them in state.json, not shown.
    state: state.phase === 'leveldb-only' ? { ...state, copy: null, lastVerify: null } : state,
    journal: { entries: read.entries, lastSeq: read.lastSeq, torn: read.torn },
    outbox,
    ...(leveldbUnreadable && { leveldbUnreadable }),
    ...(leftBehindUnknown && { leftBehindUnknown }),
    foreignOverwrites,
    ...(gone.length > 0 && { missingNetworkFiles: gone.map(({ file, chainId, records }) => ({ file, chainId, records })) }),
    ...(runner !== undefined && { rollbackRunning: runner }),
    ...(unreadable.length > 0 && { unreadableFiles: unreadable }),
    ...(cutOff.length > 0 && { cutOffWrites: cutOff }),
    ...(leftBehind && (leftBehind.carriedBack.length > 0 || leftBehind.deletes.length > 0) && { leftBehind }),
    ...(notCarriedBack && { notCarriedBack }),
  };
}

/** The phases where a network file is read or written (dual-write by its drain). */
const JSON_PHASES: readonly MigrationPhase[] = ['dual-write', 'json-primary', 'json-only'];
/** The phases a rollback carries JSON back from, making LevelDB equal to it. */
const JSON_AUTHORITATIVE: readonly MigrationPhase[] = ['json-primary', 'json-only'];

function problemOf(error: unknown): NonNullable<MigrationStatus['leveldbUnreadable']> {
  // The snapshot status reads could not be made in the temp folder: that folder is the problem, not LevelDB.
  const tempFolder = isStateError(error) ? error.data?.tempFolder : undefined;
  return {
    code: isStateError(error) ? error.code : 'UNKNOWN',
    message: error instanceof Error ? error.message : String(error),
    ...(isStateError(error) && error.hint !== undefined && { hint: error.hint }),
    ...(typeof tempFolder === 'string' && { tempFolder }),
  };
}

/** In json-only: what changed in LevelDB since the cut-over recorded it (read from a snapshot); null when nothing was recorded. */
export async function sinceCutover(c: CommandContext, state: MigrationStateFile): Promise<LevelDbSinceCutover | null> {
  if (state.phase !== 'json-only' || !state.cutoverLeveldb) return null;
  const sides = new ReadOnlySides(c.paths, c.registry, c.ctx.lockWait);
  try {
    return await levelDbSinceCutover(state, await sides.leveldb());
  } finally {
    await sides.close();
  }
}

export async function analyze(c: CommandContext, options: AnalyzeOptions): Promise<AnalysisReport> {
  const started = c.clock();
  const state = await readState(c.files);
  // Always a snapshot copy: opening the live folder would rewrite files a team commits.
  const store = await c.readCtx.leveldb();
  const scan = await scanStore(store, c.registry, {
    exclude: state.exclusions,
    keepRecords: true,
    ...(options.roundTripCodec && { roundTripCodec: options.roundTripCodec }),
  });
  const crossCheck = await crossCheckLegacy(c.paths.deployments, c.registry, scan.records);
  if (options.expectedInventory) crossCheck.push(...(await crossCheckInventory(options.expectedInventory, c.registry, scan.chains)));
  const report: AnalysisReport = {
    source: { path: c.paths.leveldb, snapshot: true },
    total: scan.total,
    chains: scan.chains,
    findings: scan.findings,
    numericAudit: scan.numericAudit,
    roundTrip: scan.roundTrip,
    unmigratable: scan.unmigratable,
    crossCheck,
    digest: scan.digest,
    ok: scan.unmigratable.every((k) => state.exclusions.includes(k)) && scan.roundTrip.failures.length === 0,
  };
  const byKey = new Map([...scan.records.values()].flat().map((r) => [recordKey(r.chainId, r.contractName), r]));
  report.proposals = proposeDecisions(scan.findings, {
    registry: c.registry,
    excluded: state.exclusions,
    acknowledged: c.acknowledgements,
    recordOf: (key) => byKey.get(key),
  });
  report.directWrites = await scanDirectWrites(c.paths.deployments, options.scripts); // [coowned]
  if (options.chain) report.chain = await verifyChainRecords(c.ctx, [...scan.records.values()].flat(), 'leveldb', options.chain);
  await recordAnalysis(c, report, started);
  return report;
}

// The report's Phase 1 line; an artifact beside the state, never the state itself.
async function recordAnalysis(c: CommandContext, report: AnalysisReport, started: number): Promise<void> {
  const summary = {
    at: isoNow(c.ctx),
    durationMs: c.clock() - started,
    total: report.total,
    chains: report.chains.map((ch) => ({ chainId: ch.chainId, network: ch.network, count: ch.count })),
    findings: report.findings.length,
    unmigratable: report.unmigratable,
    ok: report.ok,
  };
  await mkdir(c.paths.stateDir, { recursive: true });
  await writeFileDurable(c.files.analysis, `${JSON.stringify(summary, null, 2)}\n`);
}

export async function check(c: CommandContext): Promise<CheckReport> {
  const state = await readState(c.files);
  const store = await c.readCtx.leveldb();
  const scan = await scanStore(store, c.registry, { exclude: state.exclusions });
  return {
    source: { path: c.paths.leveldb, snapshot: true },
    total: scan.total,
    findings: scan.findings,
    numericAudit: scan.numericAudit,
    roundTrip: scan.roundTrip,
    unmigratable: scan.unmigratable,
    digest: scan.digest,
    ok: scan.unmigratable.every((k) => state.exclusions.includes(k)) && scan.roundTrip.failures.length === 0,
  };
}
