export { SCHEMA_VERSION, SCHEMA_URL, deploymentFileSchema, toSchemaForm, validateStateFile, stateFileVersion } from './schema.js';
export { JsonFileStore, type JsonFileStoreOptions, type ReplaceChainResult, type SwapResult, type CheckedSwapResult, type SwapVersion, type SwapManyEntry, type CheckedSwapManyEntry, type SwapManyResult, type CheckedSwapManyResult } from './json-file-store.js';
export { writeFileAtomic, writeFileDurable, sweepDeadTemps, AtomicFileWriter, FolderSync, STATE_DIR, type AtomicWriteOptions } from './atomic.js';
export { withFileLock, lockFileFor, type HeldLock, type LockMode, type LockOptions } from './lock.js';
export { restoreStateFile, backupVersionOf, type BackupVersion, type RestoreOptions, type RestoreResult } from './backups.js';
export {
  updateDeploymentFile,
  type DeploymentDocument,
  type DeploymentFileUpdate,
  type UpdateDeploymentFileOptions,
  type UpdateDeploymentFileResult,
} from './update-file.js';
export { readStateFile } from './read-state-file.js';
export {
  parseStateFile,
  stateFileProblem,
  isFileContentProblem,
  renderStateFile,
  emptyStateFile,
  JSON_ONLY_STAMP,
  type StateFileModel,
  type InvalidRecordEntry,
  type RenderOptions,
} from './file-format.js';
export {
  CONFLICTS_KEY,
  isStateFileMerge,
  mergeStateFiles,
  readConflicts,
  resolveConflicts,
  type ConflictSection,
  type MergeConflict,
  type MergeOptions,
  type MergeResult,
} from './merge.js';
export { NewChainFile } from './chain-stream.js';
export { lastWrittenVersion } from './written-version.js';
export { kindOf, readStateFileBytes } from './state-path.js';
export { deploymentsEntries } from './deployments-folder.js';
export { racyUntilMs } from './stat-tick.js';
export { plainSignature, type PlainSignature } from './file-cache.js';
