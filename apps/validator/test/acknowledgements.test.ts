// Recorded acknowledgements (core's format, in the project config): the binary reads them without
// the migrator, shows the findings they accept as acknowledged and passes; a changed record fails again.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acknowledge } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { validateDeployments } from '../src/index.js';
import { cleanRecord, put, render, stateDocument } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const exec = promisify(execFile);

async function runBin(args: string[], cwd: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout };
  }
}

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('validator-ack-');
});
afterEach(async () => removeTempDir(dir));

describe('acknowledged findings', () => {
  it('are shown as acknowledged and count against nothing, until the record changes', async () => {
    const record = { ...cleanRecord(56, 'LookCoin'), address: '0xdeadbeef' };
    await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [record])));
    expect((await runBin([], dir)).code).toBe(1);

    const ack = acknowledge({ key: '56-LookCoin', code: 'INVALID_ADDRESS' }, 'bscmainnet.json', record);
    await put(dir, 'deploystate.config.json', render({ acknowledge: [ack] }));
    const passed = await runBin([], dir);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('INVALID_ADDRESS error, acknowledged');
    const result = await validateDeployments(join(dir, 'deployments'), { acknowledgements: [ack] });
    expect(result.ok).toBe(true);
    expect(result.summary).toMatchObject({ errors: 0, acknowledged: 1 });
    expect(result.findings.find((f) => f.code === 'INVALID_ADDRESS')?.acknowledged).toBe(true);

    // The same finding on a changed record is not the one that was accepted.
    await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [{ ...record, timestamp: Number(record.timestamp) + 1 }])));
    expect((await runBin([], dir)).code).toBe(1);
  });

  it('a malformed acknowledgement is a usage error naming the config', async () => {
    await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [cleanRecord(56, 'LookCoin')])));
    await put(dir, 'other.json', render({ acknowledge: [{ file: 'bscmainnet.json', key: '56-LookCoin', code: 'NOPE', digest: 'x' }] }));
    const run = await runBin(['--config', 'other.json', '--json'], dir);
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { error: { code: string; file: string } }).error).toMatchObject({ code: 'INVALID_CONFIG', file: join(dir, 'other.json') });
  });

  it('a config saved with a UTF-8 byte-order mark is read as without it', async () => {
    await put(join(dir, 'deployments'), 'bscmainnet.json', render(stateDocument(56, [cleanRecord(56, 'LookCoin')])));
    await put(dir, 'deploystate.config.json', `\uFEFF${render({ acknowledge: [] })}`);
    const run = await runBin(['--json'], dir);
    expect(run.code, run.stdout).toBe(0);
  });
});
