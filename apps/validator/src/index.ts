// @deploystate/validator: checks a deployments folder against the published schema and across
// files, for people, for CI and for pre-commit hooks.
export { validateDeployments, assertFolder, STATE_DIR } from './validate.js';
export { judgeStateFile, fieldSegments, type StateFileInput, type StateFileVerdict, type LocatedEntry } from './state-file.js';
export { locate, pointerOf, parentPointer, escapePointerSegment, type Locator, type Position } from './locate.js';
export {
  formatHuman,
  formatGithub,
  formatJson,
  exitCodeFor,
  type HumanFormatOptions,
  type GithubFormatOptions,
  type ExitCodeOptions,
} from './format.js';
export { validateStaged } from './staged.js';
export { main, parseArgs, stagedFiles, loadLevelDbStore, EXIT, USAGE, type CliOptions, type CliIO, type OutputFormat } from './cli.js';
export type { ValidateOptions, ValidationResult, FileReport, SkippedFile, ValidationSummary } from './types.js';
export { readAcknowledgements, readValidatorConfig, type ValidatorConfig } from './config.js';
