// After `rename-network`, a deploy script's createStateStore() reads and writes the renamed file,
// as the CLI and the drop-in module do: it reads the name from deploystate.config.json.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateModule, createStateStore } from '@deploystate/migrator';
import { childEnv, deploystate, onlyDocument, outputOf, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rename-factory-', { demo: false });

async function run(args: string[]): Promise<void> {
  const result = await fixture.inSample(args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
}

describe('deploy scripts after rename-network', () => {
  it('read and write the renamed file through createStateStore(), and verify stays clean', async () => {
    await sampleAt(fixture.sample, [['init'], ['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
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

const migratorUrl = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/migrator')).href;
const coreUrl = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/core')).href;

/** A deploy script: one store, a put to chain 56 every 15 ms (W0, W1, ...), "ready" after the first; errors printed with their code. */
const WRITER = `
import { createStateStore } from ${JSON.stringify(migratorUrl)};
import { sampleRecord } from ${JSON.stringify(coreUrl)};
const store = createStateStore({ cwd: process.argv[2], env: {} });
for (let i = 0; i < Number(process.argv[3]); i++) {
  try {
    await store.putContract(56, sampleRecord(56, 'W' + i, 'bscmainnet', i));
  } catch (error) {
    console.log('error ' + error.code + ' ' + error.message);
  }
  if (i === 0) console.log('ready');
  await new Promise((resolve) => setTimeout(resolve, 15));
}
await store.close();
`;

// Before, a script writing while the file was renamed kept the old name: it wrote bscmainnet.json
// anew (with a FOREIGN_OVERWRITE warning), and every other process read bsc.json without its writes.
describe('a deploy script writing through rename-network', () => {
  it('follows the rename: every write lands in the renamed file, and the old name never comes back', async () => {
    const dir = await sampleAt(join(fixture.root, 'renamed-while-writing'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const script = join(fixture.root, 'writer.mjs');
    await writeFile(script, WRITER);
    const count = 80;
    const writer = spawn(process.execPath, [script, dir, String(count)], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const done = outputOf(writer);
    await new Promise<void>((resolve) => writer.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
    const rename = await deploystate(['rename-network', '56', 'bsc', '--yes'], { cwd: dir });
    expect(rename.code, rename.stderr).toBe(0);
    const { code, stdout, stderr } = await done;
    expect(code, stderr).toBe(0);
    expect(stdout.split('\n').filter((line) => line.startsWith('error'))).toEqual([]);
    expect(stderr).not.toContain('FOREIGN_OVERWRITE');
    const deployments = join(dir, 'deployments');
    expect(existsSync(join(deployments, 'bscmainnet.json'))).toBe(false);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      const names = (await store.list(56)).map((r) => r.contractName);
      for (let i = 0; i < count; i++) expect(names, `W${i}`).toContain(`W${i}`);
    } finally {
      await store.close();
    }
  }, 120_000);
});
