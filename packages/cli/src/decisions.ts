// Recording the team's decisions in deploystate.config.json (committed, so every clone and CI
// honour them): the keys excluded from the migration and the findings acknowledged record by
// record. Every other key of the file is kept as it is.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { withFileLock } from '@deploystate/backend-json/lock';
import { keepingFileStyle, stringifyLossless } from '@deploystate/core';
import { parseConfigText } from '@deploystate/migrator/project-config';
import { DEFAULT_CONFIG_FILE, type Context } from './context.js';
import { stateDirOf } from './migration.js';

/**
 * Applies `change` to the config file's object and writes it back (created when missing); returns
 * the file. The read, the change and the write hold the config's lock (in the state folder), so two
 * commands recording at once (two `exclude`s, a `migrate` naming its chain files) keep each other's change.
 */
/** The config file the team commits: the one given or found, else the default beside the working folder. */
export function configFileOf(ctx: Context): string {
  return ctx.config.file ?? resolve(ctx.cwd, DEFAULT_CONFIG_FILE);
}

export async function updateConfig(ctx: Context, change: (config: Record<string, unknown>) => void): Promise<string> {
  const file = configFileOf(ctx);
  const stateDir = stateDirOf(ctx);
  if (!existsSync(stateDir)) {
    // Before `init`: the folder the lock makes gets its .gitignore, so git shows only the config's change.
    await mkdir(stateDir, { recursive: true });
    const { ensureStateGitignore } = await import('@deploystate/migrator');
    await ensureStateGitignore(stateDir);
  }
  return withFileLock(
    file,
    async (lock) => {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      const config = text === undefined ? {} : parseConfigText(text, file);
      change(config);
      lock.assertHeld();
      // The file's indent, line ends and byte-order mark stay, so git shows only the decision recorded.
      await writeFileDurable(file, keepingFileStyle(text, `${stringifyLossless(config, 2)}\n`));
      return file;
    },
    { lockDir: stateDir, purpose: `recording a decision in ${file}` },
  );
}
