// Recording the team's decisions in deploystate.config.json (committed, so every clone and CI
// honour them): the keys excluded from the migration and the findings acknowledged record by
// record. Every other key of the file is kept as it is.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { ErrorCodes, parseLossless, StateError, stringifyLossless } from '@deploystate/core';
import { DEFAULT_CONFIG_FILE, type Context } from './context.js';

/** Applies `change` to the config file's object and writes it back (created when missing); returns the file. */
export async function updateConfig(ctx: Context, change: (config: Record<string, unknown>) => void): Promise<string> {
  const file = ctx.config.file ?? resolve(ctx.cwd, DEFAULT_CONFIG_FILE);
  let config: Record<string, unknown> = {};
  if (existsSync(file)) {
    const parsed = parseLossless(readFileSync(file, 'utf8'), { source: file });
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new StateError(ErrorCodes.INVALID_CONFIG, `${file} must hold a JSON object`, { file });
    config = parsed as Record<string, unknown>;
  }
  change(config);
  await writeFileDurable(file, `${stringifyLossless(config, 2)}\n`);
  return file;
}
