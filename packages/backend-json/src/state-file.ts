// Reading and checking one state file without the store: the parse and the schema validation, for
// code that only checks files (verify's worker threads load this, not the store, its lock and backups).
export { isFileContentProblem, JSON_ONLY_STAMP, parseStateFile, stateFileProblem, type StateFileModel } from './file-format.js';
export { validateStateFile } from './schema.js';
export { readStateFileBytes } from './state-path.js';
export { readStateFile } from './read-state-file.js';
