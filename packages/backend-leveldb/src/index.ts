export { LevelDbStore, DEFAULT_IDLE_CLOSE_MS, DEFAULT_LOCK_WAIT, decodeEntry, type LevelDbStoreOptions, type LockWait } from './leveldb-store.js';
export { snapshotLevelDb, openSnapshot, type SnapshotOptions, type SnapshotResult, type OpenSnapshotOptions, type OpenedSnapshot } from './snapshot.js';
export { repairCopy, type RepairResult } from './repair.js';
export { writeLegacyStore, type LegacyEntry } from './legacy.js';
export { mapLevelError, isLockedError } from './level-errors.js';
export { inspectFolder, checkLog, crc32c, liveTables, type FolderState, type LogCheck } from './level-files.js';
