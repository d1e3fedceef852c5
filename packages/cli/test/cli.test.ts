import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/program.js';
import { deploystate, onlyDocument } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('deploystate-cli-');
});
afterAll(async () => {
  await removeTempDir(root);
});

describe('help and version', () => {
  it('every command answers --help with exit 0 and shows its examples', async () => {
    for (const spec of COMMANDS) {
      const name = spec.usage.split(' ')[0] as string;
      const run = await deploystate([name, '--help'], { cwd: root });
      expect(run.code, name).toBe(0);
      expect(run.stdout, name).toContain('Examples:');
      expect(run.stdout, name).toContain(spec.examples[0]);
    }
  });

  it('--help without a command lists every command and the exit codes', async () => {
    const run = await deploystate(['--help'], { cwd: root });
    expect(run.code).toBe(0);
    for (const spec of COMMANDS) expect(run.stdout).toContain(spec.usage);
    expect(run.stdout).toContain('Exit codes');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await deploystate(['--version'], { cwd: root });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`deploystate/${pkg.version}`);
  });
});

describe('migrate --demo', () => {
  it('runs every phase on a fresh sample and ends with the report summary and its files', async () => {
    const dir = join(root, 'demo-run');
    const run = await deploystate(['migrate', '--demo', dir], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    for (const phase of ['analyze', 'dual-write enable', 'migrate', 'verify', 'promote', 'cutover', 'report']) expect(run.stderr).toContain(phase);
    expect(run.stdout).toContain('Migration status: SUCCESS');
    const files = [...run.stdout.matchAll(/^\s+(\S+\.(?:md|json))$/gm)].map((m) => m[1] as string);
    expect(files).toHaveLength(2);
    for (const file of files) expect(existsSync(file)).toBe(true);
  });
});

describe('exit codes and --json', () => {
  it('a command where nothing exists says what it looked for, how to get a sample, and exits 4', async () => {
    const empty = join(root, 'empty');
    const run = await deploystate(['analyze'], { cwd: root });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('STORE_NOT_FOUND');
    expect(run.stderr).toContain(join(root, 'leveldb'));
    expect(run.stderr).toContain('deploystate demo');
    const json = await deploystate(['status', '--json', '--leveldb', empty], { cwd: root });
    expect(json.code).toBe(4);
    expect((onlyDocument(json).error as { code: string }).code).toBe('STORE_NOT_FOUND');
  });

  it('usage errors exit 2: unknown command, bad option value, a destructive step with no terminal and no --yes', async () => {
    expect((await deploystate(['no-such-command'], { cwd: root })).code).toBe(2);
    expect((await deploystate(['migrate', '--batch-size', 'x'], { cwd: root })).code).toBe(2);
    expect((await deploystate(['dual-write'], { cwd: root })).code).toBe(2);
    expect((await deploystate(['analyze', '--no-such-option'], { cwd: root })).code).toBe(2);
  });
});
