// What the Migration's command bodies work with (status, gates, phase switches, cut-over): the
// live and snapshot contexts and what the Migration holds, passed so each concern has its module.
import type { Acknowledgement, NetworkRegistry } from '@deploystate/core';
import type { MigrationContext } from './context.js';
import type { Journal } from './journal.js';
import type { StateFiles } from './paths.js';
import type { MigrationPaths } from './types.js';

export interface CommandContext {
  readonly paths: MigrationPaths;
  readonly files: StateFiles;
  readonly registry: NetworkRegistry;
  readonly journal: Journal;
  readonly clock: () => number;
  readonly acknowledgements: Acknowledgement[];
  /** The stores as the phase has them written, opened on demand and closed when the command ends. */
  readonly ctx: MigrationContext;
  /** The context of read-only commands: a LevelDB snapshot and a JSON store that never writes. */
  readonly readCtx: MigrationContext;
  /** Runs `work` on a fresh snapshot context (a gate that reads again must not see an old copy), closed afterwards. */
  withReadCtx<T>(work: (ctx: MigrationContext) => Promise<T>): Promise<T>;
}
