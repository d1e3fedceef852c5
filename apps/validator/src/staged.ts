// Pre-commit mode: judge what git's index holds, not the working tree. Every file under the
// deployments folder is read from the index (staged or not) into a temp folder, so the checks
// across files judge one snapshot, the one about to be committed; reported paths name the real folder.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { ValidateOptions, ValidationResult } from './types.js';
import { validateDeployments } from './validate.js';

const run = promisify(execFile);

async function git(args: string[], cwd: string, input?: string): Promise<string> {
  if (input === undefined) return (await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

/** Copies the index's version of every file under `dir` into a temp folder; returns the folder that mirrors `dir`. */
async function indexSnapshot(dir: string, into: string): Promise<string> {
  let top: string;
  try {
    top = (await git(['rev-parse', '--show-toplevel'], dir)).trim();
  } catch (error) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--staged needs ${dir} to be inside a git repository with git on the PATH`, {
      file: dir,
      cause: error,
    });
  }
  const prefix = relative(await realpath(top), await realpath(dir)).split(sep).join('/');
  const names = await git(['ls-files', '-z', '--cached', '--', prefix === '' ? '.' : `${prefix}/`], top);
  if (names !== '') await git(['checkout-index', `--prefix=${into}/`, '-z', '--stdin'], top, names);
  const mirror = prefix === '' ? into : join(into, ...prefix.split('/'));
  await mkdir(mirror, { recursive: true });
  return mirror;
}

/** Replaces the snapshot folder with the real one in every path the result names. */
function relocate<T>(value: T, from: string, to: string): T {
  if (typeof value === 'string') return value.split(from).join(to) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => relocate(item, from, to)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = relocate(item, from, to);
    return out as T;
  }
  return value;
}

/**
 * Validates the deployments folder as git's index holds it (a pre-commit hook). Throws
 * INVALID_ARGUMENT outside a git repository; paths in the result name `dir`, not the snapshot.
 */
export async function validateStaged(dir: string, options: Omit<ValidateOptions, 'files'> = {}): Promise<ValidationResult> {
  const temp = await mkdtemp(join(tmpdir(), 'deploystate-staged-'));
  try {
    const mirror = await indexSnapshot(dir, temp);
    const result = await validateDeployments(mirror, options);
    return relocate(result, mirror, dir);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
