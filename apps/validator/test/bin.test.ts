// The built binary as a child process: exit codes and the machine-readable outputs.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, realpath, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { cleanRecord, positionOfText, put, render, stateDocument, writeValidFolder } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function runBin(args: string[], cwd?: string, bin = BIN): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Installs the built validator into `project`'s node_modules as a package manager would (its own
 * dependencies beside it, the optional peer @deploystate/backend-leveldb only if the project has
 * it) and returns its binary: in the workspace the peer is always linked.
 */
async function installValidator(project: string): Promise<string> {
  const here = fileURLToPath(new URL('..', import.meta.url));
  const modules = join(project, 'node_modules');
  const target = join(modules, '@deploystate', 'validator');
  await mkdir(target, { recursive: true });
  await cp(join(here, 'dist'), join(target, 'dist'), { recursive: true });
  await cp(join(here, 'package.json'), join(target, 'package.json'));
  for (const name of ['@deploystate/core', '@deploystate/backend-json', 'ajv']) {
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(await realpath(join(here, 'node_modules', name)), join(modules, name), 'dir');
  }
  return join(target, 'dist', 'bin.js');
}

let dir: string;
beforeAll(async () => {
  // The tests run the compiled binary: it must exist (pnpm --filter "@deploystate/validator..." build).
  await readFile(BIN);
});
beforeEach(async () => {
  dir = await makeTempDir('validator-bin-');
  await writeValidFolder(join(dir, 'deployments'));
});
afterEach(async () => removeTempDir(dir));

describe('deploystate-validate', () => {
  it('--help fits a 70-column terminal: every line, as printed', async () => {
    const run = await runBin(['--help'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes');
    const long = run.stdout.split('\n').filter((line) => line.length > 70);
    expect(long).toEqual([]);
  });

  it('exits 0 on a valid folder (./deployments by default) and prints the table and the skipped files', async () => {
    const run = await runBin([], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/file\s+chain\s+records\s+errors\s+warnings/);
    expect(run.stdout).toContain('deployments/bscmainnet.json');
    expect(run.stdout).toContain('deployments/bsc-config.json: not a state file name and no schemaVersion');
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('exits 1 on an error finding and prints it as file:line:col code message', async () => {
    const record = { ...cleanRecord(56, 'LookCoin'), address: '0xdeadbeef' };
    const file = await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [record])));
    const { line, column } = positionOfText(await readFile(file, 'utf8'), '"0xdeadbeef"');
    const run = await runBin(['deployments'], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`deployments/bscmainnet.json:${line}:${column} INVALID_ADDRESS error`);
  });

  it('exits 0 on warnings only, and 1 with --warnings-as-errors', async () => {
    const record = cleanRecord(56, 'LookCoin');
    delete record.implementationHash;
    await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [record])));
    expect((await runBin(['deployments'], dir)).code).toBe(0);
    expect((await runBin(['deployments', '--warnings-as-errors'], dir)).code).toBe(1);
  });

  it('--json prints one JSON document with every finding and its position', async () => {
    await put(join(dir, 'deployments'), 'bscmainnet.json', render({ ...stateDocument(56, []), chainId: 97 }));
    const run = await runBin(['deployments', '--json'], dir);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as {
      ok: boolean;
      findings: Array<Record<string, unknown>>;
      skipped: unknown[];
      summary: Record<string, number>;
    };
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([
      expect.objectContaining({ code: 'CHAIN_MISMATCH', file: 'deployments/bscmainnet.json', pointer: '/chainId', line: 4, column: 14 }),
    ]);
    expect(result.summary).toMatchObject({ errors: 1, files: 2 });
    expect(result.skipped).toHaveLength(3);
  });

  it('--format github prints workflow annotations with file, line and column', async () => {
    await put(join(dir, 'deployments'), 'bsctestnet.json', '{\n  "schemaVersion": 1,\n');
    const run = await runBin(['deployments', '--format', 'github'], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error file=deployments\/bsctestnet\.json,line=3,col=1,title=NOT_JSON::NOT_JSON: /m);
  });

  // `deploystate validate --format text` and this binary's `--format human` are one format: each
  // tool refused the other's name (exit 2).
  it('takes --format text, deploystate validate\'s name, as human', async () => {
    const human = await runBin(['deployments', '--format', 'human'], dir);
    const text = await runBin(['deployments', '--format', 'text'], dir);
    expect(text.code).toBe(human.code);
    expect(text.stdout).toBe(human.stdout);
    expect((await runBin(['deployments', '--format', 'text', '--format', 'human'], dir)).code).toBe(human.code);
  });

  it('exits 2 on a usage error and 4 with STORE_NOT_FOUND when the folder is missing', async () => {
    const usage = await runBin(['--format', 'xml'], dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('INVALID_ARGUMENT');
    expect((await runBin(['--bogus'], dir)).code).toBe(2);
    const missing = await runBin(['nowhere', '--json'], dir);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('nowhere');
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'STORE_NOT_FOUND', file: 'nowhere' } });
  });

  it('--leveldb without the LevelDB backend installed exits 6 (environment, as in the CLI) with BACKEND_UNAVAILABLE', async () => {
    const bin = await installValidator(dir);
    const run = await runBin(['deployments', '--leveldb', 'leveldb', '--json'], dir, bin);
    expect(run.code).toBe(6);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'BACKEND_UNAVAILABLE' } });
  });

  it('--leveldb loads @deploystate/backend-leveldb (its optional peer) from the project and compares with the store it opens', async () => {
    // A stand-in backend installed in the project's node_modules: it serves one record that differs.
    const bin = await installValidator(dir);
    const record = { ...cleanRecord(56, 'LookCoin', 0), address: '0x5555555555555555555555555555555555555555' };
    await put(
      dir,
      'node_modules/@deploystate/backend-leveldb/package.json',
      JSON.stringify({ name: '@deploystate/backend-leveldb', type: 'module', exports: { '.': { import: './index.js' } } }),
    );
    await put(
      dir,
      'node_modules/@deploystate/backend-leveldb/index.js',
      `export class LevelDbStore {
        constructor(options) { this.options = options; this.backend = 'leveldb'; }
        async open() { if (!this.options.readOnly) throw new Error('must be read-only'); }
        async close() {}
        async *iterate() { yield { key: '56-LookCoin', record: ${JSON.stringify(record)} }; }
      }\n`,
    );
    const run = await runBin(['deployments', '--leveldb', 'leveldb', '--json'], dir, bin);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { findings: Array<{ code: string; key?: string }>; comparison: { equal: boolean } };
    expect(result.comparison.equal).toBe(false);
    expect(result.findings.filter((f) => f.code === 'RECORD_DIFFERS').map((f) => f.key)).toEqual(['56-LookCoin']);
    expect(
      result.findings
        .filter((f) => f.code === 'MISSING_RECORD')
        .map((f) => f.key)
        .sort(),
    ).toEqual(['56-contracts/xchain/Router.sol:Router', '84532-LookCoin']);
  });

  it('--staged judges what the index holds: a bad staged file fails though its working copy is good', async () => {
    const git = (...args: string[]) => exec('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: dir });
    await git('init', '-q');
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const good = await readFile(file, 'utf8');
    await git('add', 'deployments');
    expect((await runBin(['deployments', '--staged'], dir)).code).toBe(0);
    // Stage a broken copy, then put the good text back in the working tree only.
    await put(join(dir, 'deployments'), 'bscmainnet.json', '{');
    await git('add', 'deployments/bscmainnet.json');
    await put(join(dir, 'deployments'), 'bscmainnet.json', good);
    expect((await runBin(['deployments'], dir)).code).toBe(0);
    const staged = await runBin(['deployments', '--staged', '--json'], dir);
    expect(staged.code).toBe(1);
    const result = JSON.parse(staged.stdout) as { findings: Array<{ code: string; file?: string }> };
    // Reported under the real folder, never the temp snapshot.
    expect(result.findings.find((f) => f.code === 'NOT_JSON')?.file).toBe('deployments/bscmainnet.json');
  });

  it('--staged passes a good staged file whose working copy is bad, and reads unstaged files from the index too', async () => {
    const git = (...args: string[]) => exec('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: dir });
    await git('init', '-q');
    await git('add', 'deployments');
    // Working tree broken in two files, one of which was never re-staged: the index is still good.
    await put(join(dir, 'deployments'), 'bscmainnet.json', '{');
    await put(join(dir, 'deployments'), 'basesepolia.json', '{');
    expect((await runBin(['deployments'], dir)).code).toBe(1);
    const staged = await runBin(['deployments', '--staged', '--json'], dir);
    expect(staged.stderr).toBe('');
    expect(staged.code).toBe(0);
    const files = (JSON.parse(staged.stdout) as { files: Array<{ file: string }> }).files.map((f) => f.file);
    expect(files).toContain('deployments/bscmainnet.json');
    expect(files).toContain('deployments/basesepolia.json');
  });

  it('--staged outside a git repository is a usage error (exit 2)', async () => {
    const run = await runBin(['deployments', '--staged', '--json'], dir);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});
