// The validator's result model: what it judged, what it skipped and why, and every finding.
import type { Acknowledgement, Finding, NetworkRegistry, StateStore, StoreComparison } from '@deploystate/core';

export interface ValidateOptions {
  /** The network registry that names state files; core's default registry when absent. */
  registry?: NetworkRegistry;
  /** A store to compare the files' records with (the CLI passes a read-only LevelDbStore). */
  compareWith?: StateStore;
  /** Count warnings as errors for `ok`. */
  warningsAsErrors?: boolean;
  /**
   * Judge only these files (paths relative to `dir`, or absolute): a pre-commit hook's staged
   * files. Checks across files still see the other state files' names.
   */
  files?: string[];
  /**
   * The migrator's write journal: a legacy `contracts`/`implementationHashes` entry with no record
   * is an error when the journal shows the store wrote that key (a warning otherwise). Default:
   * `<dir>/../.deploystate/journal.ndjson` when it exists; false reads none.
   */
  journal?: string | false;
  /**
   * Findings accepted record by record (core's Acknowledgement: file, key, code, record digest;
   * the project config's "acknowledge"). A matching finding is kept, marked `acknowledged`, and
   * counts as neither error nor warning; a new or changed record raises it again.
   */
  acknowledgements?: Acknowledgement[];
}

export interface FileReport {
  /** The file's path: `dir` as given, joined with its name. */
  file: string;
  /** The chain the file holds, when known (from its chainId or its name). */
  chainId?: number;
  /** How many entries its `records` section has. */
  records: number;
  /** What kind of file it was judged as. */
  kind: 'state' | 'legacy' | 'temp';
  findings: Finding[];
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface ValidationSummary {
  errors: number;
  warnings: number;
  info: number;
  /** Files judged (state, legacy and leftover temp files). */
  files: number;
  /** Findings a recorded acknowledgement accepts (not counted above); always set by validateDeployments. */
  acknowledged?: number;
}

export interface ValidationResult {
  ok: boolean;
  /** The folder that was validated, as given. */
  dir: string;
  files: FileReport[];
  skipped: SkippedFile[];
  /** Every finding, in file order (comparison findings last). */
  findings: Finding[];
  summary: ValidationSummary;
  comparison?: StoreComparison;
}
