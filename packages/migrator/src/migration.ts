// The migration as the CLI drives it: one method per runbook command. State-changing commands
// hold the migration lock; read-only ones never change state or data (verify records evidence).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { JsonFileStore } from '@deploystate/backend-json';
import { openSnapshot, type LevelDbStore } from '@deploystate/backend-leveldb';
import {
  compareKeys,
  describeAcknowledgement,
  ErrorCodes,
  findAcknowledgement,
  NetworkRegistry,
  parseKey,
  recordKey,
  sleep,
  StateError,
  type Acknowledgement,
  type DeploymentRecord,
  type Finding,
} from '@deploystate/core';
import { crossCheckInventory, crossCheckLegacy, scanStore, type RoundTripCodec } from './analysis.js';
import { jsonStore, levelDbStore } from './backends.js';
import { isoNow, type MigrationContext } from './context.js';
import { bulkCopy, type CopyOptions } from './copy.js';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { probeBackends } from './probe.js';
import { ReadOnlySides } from './read-only.js';
import { ensureSharedState, ensureStateGitignore } from './shared-state.js';
import { foldIn, levelDbSinceCutover, recordLevelDb, type FoldInReport, type LevelDbSinceCutover } from './cutover-leveldb.js';
import { createStateStore } from './factory.js';
import { proposeDecisions } from './decisions.js';
import { Journal, summarizeJournal, waitForOutcomes, type IntentEntry } from './journal.js';
import {
  allowedIn,
  assertMayRun,
  assertRunGate,
  mayRun,
  nextCommands,
  transitionRefused,
  TRANSITIONS,
  type GateFacts,
  type GateName,
  type OpenWrite,
  type TransitionName,
} from './machine.js';
import { withLock } from '@deploystate/backend-json/lock';
import {
  applyRepair,
  assertFilesIntact,
  checkFiles,
  coownedContext,
  moveBaseline,
  planRepair,
  type RepairPlan,
  type RepairReport,
} from './coowned.js';
import { scanDirectWrites } from './direct-writes.js';
import { resolvePaths, stateFiles, type StateFiles } from './paths.js';
import { underGateFence } from './fence.js';
import { drainForGate, outboxStatus } from './outbox-status.js';
import { readOutboxFailure } from './outbox-drainer.js';
import { buildReport, type ReportOptions } from './report.js';
import { listLevelDbBackups, restoreLevelDbFolder, type LevelDbRestoreResult } from './leveldb-backups.js';
import { nothingToRollBack, rollbackReadiness, runRollback } from './rollback.js';
import { routeFor } from './routing.js';
import { pushTiming, readState, timing, updateState } from './state.js';
import type {
  AnalysisReport,
  CopyReport,
  CutoverOptions,
  MigrationOptions,
  MigrationPaths,
  MigrationPhase,
  MigrationReport,
  MigrationStateFile,
  MigrationStatus,
  ReadinessReport,
  RollbackOptions,
  RollbackReport,
  SideComparison,
  VerifyReport,
} from './types.js';
import { compareSides, findingId, unreadableJsonError, validateFiles, verifySides, type CompareOptions } from './verify.js';
import { verifyChainOnSide, verifyChainRecords } from './chain-evidence.js';
import type { ChainCheckOptions, ChainVerificationReport } from './chain/types.js';
import type { Side } from './routing.js';

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

export interface CutoverReport {
  dryRun: boolean;
  verify: VerifyReport;
  soakVerifies: number;
  /** Findings in the JSON files that LevelDB already had, and were acknowledged. */
  acknowledged: Finding[];
  phase: MigrationPhase;
  /** The chain verification the gate passed, when asked. */
  chain?: ChainVerificationReport;
}

const openWrite = (e: IntentEntry): OpenWrite => ({ key: e.key, seq: e.seq });

/** The keys a verify found different, as a gate lists them for machines. */
const differingKeys = (verify: VerifyReport): string[] => [
  ...verify.comparison.onlyLeft.map((e) => e.key),
  ...verify.comparison.onlyRight.map((e) => e.key),
  ...verify.comparison.differing.map((d) => d.key),
];

/** A finding as a gate lists it for machines (error.data.findings in --json). */
const gateFinding = (f: Finding): Record<string, unknown> => ({
  code: f.code,
  severity: f.severity,
  ...(f.key !== undefined && { key: f.key }),
  ...(f.file !== undefined && { file: f.file }),
  message: f.message,
});

export class Migration {
  readonly paths: MigrationPaths;
  private readonly files: StateFiles;
  private readonly registry: NetworkRegistry;
  private readonly journal: Journal;
  private readonly clock: () => number;
  private readonly acknowledgements: Acknowledgement[];
  private leveldbStore: LevelDbStore | undefined;
  private jsonStoreInstance: JsonFileStore | undefined;
  private readOnlySides: ReadOnlySides | undefined;

  private constructor(options: MigrationOptions) {
    this.paths = resolvePaths(options);
    this.files = stateFiles(this.paths);
    this.registry = options.registry ?? new NetworkRegistry();
    this.journal = new Journal(this.files.journal, this.files.journalLock);
    this.clock = options.now ?? Date.now;
    this.acknowledgements = options.acknowledgements ?? [];
  }

  /** Validates the persisted state (MIGRATION_STATE_INVALID naming the file when it is not). */
  static async open(options: MigrationOptions = {}): Promise<Migration> {
    const migration = new Migration(options);
    await readState(migration.files);
    return migration;
  }

  private get ctx(): MigrationContext {
    return {
      files: this.files,
      registry: this.registry,
      journal: this.journal,
      now: this.clock,
      leveldb: async () => {
        this.leveldbStore ??= levelDbStore(this.paths, { registry: this.registry });
        if (this.leveldbStore.status !== 'open') await this.leveldbStore.open();
        return this.leveldbStore;
      },
      json: async () => {
        this.jsonStoreInstance ??= jsonStore(this.paths, { registry: this.registry, create: true });
        if (this.jsonStoreInstance.status !== 'open') await this.jsonStoreInstance.open();
        return this.jsonStoreInstance;
      },
    };
  }

  /** The context of read-only commands: a LevelDB snapshot and a JSON store that never writes. */
  private get readCtx(): MigrationContext {
    const sides = (this.readOnlySides ??= new ReadOnlySides(this.paths, this.registry));
    return { ...this.ctx, leveldb: () => sides.leveldb(), json: () => sides.json() };
  }

  /** Runs `work` on a fresh snapshot context (a gate that reads again must not see an old copy), closed afterwards. */
  private async withReadCtx<T>(work: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    const sides = new ReadOnlySides(this.paths, this.registry);
    try {
      return await work({ ...this.ctx, leveldb: () => sides.leveldb(), json: () => sides.json() });
    } finally {
      await sides.close();
    }
  }

  /** Releases LevelDB and the JSON store; every command calls it when done. */
  async close(): Promise<void> {
    const sides = this.readOnlySides;
    this.readOnlySides = undefined;
    await Promise.all([this.leveldbStore?.close(), this.jsonStoreInstance?.close(), this.journal.close(), sides?.close()]);
    // Whatever a command left in the state folder stays out of git, but for the shared phase file.
    if (existsSync(this.paths.stateDir)) await ensureStateGitignore(this.paths.stateDir);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.close();
    }
  }

  private locked<T>(command: string, work: () => Promise<T>): Promise<T> {
    return this.run(() => withLock(this.files.migrationLock, work, { timeoutMs: 0, purpose: command }));
  }

  private state(): Promise<MigrationStateFile> {
    return readState(this.files);
  }

  // ---- read-only --------------------------------------------------------------------------

  async status(): Promise<MigrationStatus> {
    const state = await this.state();
    const read = await summarizeJournal(this.journal, 0);
    const route = routeFor(state, process.env);
    const since = state.lastVerify?.journalSeq ?? 0;
    // The same facts the commands decide on, read without waiting for writers in flight.
    // The outbox lives where LevelDB is written first; a snapshot shows what is still to drain.
    const outbox = await outboxStatus(
      this.ctx,
      ['dual-write', 'leveldb-only', 'rolling-back'].includes(state.phase) ? await this.readCtx.leveldb().catch(() => undefined) : undefined,
    );
    const facts: GateFacts = {
      state,
      openSinceVerify: read.open.filter((e) => e.seq > since).map(openWrite),
      outboxError: outbox.lastError,
    };
    const leveldbSinceCutover = await this.leveldbSinceCutover(state);
    // [coowned] Records other code's rewrites dropped from the network files (read-only: nothing recorded).
    const foreignOverwrites = (await checkFiles(coownedContext(this.ctx)).catch(() => undefined))?.findings ?? [];
    const next = nextCommands(facts);
    if (foreignOverwrites.length > 0) {
      for (const n of next)
        if (['promote', 'cutover', 'rollback'].includes(n.command))
          Object.assign(n, {
            ready: false,
            blockedBy: 'records lost from a network file (FOREIGN_OVERWRITE): run `deploystate repair-files`',
          });
    }
    return {
      ...(leveldbSinceCutover && { leveldbSinceCutover }),
      paths: this.paths,
      phase: state.phase,
      diverged: state.diverged,
      reads: route.reads,
      writes: route.writes,
      next,
      state,
      journal: { entries: read.entries, lastSeq: read.lastSeq },
      outbox,
      foreignOverwrites,
    };
  }

  /** Writes the committed phase file and the state folder's .gitignore when missing (init); true when written. */
  async initShared(): Promise<boolean> {
    return ensureSharedState(this.files, await this.state());
  }

  /** In json-only: what changed in LevelDB since the cut-over recorded it (read from a snapshot); null when nothing was recorded. */
  private async leveldbSinceCutover(state: MigrationStateFile): Promise<LevelDbSinceCutover | null> {
    if (state.phase !== 'json-only' || !state.cutoverLeveldb) return null;
    const sides = new ReadOnlySides(this.paths, this.registry);
    try {
      return await levelDbSinceCutover(state, await sides.leveldb());
    } finally {
      await sides.close();
    }
  }

  /**
   * The facts `command`'s gates decide on. When every gate that needs no journal passes, writers
   * still in flight after the last verify get a bounded wait to close their writes first.
   */
  private async gateFacts(command: TransitionName): Promise<GateFacts> {
    const state = await this.state();
    const since = state.lastVerify?.journalSeq ?? 0;
    const needsJournal = (TRANSITIONS[command].gates as readonly GateName[]).includes('writes settled since verify');
    const outboxError = await readOutboxFailure(this.files);
    if (!needsJournal) return { state, openSinceVerify: [], outboxError };
    const wait = mayRun(command, { state, openSinceVerify: [] });
    const summary =
      wait.allowed && wait.ready ? await waitForOutcomes(this.journal, since, () => true) : await summarizeJournal(this.journal, since);
    return { state, openSinceVerify: summary.open.map(openWrite), outboxError };
  }

  /** Reads the facts and throws TRANSITION_REFUSED or GATE_FAILED exactly where status says not ready. */
  private async admit(command: TransitionName): Promise<MigrationStateFile> {
    const facts = await this.gateFacts(command);
    assertMayRun(command, facts, this.files.state);
    return facts.state;
  }

  async analyze(options: AnalyzeOptions = {}): Promise<AnalysisReport> {
    return this.run(async () => {
      const started = this.clock();
      const state = await this.state();
      // Always a snapshot copy: opening the live folder would rewrite files a team commits.
      const store = await this.readCtx.leveldb();
      const scan = await scanStore(store, this.registry, {
        exclude: state.exclusions,
        keepRecords: true,
        ...(options.roundTripCodec && { roundTripCodec: options.roundTripCodec }),
      });
      const crossCheck = await crossCheckLegacy(this.paths.deployments, this.registry, scan.records);
      if (options.expectedInventory) crossCheck.push(...(await crossCheckInventory(options.expectedInventory, this.registry, scan.chains)));
      const report: AnalysisReport = {
        source: { path: this.paths.leveldb, snapshot: true },
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
        registry: this.registry,
        excluded: state.exclusions,
        acknowledged: this.acknowledgements,
        recordOf: (key) => byKey.get(key),
      });
      report.directWrites = await scanDirectWrites(this.paths.deployments, options.scripts); // [coowned]
      if (options.chain) report.chain = await verifyChainRecords(this.ctx, [...scan.records.values()].flat(), 'leveldb', options.chain);
      await this.recordAnalysis(report, started);
      return report;
    });
  }

  // The report's Phase 1 line; an artifact beside the state, never the state itself.
  private async recordAnalysis(report: AnalysisReport, started: number): Promise<void> {
    const summary = {
      at: isoNow(this.ctx),
      durationMs: this.clock() - started,
      total: report.total,
      chains: report.chains.map((c) => ({ chainId: c.chainId, network: c.network, count: c.count })),
      findings: report.findings.length,
      unmigratable: report.unmigratable,
      ok: report.ok,
    };
    await mkdir(this.paths.stateDir, { recursive: true });
    await writeFileDurable(this.files.analysis, `${JSON.stringify(summary, null, 2)}\n`);
  }

  async check(): Promise<CheckReport> {
    return this.run(async () => {
      const state = await this.state();
      const store = await this.readCtx.leveldb();
      const scan = await scanStore(store, this.registry, { exclude: state.exclusions });
      return {
        source: { path: this.paths.leveldb, snapshot: true },
        total: scan.total,
        findings: scan.findings,
        numericAudit: scan.numericAudit,
        roundTrip: scan.roundTrip,
        unmigratable: scan.unmigratable,
        digest: scan.digest,
        ok: scan.unmigratable.every((k) => state.exclusions.includes(k)) && scan.roundTrip.failures.length === 0,
      };
    });
  }

  compare(options: CompareOptions = {}): Promise<SideComparison> {
    // Under the fence: a write half done (one side written) is not a difference; read from a snapshot.
    return this.run(() => underGateFence(this.files, 'compare', () => compareSides(this.readCtx, options)));
  }

  validate(): Promise<VerifyReport['schema']> {
    return this.run(() => validateFiles(this.readCtx));
  }

  /** compare + validate; records the result as evidence for the gates (and clears a divergence when clean). */
  verify(options: { chain?: ChainCheckOptions } = {}): Promise<VerifyReport> {
    return this.run(async () => {
      const report = await this.verifyAndRecord({ ctx: this.readCtx });
      if (options.chain) report.chain = await verifyChainOnSide(this.readCtx, this.paths, options.chain);
      const since = await this.leveldbSinceCutover(await this.state());
      if (since) report.leveldbSinceCutover = since;
      return report;
    });
  }

  /** The records of one side (default: the side deploy scripts read now) checked against the chains; read-only. */
  verifyChain(options: ChainCheckOptions & { from?: Side }): Promise<ChainVerificationReport> {
    return this.run(() => verifyChainOnSide(this.readCtx, this.paths, options));
  }

  /**
   * `fenced`: the caller holds the gate fence already (a gate that verifies, then switches).
   * `ctx`: where the sides are read (read-only commands and gates pass a snapshot context).
   */
  private async verifyAndRecord(options: { fenced?: boolean; ctx?: MigrationContext } = {}): Promise<VerifyReport> {
    const started = this.clock();
    const ctx = options.ctx ?? this.ctx;
    const report = options.fenced ? await verifySides(ctx) : await underGateFence(this.files, 'verify', () => verifySides(ctx));
    await updateState(this.files, (s) => {
      s.lastVerify = report.evidence;
      if (report.clean && s.diverged && (s.divergedBy?.seq ?? 0) <= report.evidence.journalSeq) {
        s.diverged = false;
        s.divergedBy = null;
      }
      pushTiming(
        s,
        timing(
          'verify',
          started,
          report.clean ? 'done' : 'failed',
          report.clean
            ? `equal: ${report.evidence.json.count} records`
            : `${report.evidence.differences} difference(s), ${report.evidence.schemaErrors} schema error(s)`,
        ),
      );
    });
    // Recorded first, so the failed verify closes the gates; then it fails as CORRUPTED, never as a difference.
    const corrupted = unreadableJsonError(report.comparison.unreadable);
    if (corrupted) throw corrupted;
    return report;
  }

  rollbackReadiness(): Promise<ReadinessReport> {
    return this.run(() => rollbackReadiness(this.readCtx));
  }

  /**
   * Writes the migration report. `fileFindings`: the validator's counts for the deployments folder
   * (the CLI passes `deploystate validate`'s), so the report's findings match what validate says.
   */
  async report(options: ReportOptions = {}): Promise<MigrationReport> {
    return this.run(() => buildReport(this.readCtx, options));
  }

  // ---- state changes ----------------------------------------------------------------------

  // The phase is checked again under the state lock: the gates were decided under the migration lock.
  private async transition(
    command: 'dual-write enable' | 'dual-write disable' | 'promote' | 'cutover',
    started: number,
    change?: (s: MigrationStateFile) => void,
    detail?: string,
  ): Promise<MigrationStateFile> {
    const to = TRANSITIONS[command].to;
    return updateState(this.files, (s) => {
      if (!allowedIn(command).includes(s.phase)) throw transitionRefused(command, s.phase, this.files.state);
      s.phase = to;
      change?.(s);
      pushTiming(s, timing(command, started, 'done', detail ?? `-> ${to}`));
    });
  }

  async enableDualWrite(): Promise<MigrationStatus> {
    // Under the fence: a LevelDB-only write still in flight lands before the switch, never after the copy read its chain.
    await this.locked('dual-write enable', () =>
      underGateFence(this.files, 'dual-write enable', async () => {
        const started = this.clock();
        await this.admit('dual-write enable');
        // Both sides must be reachable before any deploy script starts writing to both.
        await this.ctx.leveldb();
        await this.ctx.json();
        const event = await this.journal.appendOne({
          type: 'event',
          event: 'dual-write-enabled',
          time: isoNow(this.ctx),
          pid: process.pid,
          phase: 'dual-write',
        });
        await this.transition('dual-write enable', started, (s) => {
          s.dualWriteSinceSeq = event.seq;
          s.rollback = null;
        });
      }),
    );
    return this.status();
  }

  async disableDualWrite(): Promise<MigrationStatus> {
    await this.locked('dual-write disable', () =>
      underGateFence(this.files, 'dual-write disable', async () => {
        const started = this.clock();
        await this.admit('dual-write disable');
        // JSON gets what LevelDB acknowledged before it stops being written.
        await drainForGate(this.ctx);
        await this.journal.appendOne({
          type: 'event',
          event: 'dual-write-disabled',
          time: isoNow(this.ctx),
          pid: process.pid,
          phase: 'leveldb-only',
        });
        await this.transition('dual-write disable', started, (s) => {
          s.dualWriteSinceSeq = null;
          s.copy = null;
          s.lastVerify = null;
        });
      }),
    );
    return this.status();
  }

  /** Proves both backends reachable and writable, on temp copies and a probe file, journalled as a probe. */
  verifyDualWrite(): Promise<ReadinessReport> {
    return this.run(async () => {
      const state = await this.state();
      const result = await probeBackends(this.ctx, state.phase);
      if (state.phase !== 'dual-write') result.checks.push({ name: 'phase', ok: false, detail: `phase is ${state.phase}, not dual-write` });
      result.ready = result.checks.every((c) => c.ok);
      return result;
    });
  }

  migrate(options: CopyOptions = {}): Promise<CopyReport> {
    const work = async (): Promise<CopyReport> => {
      await this.admit('migrate');
      // What deploy scripts left in the outbox reaches JSON before the copy reads either side.
      if (!options.dryRun) await underGateFence(this.files, 'migrate', () => drainForGate(this.ctx));
      const report = await bulkCopy(this.ctx, options);
      if (!options.dryRun) await moveBaseline(coownedContext(this.ctx)); // [coowned] the copy's writes are the product's own
      return report;
    };
    return options.dryRun ? this.run(work) : this.locked('migrate', work);
  }

  async promote(): Promise<MigrationStatus> {
    await this.locked('promote', () =>
      // The gates (a clean verify, every write since settled) and the switch see no write in flight.
      underGateFence(this.files, 'promote', async () => {
        const started = this.clock();
        // LevelDB held from the drain to the switch: every write LevelDB acknowledged is in JSON
        // first, and a writer that waited for LevelDB finds the new phase and routes by it.
        const leveldb = await this.ctx.leveldb();
        await leveldb.holdWhile(async () => {
          // A drain that failed leaves its failure for the gate: refused as "outbox drains".
          if ((await drainForGate(this.ctx)).failed > 0) await this.admit('promote');
          await assertFilesIntact(coownedContext(this.ctx), 'promote'); // [coowned]
          await this.admit('promote');
          await this.transition('promote', started);
        });
      }),
    );
    return this.status();
  }

  async cutover(options: CutoverOptions = {}): Promise<CutoverReport> {
    return this.locked('cutover', async () => {
      const started = this.clock();
      await assertFilesIntact(coownedContext(this.ctx), 'cutover'); // [coowned]
      await this.admit('cutover');
      // Every read of the gates goes to a fresh snapshot copy of LevelDB: cut-over changes the phase, not a byte of LevelDB.
      let verify = await this.withReadCtx((ctx) => this.verifyAndRecord({ ctx }));
      assertRunGate('fresh clean verify', verify.evidence, this.files.state, undefined, {
        differingKeys: differingKeys(verify),
        schemaErrors: verify.schema.errors.map(gateFinding),
      });
      const acknowledged = await this.withReadCtx((ctx) => this.cutoverFindings(ctx, options.acknowledge ?? []));
      let soakVerifies = 0;
      if (options.soak) {
        const count = Math.max(0, Math.floor(options.soak.count));
        for (let i = 0; i < count; i++) {
          await sleep(Math.max(0, options.soak.intervalMs));
          verify = await this.withReadCtx((ctx) => this.verifyAndRecord({ ctx }));
          assertRunGate('soak', { round: i + 1, of: count, evidence: verify.evidence }, this.files.state);
          soakVerifies++;
        }
      }
      // The JSON side is what deploy scripts will read alone after cut-over: it must match the chains.
      const chain = options.chain
        ? await this.withReadCtx((ctx) => verifyChainOnSide(ctx, this.paths, { ...options.chain!, from: 'json' }))
        : undefined;
      if (chain)
        assertRunGate(
          'chain verification',
          chain,
          this.files.state,
          'see each problem with `deploystate verify-chain --from json` (the last result is kept in chain-verification.json in the state folder)',
        );
      if (!options.dryRun) {
        const ackList = [
          ...[...new Set(options.acknowledge ?? [])].sort(compareKeys),
          ...this.acknowledgements.map(describeAcknowledgement),
        ];
        // The last verify and the switch under one fence: no write lands between them. LevelDB as
        // deploy scripts leave it is recorded from the same snapshot, so a later change to it (a
        // clone that wrote before it pulled) is seen.
        await underGateFence(this.files, 'cutover', () =>
          this.withReadCtx(async (ctx) => {
            verify = await this.verifyAndRecord({ fenced: true, ctx });
            assertRunGate('fresh clean verify', verify.evidence, this.files.state, undefined, {
              differingKeys: differingKeys(verify),
              schemaErrors: verify.schema.errors.map(gateFinding),
            });
            const leveldbAtCutover = await recordLevelDb(ctx, await ctx.leveldb());
            await this.transition(
              'cutover',
              started,
              (s) => {
                s.acknowledged = ackList;
                s.cutoverEvidence = verify.evidence;
                s.cutoverLeveldb = leveldbAtCutover;
              },
              `-> json-only after ${1 + soakVerifies} clean verify(s)`,
            );
          }),
        );
      }
      return {
        dryRun: options.dryRun ?? false,
        verify,
        soakVerifies,
        acknowledged,
        phase: options.dryRun ? 'json-primary' : 'json-only',
        ...(chain && { chain }),
      };
    });
  }

  /**
   * Findings in the JSON files must be ones analysis also finds in LevelDB, and each of those
   * (errors and warnings) must be acknowledged by code or key.
   */
  private async cutoverFindings(ctx: MigrationContext, acknowledge: readonly string[]): Promise<Finding[]> {
    const state = await this.state();
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
    assertRunGate('no new findings', { fresh, unacknowledged: [] }, this.files.state, undefined, { findings: fresh.map(gateFinding) });
    const acks = new Set(acknowledge);
    // A recorded acknowledgement names the file, key, code and the record's digest as it is in JSON.
    const recorded = async (f: Finding): Promise<boolean> => {
      if (f.key === undefined || this.acknowledgements.length === 0) return false;
      const { chainId, contractName } = parseKey(f.key);
      const record = await json.get(chainId, contractName).catch(() => null);
      const ack = findAcknowledgement(this.acknowledgements, f, record, f.file ?? json.fileFor(chainId));
      if (ack) f.acknowledged = true;
      return ack !== undefined;
    };
    const unacknowledged: Finding[] = [];
    for (const f of after) {
      if (acks.has(f.code) || (f.key !== undefined && acks.has(f.key)) || (f.file !== undefined && acks.has(f.file))) continue;
      if (!(await recorded(f))) unacknowledged.push(f);
    }
    assertRunGate('acknowledged findings', { fresh: [], unacknowledged }, this.files.state, undefined, {
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
  foldIn(options: { from?: string; dryRun?: boolean } = {}): Promise<FoldInReport> {
    return this.locked('fold-in', async () => {
      const state = await this.state();
      if (state.phase !== 'json-only')
        throw new StateError(ErrorCodes.TRANSITION_REFUSED, `fold-in is not allowed in ${state.phase} (only in json-only)`, {
          file: this.files.state,
          hint: 'run status to see which commands are allowed now',
        });
      if (!state.cutoverLeveldb)
        throw new StateError(
          ErrorCodes.GATE_FAILED,
          'gate "LevelDB recorded at cut-over" not satisfied: this cut-over predates the record',
          {
            file: this.files.state,
            hint: "nothing to compare LevelDB with; compare a teammate's export by hand",
          },
        );
      const from = options.from ?? this.paths.leveldb;
      const source = await openSnapshot(from, { registry: this.registry });
      const writer = createStateStore({ ...this.paths, registry: this.registry });
      try {
        await writer.open();
        const report = await foldIn(state, source.store, await this.ctx.json(), writer, {
          from,
          ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
        });
        // This LevelDB's changes are in JSON now (or named as conflicts): record it as the new baseline.
        if (!report.dryRun && report.conflicts.length === 0 && from === this.paths.leveldb) {
          const now = await recordLevelDb(this.ctx, source.store);
          await updateState(this.files, (s) => {
            s.cutoverLeveldb = { ...now, at: s.cutoverLeveldb?.at ?? now.at };
          });
        }
        return report;
      } finally {
        await writer.close();
        await source.dispose();
      }
    });
  }

  async rollback(options: RollbackOptions = {}): Promise<RollbackReport> {
    // Already leveldb-only: nothing to carry back or switch, and nothing written (not even a lock file).
    if ((await this.state()).phase === 'leveldb-only') return this.run(async () => nothingToRollBack(options));
    return this.locked(options.emergency ? 'rollback (emergency)' : 'rollback', async () => {
      await this.admit('rollback');
      return runRollback(this.ctx, options, () => rollbackReadiness(this.ctx));
    });
  }

  /** Works on a damaged or missing folder; LOCKED when another process holds it (see leveldb-backups.ts). */
  restoreLevelDb(backup?: string): Promise<LevelDbRestoreResult> {
    return this.locked('restore-leveldb', () => restoreLevelDbFolder(this.ctx, backup));
  }

  listBackups(): Promise<string[]> {
    return listLevelDbBackups(this.ctx);
  }

  // ---- [coowned] network files other code rewrote -------------------------------------------

  /** LevelDB, read for a repair of a record the copy wrote (used only when it holds exactly that record). */
  private otherSide(): (chainId: number, contractName: string) => Promise<DeploymentRecord | null> {
    return async (chainId, contractName) => (await this.ctx.leveldb()).get(chainId, contractName);
  }

  /** What `repairFiles` would put back (read-only). */
  planFileRepair(): Promise<RepairPlan> {
    return this.run(() => planRepair(coownedContext(this.ctx), this.otherSide()));
  }

  /**
   * Puts back, from the journal (or LevelDB), the records other code's rewrites dropped or changed
   * in the network files (never over a later record); `plan` is the one shown to the operator.
   */
  repairFiles(plan?: RepairPlan): Promise<RepairReport> {
    return this.locked('repair-files', async () => {
      const ctx = coownedContext(this.ctx);
      const state = await this.state();
      const used = plan ?? (await planRepair(ctx, this.otherSide()));
      const result = await applyRepair(ctx, used, await this.ctx.json(), state.phase);
      return { ...result, changedElsewhere: used.changedElsewhere, unrepairable: used.unrepairable };
    });
  }
}
