// What the validator honours in this project, beyond the files: the config's acknowledgements, the
// cut-over's (by code or key, as the records they accepted were then), and the write journal. One
// place, so `validate` and the drill that runs the validator judge the same files the same way.
import { join } from 'node:path';
import type { Acknowledgement } from '@deploystate/core';
import type { Context } from './context.js';
import { stateDirOf } from './migration.js';

export async function validatorInputs(ctx: Context): Promise<{ acknowledgements: Acknowledgement[]; journal: string }> {
  // [coowned] The journal tells a record the store wrote and lost (error) from a legacy listing (warning).
  const journal = join(stateDirOf(ctx), 'journal.ndjson');
  const { cutoverAcknowledgements, readState, resolvePaths, stateFiles } = await import('@deploystate/migrator');
  // A state that cannot be read takes nothing away from the files' own check (status names it).
  const state = await readState(stateFiles(resolvePaths(ctx.migrationOptions()))).catch(() => null);
  return { acknowledgements: [...ctx.config.acknowledge, ...(state ? cutoverAcknowledgements(state, ctx.registry()) : [])], journal };
}
