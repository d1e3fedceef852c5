// @deploystate/migrator: the LevelDB -> JSON migration as a persisted, resumable, reversible
// state machine, and the factory deploy scripts use to get the store for the current phase.
export * from './types.js';
export type { CutOffWrite } from './cut-off-writes.js';
export { Migration } from './migration.js';
export { type AnalyzeOptions, type CheckReport } from './read-commands.js';
export { type CutoverReport } from './cutover.js';
export { createStateStore, MigrationStateStore, type StateStoreOptions } from './factory.js';
// What a deploy script needs beside the store, so it depends on this package alone (a strict
// install, pnpm's, does not let it import core without declaring it).
export { StateError, ErrorCodes, isStateError, type ErrorCode, type DeploymentRecord, type StateStore } from '@deploystate/core';
export { PhaseWatcher } from './phase-watcher.js';
export {
  createStateModule,
  configureStateModule,
  getContract,
  putContract,
  getAllContracts,
  closeStateModule,
  STATE_MODULE_WAIT_MS,
  type StateModule,
  type StateModuleOptions,
  type StateModuleWait,
} from './state-module.js';
export { readProjectConfig, projectRegistry, PROJECT_CONFIG_FILE, type ProjectConfig } from './project-config.js';
export { routeFor, type Route, type Side } from './routing.js';
export {
  sideStore,
  networkFilesStore,
  uncachedJsonStore,
  readOnlyLevelDbStore,
  openSideForReading,
  type ReadOnlySide,
  type SideStoreOptions,
  type StoreFolders,
} from './command-stores.js';
export { leveldbLockWait } from './backends.js';
export { LOCK_WAIT_ENV } from '@deploystate/core';
export { journalledKeys, openIntents, summarizeJournal, type JournalSummary } from './journal-queries.js';
export {
  Journal,
  type AppendOptions,
  type JournalEntry,
  type IntentEntry,
  type OutcomeEntry,
  type ShadowMismatchEntry,
  type EventEntry,
  type JournalRead,
  type WriteOutcome,
} from './journal.js';
export { roundTripFailures, type RoundTripCodec } from './analysis.js';
export { resolvePaths, stateFiles, type StateFiles } from './paths.js';
export { assertDeployScriptCanWrite, blockedByDisk, describeHeld, describeRoom, diskRefusal, projectFileSystems, type FileSystemRoom, type FileSystemStatus } from './file-system-checks.js';
export { readState, writeState, initialState, assertStateFile } from './state.js';
export { cutoverAcknowledgements } from './cutover-acknowledgements.js';
export {
  PHASES,
  PHASE_COMMANDS,
  TRANSITIONS,
  GATES,
  RUN_GATES,
  mayRun,
  nextCommands,
  allowedIn,
  allowedCommandsHint,
  GateFailedError,
  OUTBOX_DRAIN_NEXT,
  type GateFacts,
  type GateResult,
  type GateName,
  type RunGateName,
  type TransitionName,
  type CommandName,
  type ReadOnlyCommand,
  type NextCommand,
  type Verdict,
} from './machine.js';
export { acquireLock, readLockHolder, type LockHolder, type HeldLock } from '@deploystate/backend-json/lock';
export { copyRunning } from './migration-runner.js';
export { ensureLocalStateGitignore, ensureStateGitignore, readSharedState, sharedStateFile, SHARED_STATE_FILE, STATE_GITIGNORE, type SharedState } from './shared-state.js';
export { type CopyOptions } from './copy.js';
export {
  backupTime,
  listLevelDbBackups,
  readBackupDigest,
  type BackupDigestRecord,
  type LevelDbContent,
  type LevelDbRestoreResult,
} from './leveldb-backups.js';
export { DEFAULT_MAX_DETAILS, type CompareOptions } from './verify.js';
export { type ReportOptions } from './report.js';
export { proposeDecisions, shellWord, type DecisionProposals, type ProposedAcknowledgement } from './decisions.js';
export { foldIn, levelDbSinceCutover, recordLevelDb, type FoldInReport, type LevelDbChange, type LevelDbSinceCutover } from './cutover-leveldb.js';
export { createDemo, legacyNetworkFile, runDemo, type DemoStep } from './demo.js';
export {
  acceptNetworkFiles,
  assertGitOutOfTheWay,
  checkFiles,
  coownedContext,
  describeOverwrites,
  type ChangedElsewhere,
  type CoownedContext,
  type FilesCheck,
  type ForeignOverwrite,
  type ForeignOverwriteKind,
  type RepairAction,
  type RepairOptions,
  type RepairPlan,
  type RepairReport,
} from './coowned.js';
export { levelDbNotInGit } from './leveldb-git.js';
export { readOnlyGit, type ReadOnlyGitOptions } from './read-only-git.js';
export { findDirectWrites, scanDirectWrites, DEFAULT_SCRIPT_FOLDERS, type DirectWrite } from './direct-writes.js';
// Legacy scripts update the keys they own in a network file through this, never with writeFileSync.
export { updateDeploymentFile, type UpdateDeploymentFileOptions, type UpdateDeploymentFileResult } from '@deploystate/backend-json';
export * from './chain/index.js';
export { readLastChainVerification, CHAIN_VERIFICATION_FILE } from './chain-evidence.js';
export { type OutboxStatus } from './outbox-status.js';
export { OutboxDrainer, drainOutbox, DRAIN_QUIET_MS, DRAIN_MAX_DELAY_MS, type OutboxFailure, type DrainResult } from './outbox-drainer.js';
