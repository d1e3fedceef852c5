// Registers the record-wise merge driver for the deployment files: the .gitattributes line that
// names it, and the `git config` lines each clone runs once (git never lets a repository enable a
// driver by itself: the command would run code from the repository).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const MERGE_DRIVER = 'deploystate';

const DRIVER_COMMAND = 'npx deploystate merge-file %O %A %B %P';

/** The one-time setup of each clone. */
export const MERGE_DRIVER_CONFIG: readonly string[] = [
  `git config merge.${MERGE_DRIVER}.name "deploystate: merge deployment state by record"`,
  `git config merge.${MERGE_DRIVER}.driver "${DRIVER_COMMAND}"`,
];

/**
 * Whether the clone at `cwd` already runs this merge driver (`git config merge.deploystate.driver`
 * is this command), so `init` need not print the setup lines again. False where git cannot tell (no
 * repository, no git). Reads only: nothing in `.git` is written.
 */
export function mergeDriverConfigured(cwd: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['config', '--get', `merge.${MERGE_DRIVER}.driver`],
      { cwd, timeout: 10_000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (error, stdout) => resolve(!error && stdout.trim() === DRIVER_COMMAND),
    );
  });
}

export interface AttributesResult {
  file: string;
  line: string;
  /** added: written now; present: already there; outside: the deployments folder is not under the project. */
  status: 'added' | 'present' | 'outside';
}

/** Adds `<deployments>/*.json merge=deploystate` to the project's .gitattributes unless it is there. */
export async function ensureMergeAttributes(cwd: string, deployments: string): Promise<AttributesResult> {
  const file = join(cwd, '.gitattributes');
  const folder = relative(cwd, deployments).split(sep).join('/');
  const line = `${folder === '' ? '' : `${folder}/`}*.json merge=${MERGE_DRIVER}`;
  if (folder.startsWith('..')) return { file, line, status: 'outside' };
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    // Node names no path for some of these (EISDIR): the operator is told which file.
    throw Object.assign(error, { path: error.path ?? file });
  });
  if (text.split(/\r?\n/).some((l) => l.trim() === line)) return { file, line, status: 'present' };
  // In the file's own line ends (CRLF in a Windows checkout), so git shows only the line added.
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  await writeFile(file, `${text}${text === '' || text.endsWith('\n') ? '' : eol}${line}${eol}`);
  return { file, line, status: 'added' };
}
