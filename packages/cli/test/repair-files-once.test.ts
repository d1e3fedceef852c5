// repair-files writes each network file once, with all its repairs, all or nothing: a disk that
// fills part-way (here the process's file-size limit, which fails a write as a full disk does) leaves
// the file as it was, and a rerun repairs it whole. Before, it wrote the file once per record put
// back, so the limited run repaired some and left the rest to a rerun. Real processes, real limit.
import { execFile } from 'node:child_process';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { createStateStore } from '@deploystate/migrator';
import { BIN, childEnv, deploystate, onlyDocument, runSteps, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-repair-files-once-');
const run = promisify(execFile);
const LOST = ['Lost1', 'Lost2', 'Lost3'];
/** Each lost record's size in the file, about: its one long argument. */
const ARG_CHARS = 6_000;

const recordsIn = async (file: string): Promise<string[]> =>
  Object.keys((JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, unknown> }).records);

describe('repair-files on a disk that fills part-way', () => {
  it.skipIf(process.platform !== 'linux')('puts back none of a file’s records, and a rerun puts back all of them', async () => {
    const dir = join(fixture.root, 'repair');
    await cp(fixture.sample, dir, { recursive: true });
    await runSteps(dir, [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      for (const name of LOST) await store.putContract(97, { ...sampleRecord(97, name, 'bsctestnet', 5), deploymentArgs: ['x'.repeat(ARG_CHARS)] });
    } finally {
      await store.close();
    }
    // Another program rewrites the network file without them (every other key kept, numbers exact).
    const file = join(dir, 'deployments', 'bsctestnet.json');
    const document = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    for (const name of LOST) delete document.records[name];
    await writeFile(file, `${stringifyLossless(document, 2)}\n`);
    const before = await readFile(file, 'utf8');
    const plan = onlyDocument(await deploystate(['repair-files', '--dry-run', '--json'], { cwd: dir }));
    expect((plan.actions as Array<{ key: string }>).map((a) => a.key)).toEqual(LOST.map((n) => `97-${n}`));

    // Room for the file with one record put back, not with all three.
    const limitKb = Math.ceil(((await stat(file)).size + ARG_CHARS * 1.5) / 1024);
    const limited = await run('bash', ['-c', `ulimit -S -f ${limitKb} && exec "$0" "$@"`, process.execPath, BIN, 'repair-files', '--yes', '--json'], {
      cwd: dir,
      env: childEnv(),
    }).then(
      () => ({ code: 0 }),
      (error: { code: number }) => ({ code: error.code }),
    );
    expect(limited.code).not.toBe(0);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await recordsIn(file)).not.toContain('Lost1');

    const rerun = await deploystate(['repair-files', '--yes', '--json'], { cwd: dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((onlyDocument(rerun).applied as Array<{ key: string }>).map((a) => a.key)).toEqual(LOST.map((n) => `97-${n}`));
    expect(await recordsIn(file)).toEqual(expect.arrayContaining(LOST));
  }, 120_000);
});
