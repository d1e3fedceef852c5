// The migration as the CLI drives it: one method per runbook command. State-changing commands
// hold the migration lock; read-only ones never change state or data (verify records evidence).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import type { LevelDbStore, LockWait } from '@deploystate/backend-leveldb';
import { NetworkRegistry, type Acknowledgement, type DeploymentRecord } from '@deploystate/core';
import { jsonStore, leveldbLockWait, levelDbStore } from './backends.js';
import type { MigrationContext } from './context.js';
import { bulkCopy, type CopyOptions } from './copy.js';
import { checkCopyOptions } from './copy-plan.js';
import { recordCopyWrites } from './copy-finish.js';
import { WrittenRecords } from './written-records.js';
import { probeBackends } from './probe.js';
import { ReadOnlySides } from './read-only.js';
import { ensureLocalStateGitignore, ensureSharedState } from './shared-state.js';
import type { FoldInReport } from './cutover-leveldb.js';
import { Journal } from './journal.js';
import { withLock } from '@deploystate/backend-json/lock';
import { applyRepair, coownedContext, moveBaseline, planRepair, type RepairOptions, type RepairPlan, type RepairReport } from './coowned.js';
import { resolvePaths, stateFiles, type StateFiles } from './paths.js';
import { underGateFence } from './fence.js';
import { MIGRATE_LOCK_PURPOSE } from './migration-runner.js';
import { quietPoint } from './written-since.js';
import { notCarriedBackEntry } from './not-carried-back.js';
import { drainForGate } from './outbox-status.js';
import { buildReport, type ReportOptions } from './report.js';
import { listLevelDbBackups, restoreLevelDbFolder, type LevelDbRestoreResult } from './leveldb-backups.js';
import { carryBackLeftBehind, leftBehindSince, nothingToRollBack, rollbackReadiness, runRollback } from './rollback.js';
import { assertGoneAcknowledgeable } from './gone-network-files.js';
import { readState } from './state.js';
import { summarizeJournal } from './journal-queries.js';
import type {
  AnalysisReport,
  CopyReport,
  CutoverOptions,
  MigrationOptions,
  MigrationPaths,
  MigrationStateFile,
  MigrationStatus,
  MigrationReport,
  ReadinessReport,
  RollbackOptions,
  RollbackReadinessOptions,
  RollbackReport,
  RollbackScope,
  SideComparison,
  VerifyReport,
} from './types.js';
import { compareSides, validateFiles, type CompareOptions } from './verify.js';
import { verifyChainOnSide } from './chain-evidence.js';
import type { ChainCheckOptions, ChainVerificationReport } from './chain/types.js';
import type { Side } from './routing.js';
import type { CommandContext } from './command-context.js';
import { admit, verifyAndRecord } from './command-gates.js';
import { analyze, check, sinceCutover, status, type AnalyzeOptions, type CheckReport } from './read-commands.js';
import { disableDualWrite, enableDualWrite, promote } from './phase-switches.js';
import { runCutover, runFoldIn, type CutoverReport } from './cutover.js';

/** Why dual-write is not on, and the command that turns it on (the runbook's DUAL_WRITE_MODE step is a phase switch here). */
function dualWriteNotOn(phase: string): string {
  if (phase !== 'leveldb-only') return `phase is ${phase}, not dual-write`;
  const env = process.env.DUAL_WRITE_MODE === 'true' ? ' (DUAL_WRITE_MODE=true makes only the scripts run with it write JSON too; the copy needs every writer switched)' : '';
  return `phase is ${phase}, not dual-write${env}: turn it on with \`deploystate dual-write enable\` (npm run enable:dual-write-mode)`;
}

export class Migration {
  readonly paths: MigrationPaths;
  /** The folder relative paths given to its methods (an expected inventory, a fold-in source) resolve against. */
  private readonly cwd: string;
  private readonly files: StateFiles;
  private readonly registry: NetworkRegistry;
  private readonly journal: Journal;
  private readonly clock: () => number;
  private readonly acknowledgements: Acknowledgement[];
  private readonly lockWait: LockWait;
  private leveldbStore: LevelDbStore | undefined;
  private jsonStoreInstance: JsonFileStore | undefined;
  private readOnlySides: ReadOnlySides | undefined;

  private constructor(options: MigrationOptions) {
    this.paths = resolvePaths(options);
    this.cwd = resolve(options.cwd ?? process.cwd());
    this.files = stateFiles(this.paths);
    this.registry = options.registry ?? new NetworkRegistry();
    this.journal = new Journal(this.files.journal, this.files.journalLock);
    this.clock = options.now ?? Date.now;
    this.acknowledgements = options.acknowledgements ?? [];
    this.lockWait = leveldbLockWait(options.lockWaitMs);
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
      lockWait: this.lockWait,
      leveldb: async () => {
        // Synced: what a command writes to LevelDB (a rollback's carry-back above all) is on disk
        // before it switches the phase to read it, whatever a power cut does next.
        this.leveldbStore ??= levelDbStore(this.paths, { registry: this.registry, lockWait: this.lockWait, sync: true });
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
    const sides = (this.readOnlySides ??= new ReadOnlySides(this.paths, this.registry, this.lockWait));
    return { ...this.ctx, leveldb: () => sides.leveldb(), json: () => sides.json() };
  }

  /** Runs `work` on a fresh snapshot context (a gate that reads again must not see an old copy), closed afterwards. */
  private async withReadCtx<T>(work: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    const sides = new ReadOnlySides(this.paths, this.registry, this.lockWait);
    try {
      return await work({ ...this.ctx, leveldb: () => sides.leveldb(), json: () => sides.json() });
    } finally {
      await sides.close();
    }
  }

  /** What the command modules work with; `ctx` and `readCtx` are built when read, as the getters above are. */
  private get commands(): CommandContext {
    // Getters, not values: a command that never reads the snapshot context must not create one.
    const migration = this;
    return {
      paths: this.paths,
      files: this.files,
      registry: this.registry,
      journal: this.journal,
      clock: this.clock,
      acknowledgements: this.acknowledgements,
      get ctx() {
        return migration.ctx;
      },
      get readCtx() {
        return migration.readCtx;
      },
      withReadCtx: (work) => this.withReadCtx(work),
    };
  }

  /** Releases LevelDB and the JSON store; every command calls it when done. */
  async close(): Promise<void> {
    const sides = this.readOnlySides;
    this.readOnlySides = undefined;
    await Promise.all([this.leveldbStore?.close(), this.jsonStoreInstance?.close(), this.journal.close(), sides?.close()]);
    // Whatever a command left in the state folder stays out of git (before init, the .gitignore too).
    if (existsSync(this.paths.stateDir)) await ensureLocalStateGitignore(this.paths.stateDir);
  }

  // Calls under way on this Migration: the stores and snapshot they share are closed when the last ends.
  private running = 0;

  private async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      // Calls made at once (Promise.all) share the stores: one ending must not close them under another.
      if (--this.running === 0) await this.close();
    }
  }

  private locked<T>(command: string, work: () => Promise<T>): Promise<T> {
    return this.run(() => withLock(this.files.migrationLock, work, { timeoutMs: 0, purpose: command }));
  }

  private state(): Promise<MigrationStateFile> {
    return readState(this.files);
  }

  // ---- read-only (read-commands.ts) ---------------------------------------------------------

  async status(): Promise<MigrationStatus> {
    return status(this.commands);
  }

  /** Writes the committed phase file and the state folder's .gitignore when missing (init); true when written. */
  async initShared(): Promise<boolean> {
    return ensureSharedState(this.files, await this.state());
  }

  async analyze(options: AnalyzeOptions = {}): Promise<AnalysisReport> {
    const inCwd = {
      ...options,
      ...(options.expectedInventory && { expectedInventory: resolve(this.cwd, options.expectedInventory) }),
      ...(options.scripts && { scripts: options.scripts.map((dir) => resolve(this.cwd, dir)) }),
    };
    return this.run(() => analyze(this.commands, inCwd));
  }

  async check(): Promise<CheckReport> {
    return this.run(() => check(this.commands));
  }

  compare(options: CompareOptions = {}): Promise<SideComparison> {
    // From a snapshot taken at a quiet point of the fence: a write made since is pending, not a difference.
    return this.run(async () => {
      const ctx = this.readCtx;
      // In json-only, LevelDB stays as the cut-over left it: what deploy scripts wrote since is no difference (as verify counts it).
      const state = await this.state();
      const sinceCutover = options.sinceCutover ?? (state.phase === 'json-only' ? state.cutoverEvidence?.journalSeq : undefined);
      // Before the copy has completed, a record no write since dual-write enable touched is the copy's to make equal.
      const copyPendingSince =
        state.phase === 'dual-write' && state.copy?.completedAt === undefined && state.dualWriteSinceSeq !== null ? state.dualWriteSinceSeq : undefined;
      return compareSides(ctx, {
        ...options,
        writtenSince: await quietPoint(ctx, 'compare'),
        ...(sinceCutover !== undefined && { sinceCutover }),
        ...(copyPendingSince !== undefined && { copyPendingSince }),
      });
    });
  }

  validate(): Promise<VerifyReport['schema']> {
    return this.run(() => validateFiles(this.readCtx));
  }

  /** compare + validate; records the result as evidence for the gates (and clears a divergence when clean). */
  verify(options: { chain?: ChainCheckOptions } = {}): Promise<VerifyReport> {
    return this.run(async () => {
      const report = await verifyAndRecord(this.commands, { ctx: this.readCtx });
      if (options.chain) report.chain = await verifyChainOnSide(this.readCtx, this.paths, options.chain);
      const since = await sinceCutover(this.commands, await this.state());
      if (since) report.leveldbSinceCutover = since;
      return report;
    });
  }

  /** The records of one side (default: the side deploy scripts read now) checked against the chains; read-only. */
  verifyChain(options: ChainCheckOptions & { from?: Side }): Promise<ChainVerificationReport> {
    return this.run(() => verifyChainOnSide(this.readCtx, this.paths, options));
  }

  rollbackReadiness(options: RollbackReadinessOptions = {}): Promise<ReadinessReport> {
    return this.run(async () => {
      assertGoneAcknowledgeable(options.acknowledge ?? []);
      return rollbackReadiness(this.readCtx, options);
    });
  }

  /**
   * Writes the migration report. `fileFindings`: the validator's counts for the deployments folder
   * (the CLI passes `deploystate validate`'s), so the report's findings match what validate says.
   */
  async report(options: ReportOptions = {}): Promise<MigrationReport> {
    return this.run(() => buildReport(this.readCtx, options));
  }

  // ---- state changes (phase-switches.ts, cutover.ts, copy.ts, rollback.ts) ----------------

  async enableDualWrite(): Promise<MigrationStatus> {
    await this.locked('dual-write enable', () => enableDualWrite(this.commands));
    return this.status();
  }

  async disableDualWrite(): Promise<MigrationStatus> {
    await this.locked('dual-write disable', () => disableDualWrite(this.commands));
    return this.status();
  }

  /** Proves both backends reachable and writable, on temp copies and a probe file, journalled as a probe. */
  verifyDualWrite(): Promise<ReadinessReport> {
    return this.run(async () => {
      const state = await this.state();
      const result = await probeBackends(this.ctx, state.phase);
      if (state.phase !== 'dual-write') result.checks.push({ name: 'phase', ok: false, detail: dualWriteNotOn(state.phase) });
      result.ready = result.checks.every((c) => c.ok);
      return result;
    });
  }

  migrate(options: CopyOptions = {}): Promise<CopyReport> {
    try {
      checkCopyOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const work = async (): Promise<CopyReport> => {
      await admit(this.commands, 'migrate');
      // What deploy scripts left in the outbox reaches JSON before the copy reads either side.
      if (!options.dryRun) await underGateFence(this.files, 'migrate', () => drainForGate(this.ctx));
      const written = new WrittenRecords(join(this.ctx.files.stateDir, 'tmp'));
      try {
        const report = await bulkCopy(this.ctx, options, written);
        // [coowned] the copy's writes are the product's own; a failure to record them is no failed copy.
        if (!options.dryRun)
          await recordCopyWrites(report, () => moveBaseline(coownedContext(this.ctx), undefined, written), join(this.ctx.files.stateDir, 'written.json'));
        return report;
      } finally {
        await written.remove();
      }
    };
    return options.dryRun ? this.run(work) : this.locked(MIGRATE_LOCK_PURPOSE, work);
  }

  async promote(): Promise<MigrationStatus> {
    await this.locked('promote', () => promote(this.commands));
    return this.status();
  }

  async cutover(options: CutoverOptions = {}): Promise<CutoverReport> {
    return this.locked('cutover', () => runCutover(this.commands, options));
  }

  /**
   * Writes LevelDB's changes since cut-over into the JSON side (json-only), from this LevelDB or
   * another copy of the store (`from`, a LevelDB folder): only keys JSON still holds as at cut-over;
   * keys changed on both sides are listed as conflicts and left alone. Each write is journalled.
   */
  foldIn(options: { from?: string; dryRun?: boolean } = {}): Promise<FoldInReport> {
    const inCwd = options.from === undefined ? options : { ...options, from: resolve(this.cwd, options.from) };
    return this.locked('fold-in', () => runFoldIn(this.commands, inCwd));
  }

  /**
   * What a rollback would carry back, for its confirmation: the phase, and the writes journalled
   * since dual-write enable, read from there on (not the whole journal, not the sides). With
   * `{ count: false }` (a dry run: no confirmation) the journal is not read, and both counts are 0.
   * In leveldb-only, what the last rollback recorded it could not carry back, from the state alone.
   */
  async rollbackScope(options: { count?: boolean } = {}): Promise<RollbackScope> {
    return this.run(async () => {
      const state = await this.state();
      const sinceSeq = state.phase === 'leveldb-only' ? null : state.dualWriteSinceSeq;
      const from = state.phase === 'rolling-back' ? (state.rollback?.from ?? 'json-only') : state.phase;
      const scope = {
        phase: state.phase,
        paths: this.paths,
        sinceSeq,
        writes: 0,
        keys: 0,
        fromJson: from === 'json-primary' || from === 'json-only',
        notCarriedBack: state.phase === 'leveldb-only' ? (state.rollback?.notCarriedBack ?? []).map(notCarriedBackEntry) : [],
      };
      if (sinceSeq === null || options.count === false) return scope;
      const written = await summarizeJournal(this.journal, sinceSeq);
      return { ...scope, writes: written.writes, keys: written.keys.length };
    });
  }

  async rollback(options: RollbackOptions = {}): Promise<RollbackReport> {
    // Already leveldb-only: nothing to carry back or switch, and nothing written (not even a lock
    // file), unless a teammate's rollback (pulled) left this clone's JSON-side writes behind.
    const current = await this.state();
    if (current.phase === 'leveldb-only') {
      if ((await leftBehindSince(this.ctx, current)) === null) return this.run(async () => nothingToRollBack(options));
      // A dry run reads a snapshot, as the other rollbacks' do: the committed LevelDB stays byte-identical.
      if (options.dryRun) return this.locked('rollback --dry-run', () => this.withReadCtx((ctx) => carryBackLeftBehind(ctx, options)));
      return this.locked('rollback (left behind)', () => carryBackLeftBehind(this.ctx, options));
    }
    // A dry run reads snapshots: the committed LevelDB folder stays byte-identical.
    if (options.dryRun)
      return this.locked('rollback --dry-run', () =>
        this.withReadCtx(async (ctx) => {
          await admit(this.commands, 'rollback');
          return runRollback(ctx, options, () => rollbackReadiness(ctx, options, true));
        }),
      );
    return this.locked(options.emergency ? 'rollback (emergency)' : 'rollback', async () => {
      await admit(this.commands, 'rollback');
      return runRollback(this.ctx, options, () => rollbackReadiness(this.ctx, options, true));
    });
  }

  /** Works on a damaged or missing folder; LOCKED when another process holds it (see leveldb-backups.ts). */
  restoreLevelDb(backup?: string, options: { discardNewer?: boolean } = {}): Promise<LevelDbRestoreResult> {
    return this.locked('restore-leveldb', () => restoreLevelDbFolder(this.ctx, backup, options));
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
  planFileRepair(options: RepairOptions = {}): Promise<RepairPlan> {
    return this.run(() => planRepair(coownedContext(this.ctx), this.otherSide(), options));
  }

  /**
   * Puts back, from the journal (or LevelDB), the records other code's rewrites dropped or changed
   * in the network files (never over a later record); `plan` is the one shown to the operator.
   */
  repairFiles(plan?: RepairPlan, options: RepairOptions = {}): Promise<RepairReport> {
    return this.locked('repair-files', async () => {
      const ctx = coownedContext(this.ctx);
      const state = await this.state();
      // Planned again and applied under the fence: no write is in flight then, so a record a
      // script is deleting or rewriting right now is never taken for lost and put back over it.
      return underGateFence(this.files, 'repair-files', async () => {
        const now = await planRepair(ctx, this.otherSide(), options);
        // The plan shown to the operator, as far as it still holds (nothing beyond what they saw);
        // what no longer needs putting back (written since, a delete included) is skipped.
        const same = (a: RepairPlan['actions'][number], b: RepairPlan['actions'][number]): boolean => a.key === b.key && a.action === b.action;
        const stillLost = (a: RepairPlan['actions'][number]): boolean => now.actions.some((n) => same(n, a));
        // The fresh actions (their records and timestamps as the journal holds them now), only those shown.
        const used = plan === undefined ? now : { ...now, actions: now.actions.filter((n) => plan.actions.some((a) => same(n, a))) };
        const result = await applyRepair(ctx, used, await this.ctx.json(), state.phase);
        const stale = plan === undefined ? [] : plan.actions.filter((a) => !stillLost(a));
        return { ...result, skipped: [...result.skipped, ...stale], changedElsewhere: used.changedElsewhere, unrepairable: used.unrepairable };
      });
    });
  }
}
