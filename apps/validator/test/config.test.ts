// The project config as deploystate-validate reads it: core's one reading, shared with the CLI and
// deploy scripts, so a file one refuses the other refuses with the same code, and a chain renamed
// in the config names its state file for the validator too.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { cleanRecord, put, render, stateDocument } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const exec = promisify(execFile);

async function runBin(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

const errorOf = (stdout: string): { code: string; file?: string; position?: unknown; message: string } =>
  (JSON.parse(stdout) as { error: { code: string; file?: string; position?: unknown; message: string } }).error;

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('validator-config-');
  await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [cleanRecord(56, 'LookCoin')])));
});
afterEach(async () => removeTempDir(dir));

describe('the project config', () => {
  it('a key it does not know is INVALID_CONFIG naming it and the key meant, as the CLI says', async () => {
    const file = await put(dir, 'deploystate.config.json', '{\n  "acknowlege": []\n}\n');
    const run = await runBin(['--json'], dir);
    expect(run.code).toBe(2);
    expect(errorOf(run.stdout)).toMatchObject({ code: 'INVALID_CONFIG', file, position: { line: 2, column: 3 } });
    expect(errorOf(run.stdout).message).toContain('did you mean "acknowledge"?');
    // Inside an entry too.
    await put(dir, 'deploystate.config.json', render({ networks: [{ chainId: 56, name: 'bscmainnet', alias: ['bsc'], tier: 'mainnet' }] }));
    expect(errorOf((await runBin(['--json'], dir)).stdout).message).toContain('networks[0].alias');
  });

  it('a key named twice is DUPLICATE_KEY with its position: neither value is used', async () => {
    const file = await put(dir, 'deploystate.config.json', '{\n  "acknowledge": [],\n  "acknowledge": []\n}\n');
    const run = await runBin(['--json'], dir);
    expect(run.code).toBe(4);
    expect(errorOf(run.stdout)).toMatchObject({ code: 'DUPLICATE_KEY', file, position: { line: 3, column: 3 } });
  });

  it('a chain the config renames is judged by its file under the new name', async () => {
    const deployments = join(dir, 'deployments');
    await rm(join(deployments, 'bscmainnet.json'));
    await put(deployments, 'bsc.json', render({ ...stateDocument(56, [cleanRecord(56, 'LookCoin')]), network: 'bsc' }));
    await put(
      dir,
      'deploystate.config.json',
      render({ networks: [{ chainId: 56, name: 'bsc', aliases: ['bscmainnet'], tier: 'mainnet' }] }),
    );
    const run = await runBin(['--json'], dir);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('CHAIN_MISMATCH');
  });

  it('a config named on the command line that does not exist is INVALID_CONFIG naming it', async () => {
    const run = await runBin(['--config', 'missing.json', '--json'], dir);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(2);
    expect(errorOf(run.stdout)).toMatchObject({ code: 'INVALID_CONFIG', file: join(dir, 'missing.json') });
  });
});
