// The migration as the CLI drives it: one method per runbook command. State-changing commands
// hold the migration lock; read-only ones never change state or data (verify records evidence).
import { mkdir } from 'node:fs/promises';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore, openSnapshot } from '@deploystate/backend-leveldb';
import { compareKeys, ErrorCodes, NetworkRegistry, StateError, type Finding } from '@deploystate/core';
import { crossCheckInventory, crossCheckLegacy, scanStore } from './analysis.js';
import { jsonStore, levelDbStore } from './backends.js';
import { isoNow, sleep, type MigrationContext } from './context.js';
import { bulkCopy, type CopyOptions } from './copy.js';
import { writeFileDurable } from './durable.js';
import { probeBackends } from './probe.js';
import { Journal, summarizeJournal, waitForOutcomes, type IntentEntry } from './journal.js';
import { withLock } from './lock.js';
import { resolvePaths, stateFiles, type StateFiles } from './paths.js';
import { buildReport, type ReportOptions } from './report.js';
import { listLevelDbBackups, restoreLevelDbFolder, type LevelDbRestoreResult } from './leveldb-backups.js';
import { rollbackReadiness, runRollback } from './rollback.js';
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
import { verifyChainOnSide, verifyChainRecords } from './chain/evidence.js';
import type { ChainCheckOptions, ChainVerificationReport } from './chain/types.js';
import type { Side } from './routing.js';

export type CheckReport = Pick<
  AnalysisReport,
  'source' | 'total' | 'findings' | 'numericAudit' | 'roundTrip' | 'unmigratable' | 'digest' | 'ok'
>;

export interface AnalyzeOptions {
  /** Read a consistent copy of the folder instead of taking a turn on the live LevelDB. */
  snapshot?: boolean;
  /** JSON file `{ "<network or chainId>": number | string[] }`. */
  expectedInventory?: string;
  /** Also check the records against the chains (the result is `report.chain`). */
  chain?: ChainCheckOptions;
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

function refuse(command: string, phase: MigrationPhase, allowed: string, file: string): StateError {
  return new StateError(ErrorCodes.TRANSITION_REFUSED, `${command} is not allowed in ${phase} (only in ${allowed})`, {
    file,
    hint: 'run status to see which commands are allowed now',
  });
}

function gate(name: string, detail: string, file: string, data?: Record<string, unknown>): StateError {
  return new StateError(ErrorCodes.GATE_FAILED, `gate "${name}" not satisfied: ${detail}`, {
    file,
    hint: `satisfy "${name}" first (see status)`,
    data: { gate: name, ...data },
  });
}

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
  private leveldbStore: LevelDbStore | undefined;
  private jsonStoreInstance: JsonFileStore | undefined;

  private constructor(options: MigrationOptions) {
    this.paths = resolvePaths(options);
    this.files = stateFiles(this.paths);
    this.registry = options.registry ?? new NetworkRegistry();
    this.journal = new Journal(this.files.journal, this.files.journalLock);
    this.clock = options.now ?? Date.now;
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

  /** Releases LevelDB and the JSON store; every command calls it when done. */
  async close(): Promise<void> {
    await Promise.all([this.leveldbStore?.close(), this.jsonStoreInstance?.close(), this.journal.close()]);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.close();
    }
  }

  private locked<T>(command: string, work: () => Promise<T>): Promise<T> {
    return this.run(() => withLock(this.files.migrationLock, { waitMs: 0, command }, work));
  }

  private state(): Promise<MigrationStateFile> {
    return readState(this.files);
  }

  // ---- read-only --------------------------------------------------------------------------

  async status(): Promise<MigrationStatus> {
    const state = await this.state();
    const read = await summarizeJournal(this.journal, 0);
    const route = routeFor(state, process.env);
    return {
      paths: this.paths,
      phase: state.phase,
      diverged: state.diverged,
      reads: route.reads,
      writes: route.writes,
      next: this.nextCommands(state),
      state,
      journal: { entries: read.entries, lastSeq: read.lastSeq },
    };
  }

  private nextCommands(state: MigrationStateFile): MigrationStatus['next'] {
    const verifiedAfterCopy =
      state.lastVerify?.clean === true && state.copy?.completedAt !== undefined && state.lastVerify.at >= state.copy.completedAt;
    const promoteBlock =
      state.copy?.completedAt === undefined
        ? 'a completed copy (migrate)'
        : state.diverged
          ? 'diverged: a clean verify'
          : !verifiedAfterCopy
            ? 'a clean verify after the copy'
            : undefined;
    const item = (command: string, blockedBy?: string): MigrationStatus['next'][number] => ({
      command,
      ready: blockedBy === undefined,
      ...(blockedBy !== undefined && { blockedBy }),
    });
    switch (state.phase) {
      case 'leveldb-only':
        return [item('analyze'), item('dual-write enable'), item('restore leveldb')];
      case 'dual-write':
        return [item('migrate'), item('verify'), item('promote', promoteBlock), item('dual-write disable'), item('rollback')];
      case 'json-primary':
        return [item('verify'), item('cutover', state.diverged ? 'diverged: a clean verify' : undefined), item('rollback')];
      case 'json-only':
        return [item('report'), item('rollback')];
      case 'rolling-back':
        return [item('rollback', 'finish the interrupted rollback')];
    }
  }

  async analyze(options: AnalyzeOptions = {}): Promise<AnalysisReport> {
    return this.run(async () => {
      const started = this.clock();
      const state = await this.state();
      let snapshot: Awaited<ReturnType<typeof openSnapshot>> | undefined;
      try {
        const store = options.snapshot
          ? (snapshot = await openSnapshot(this.paths.leveldb, { registry: this.registry })).store
          : await this.readOnlyLevelDb();
        const scan = await scanStore(store, this.registry, { exclude: state.exclusions, keepRecords: true });
        if (!options.snapshot) await store.close();
        const crossCheck = await crossCheckLegacy(this.paths.deployments, this.registry, scan.records);
        if (options.expectedInventory)
          crossCheck.push(...(await crossCheckInventory(options.expectedInventory, this.registry, scan.chains)));
        const report: AnalysisReport = {
          source: { path: this.paths.leveldb, snapshot: options.snapshot ?? false },
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
        if (options.chain) report.chain = await verifyChainRecords(this.ctx, [...scan.records.values()].flat(), 'leveldb', options.chain);
        await this.recordAnalysis(report, started);
        return report;
      } finally {
        await snapshot?.dispose();
      }
    });
  }

  private async readOnlyLevelDb(): Promise<LevelDbStore> {
    const store = levelDbStore(this.paths, { registry: this.registry, readOnly: true });
    await store.open();
    return store;
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
      const store = await this.readOnlyLevelDb();
      try {
        const scan = await scanStore(store, this.registry, { exclude: state.exclusions });
        return {
          source: { path: this.paths.leveldb, snapshot: false },
          total: scan.total,
          findings: scan.findings,
          numericAudit: scan.numericAudit,
          roundTrip: scan.roundTrip,
          unmigratable: scan.unmigratable,
          digest: scan.digest,
          ok: scan.unmigratable.every((k) => state.exclusions.includes(k)) && scan.roundTrip.failures.length === 0,
        };
      } finally {
        await store.close();
      }
    });
  }

  compare(options: CompareOptions = {}): Promise<SideComparison> {
    return this.run(() => compareSides(this.ctx, options));
  }

  validate(): Promise<VerifyReport['schema']> {
    return this.run(() => validateFiles(this.ctx));
  }

  /** compare + validate; records the result as evidence for the gates (and clears a divergence when clean). */
  verify(options: { chain?: ChainCheckOptions } = {}): Promise<VerifyReport> {
    return this.run(async () => {
      const report = await this.verifyAndRecord();
      if (options.chain) report.chain = await verifyChainOnSide(this.ctx, this.paths, options.chain);
      return report;
    });
  }

  /** The records of one side (default: the side deploy scripts read now) checked against the chains; read-only. */
  verifyChain(options: ChainCheckOptions & { from?: Side }): Promise<ChainVerificationReport> {
    return this.run(() => verifyChainOnSide(this.ctx, this.paths, options));
  }

  private async verifyAndRecord(): Promise<VerifyReport> {
    const started = this.clock();
    const report = await verifySides(this.ctx);
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
    return this.run(() => rollbackReadiness(this.ctx));
  }

  /**
   * Writes the migration report. `fileFindings`: the validator's counts for the deployments folder
   * (the CLI passes `deploystate validate`'s), so the report's findings match what validate says.
   */
  async report(options: ReportOptions = {}): Promise<MigrationReport> {
    return this.run(() => buildReport(this.ctx, options));
  }

  // ---- state changes ----------------------------------------------------------------------

  private async transition(
    command: string,
    from: readonly MigrationPhase[],
    to: MigrationPhase,
    started: number,
    change?: (s: MigrationStateFile) => void,
    detail?: string,
  ): Promise<MigrationStateFile> {
    return updateState(this.files, (s) => {
      if (!from.includes(s.phase)) throw refuse(command, s.phase, from.join(', '), this.files.state);
      s.phase = to;
      change?.(s);
      pushTiming(s, timing(command, started, 'done', detail ?? `-> ${to}`));
    });
  }

  async enableDualWrite(): Promise<MigrationStatus> {
    await this.locked('dual-write enable', async () => {
      const started = this.clock();
      const state = await this.state();
      if (state.phase !== 'leveldb-only') throw refuse('dual-write enable', state.phase, 'leveldb-only', this.files.state);
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
      await this.transition('dual-write enable', ['leveldb-only'], 'dual-write', started, (s) => {
        s.dualWriteSinceSeq = event.seq;
        s.rollback = null;
      });
    });
    return this.status();
  }

  async disableDualWrite(): Promise<MigrationStatus> {
    await this.locked('dual-write disable', async () => {
      const started = this.clock();
      await this.journal.appendOne({
        type: 'event',
        event: 'dual-write-disabled',
        time: isoNow(this.ctx),
        pid: process.pid,
        phase: 'leveldb-only',
      });
      await this.transition('dual-write disable', ['dual-write'], 'leveldb-only', started, (s) => {
        s.dualWriteSinceSeq = null;
        s.copy = null;
        s.lastVerify = null;
      });
    });
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
      const state = await this.state();
      if (state.phase !== 'dual-write') throw refuse('migrate', state.phase, 'dual-write', this.files.state);
      return bulkCopy(this.ctx, options);
    };
    return options.dryRun ? this.run(work) : this.locked('migrate', work);
  }

  async promote(): Promise<MigrationStatus> {
    await this.locked('promote', async () => {
      const started = this.clock();
      const state = await this.state();
      if (state.phase !== 'dual-write') throw refuse('promote', state.phase, 'dual-write', this.files.state);
      if (state.copy?.completedAt === undefined) throw gate('copy completed', 'no completed bulk copy; run migrate', this.files.state);
      if (state.diverged)
        throw gate(
          'not diverged',
          `a dual write diverged${state.divergedBy ? ` at ${state.divergedBy.key} (seq ${state.divergedBy.seq})` : ''}; run verify until clean`,
          this.files.state,
        );
      const v = state.lastVerify;
      if (!v || v.at < state.copy.completedAt)
        throw gate('verify after copy', 'no verify since the copy completed; run verify', this.files.state);
      if (!v.clean)
        throw gate(
          'clean verify',
          `the last verify found ${v.differences} difference(s) and ${v.schemaErrors} schema error(s)`,
          this.files.state,
        );
      // A write after the verify that never closed (its process died between LevelDB and JSON, or
      // is still running) may be on LevelDB alone: the verify says nothing about it.
      const unsettled = (await waitForOutcomes(this.journal, v.journalSeq, () => true)).open;
      if (unsettled.length > 0)
        throw gate(
          'writes settled since verify',
          `${unsettled.length} write(s) since the last verify have no outcome (first: ${(unsettled[0] as IntentEntry).key} at seq ${(unsettled[0] as IntentEntry).seq}); run verify (and migrate if it finds differences)`,
          this.files.state,
        );
      await this.transition('promote', ['dual-write'], 'json-primary', started);
    });
    return this.status();
  }

  async cutover(options: CutoverOptions = {}): Promise<CutoverReport> {
    return this.locked('cutover', async () => {
      const started = this.clock();
      const state = await this.state();
      if (state.phase !== 'json-primary') throw refuse('cutover', state.phase, 'json-primary', this.files.state);
      if (state.diverged) throw gate('not diverged', 'a dual write diverged; run verify until clean', this.files.state);
      let verify = await this.verifyAndRecord();
      if (!verify.clean)
        throw gate(
          'fresh clean verify',
          `${verify.evidence.differences} difference(s), ${verify.evidence.schemaErrors} schema error(s)`,
          this.files.state,
          { differingKeys: differingKeys(verify), schemaErrors: verify.schema.errors.map(gateFinding) },
        );
      const acknowledged = await this.cutoverFindings(options.acknowledge ?? []);
      let soakVerifies = 0;
      if (options.soak) {
        const count = Math.max(0, Math.floor(options.soak.count));
        for (let i = 0; i < count; i++) {
          await sleep(Math.max(0, options.soak.intervalMs));
          verify = await this.verifyAndRecord();
          if (!verify.clean)
            throw gate('soak', `verify ${i + 1} of ${count} found ${verify.evidence.differences} difference(s)`, this.files.state);
          soakVerifies++;
        }
      }
      // The JSON side is what deploy scripts will read alone after cut-over: it must match the chains.
      const chain = options.chain ? await verifyChainOnSide(this.ctx, this.paths, { ...options.chain, from: 'json' }) : undefined;
      if (chain && !chain.ok) {
        throw new StateError(
          ErrorCodes.GATE_FAILED,
          `gate "chain verification" not satisfied: ${chain.counts.error} JSON record(s) with errors against the chains`,
          {
            file: this.files.state,
            hint: 'see each problem with `deploystate verify-chain --from json` (the last result is kept in chain-verification.json in the state folder)',
          },
        );
      }
      if (!options.dryRun) {
        const ackList = [...new Set(options.acknowledge ?? [])].sort(compareKeys);
        await this.transition(
          'cutover',
          ['json-primary'],
          'json-only',
          started,
          (s) => {
            s.acknowledged = ackList;
            s.cutoverEvidence = verify.evidence;
          },
          `-> json-only after ${1 + soakVerifies} clean verify(s)`,
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
  private async cutoverFindings(acknowledge: readonly string[]): Promise<Finding[]> {
    const state = await this.state();
    const skip = new Set([...state.exclusions, ...state.unmigratable]);
    const relevant = (f: Finding): boolean => f.severity !== 'info' && !(f.key !== undefined && skip.has(f.key));
    const leveldb = await this.ctx.leveldb();
    const json = await this.ctx.json();
    const before = (await leveldb.checkIntegrity()).findings.filter(relevant);
    const after = [...(await json.checkIntegrity()).findings, ...(await validateFiles(this.ctx)).errors].filter(relevant);
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
    if (fresh.length > 0) {
      throw gate(
        'no new findings',
        `${fresh.length} finding(s) in the JSON files that LevelDB does not have: ${fresh
          .slice(0, 10)
          .map((f) => `${f.code} ${f.key ?? f.file ?? ''}`)
          .join(', ')}`,
        this.files.state,
        { findings: fresh.map(gateFinding) },
      );
    }
    const acks = new Set(acknowledge);
    const unacknowledged = after.filter(
      (f) => !acks.has(f.code) && !(f.key !== undefined && acks.has(f.key)) && !(f.file !== undefined && acks.has(f.file)),
    );
    if (unacknowledged.length > 0) {
      const list = [...new Set(unacknowledged.map((f) => `${f.code}${f.key ? ` ${f.key}` : ''}`))];
      throw gate(
        'acknowledged findings',
        `pre-existing findings must be acknowledged (by code or key): ${list.join(', ')}`,
        this.files.state,
        { findings: unacknowledged.map(gateFinding), acknowledge: [...new Set(unacknowledged.map((f) => f.code))].sort() },
      );
    }
    return after;
  }

  rollback(options: RollbackOptions = {}): Promise<RollbackReport> {
    return this.locked(options.emergency ? 'rollback (emergency)' : 'rollback', () =>
      runRollback(this.ctx, options, () => rollbackReadiness(this.ctx)),
    );
  }

  /** Works on a damaged or missing folder; LOCKED when another process holds it (see leveldb-backups.ts). */
  restoreLevelDb(backup?: string): Promise<LevelDbRestoreResult> {
    return this.locked('restore-leveldb', () => restoreLevelDbFolder(this.ctx, backup));
  }

  listBackups(): Promise<string[]> {
    return listLevelDbBackups(this.ctx);
  }
}
