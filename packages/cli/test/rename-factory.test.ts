// After `rename-network`, a deploy script's createStateStore() reads and writes the renamed file,
// as the CLI and the drop-in module do: it reads the name from deploystate.config.json.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateModule, createStateStore } from '@deploystate/migrator';
import { onlyDocument, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rename-factory-');

async function run(args: string[]): Promise<void> {
  const result = await fixture.inSample(args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
}

describe('deploy scripts after rename-network', () => {
  it('read and write the renamed file through createStateStore(), and verify stays clean', async () => {
    for (const step of [['init'], ['dual-write', 'enable', '--yes'], ['migrate', '--yes'], ['verify'], ['promote', '--yes']]) await run(step);
    await run(['rename-network', '56', 'bsc', '--yes']);
    const deployments = join(fixture.sample, 'deployments');
    expect(existsSync(join(deployments, 'bscmainnet.json'))).toBe(false);

    const record = sampleRecord(56, 'ScriptWrite', 'bsc');
    const store = createStateStore({ cwd: fixture.sample, env: {} });
    try {
      expect((await store.getContract(56, 'LookCoin'))?.contractName).toBe('LookCoin');
      await store.putContract(56, record);
    } finally {
      await store.close();
    }
    const module = createStateModule({ cwd: fixture.sample, env: {} });
    try {
      expect((await module.getContract(56, 'ScriptWrite'))?.address).toBe(record.address);
    } finally {
      await module.close();
    }
    expect((await readdir(deployments)).filter((name) => name.startsWith('bsc')).sort()).toEqual(['bsc.json', 'bscmainnet-config.json', 'bsctestnet.json']);
    expect(await readFile(join(deployments, 'bsc.json'), 'utf8')).toContain('"ScriptWrite"');

    const verify = await fixture.inSample(['verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(onlyDocument(verify)).toMatchObject({ clean: true });
  }, 120_000);
});
