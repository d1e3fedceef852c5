export { LevelDbStore } from './leveldb-store.js';
export { DEFAULT_IDLE_CLOSE_MS, DEFAULT_LOCK_WAIT, lockWaitBudgetMs, type LevelDbStoreOptions, type LockWait } from './leveldb-options.js';
export { decodeEntry } from './decode-entry.js';
export {
  snapshotLevelDb,
  openSnapshot,
  sweepSnapshots,
  type SnapshotOptions,
  type SnapshotResult,
  type OpenSnapshotOptions,
  type OpenedSnapshot,
} from './snapshot.js';
export { repairCopy, type RepairResult } from './repair.js';
export { writeLegacyStore, type LegacyEntry } from './legacy.js';
export { mapLevelError, isLockedError } from './level-errors.js';
export { loadLevelDb } from './level-open.js';
export { holdersAfterWait, type LevelDbHolder } from './lock-turn.js';
export {
  inspectFolder,
  liveTables,
  absentFiles,
  isStoreFile,
  checkDataFiles,
  RESTORING_SUFFIX,
  stagedCopiesOf,
  type FolderState,
  type FolderCheck,
  type TornTail,
  type CheckStats,
  type CheckOptions,
} from './level-files.js';
export { swapMarkerOf, swapMarkerText, swapUnderWay, copyBeingSwappedIn, type SwapUnderWay } from './restore-swap.js';
export { checkLog, crc32c, maskCrc, type LogCheck, type CheckLogOptions } from './level-log.js';
export { forgetVerifiedFiles } from './verified-files.js';
export {
  OUTBOX_PREFIX,
  OUTBOX_END,
  isOutboxKey,
  type OutboxEntry,
  type NewOutboxEntry,
} from './outbox.js';
