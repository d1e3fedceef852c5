// repair-files writes each network file once, with all its repairs, all or nothing: a disk that
// fills part-way (here the process's file-size limit, which fails a write as a full disk does) leaves
// the file as it was, and a rerun repairs it whole. Before, it wrote the file once per record put
// back, so the limited run repaired some and left the rest to a rerun. Real processes, real limit.
// Over several files, the ones written before a file that fails stay repaired: journalled, and named by the error.
import { execFile } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { createStateStore } from '@deploystate/migrator';
import { BIN, childEnv, deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-repair-files-once-', { demo: false });
const run = promisify(execFile);
const LOST = ['Lost1', 'Lost2', 'Lost3'];
/** Each lost record's size in the file, about: its one long argument. */
const ARG_CHARS = 6_000;

const recordsIn = async (file: string): Promise<string[]> =>
  Object.keys((JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, unknown> }).records);

describe('repair-files on a disk that fills part-way', () => {
  it.skipIf(process.platform !== 'linux')('puts back none of a file’s records, and a rerun puts back all of them', async () => {
    const dir = await sampleAt(join(fixture.root, 'repair'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
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

describe('repair-files over several network files, one of which cannot be written', () => {
  it('journals the files it repaired when a later network file cannot be written', async () => {
    const dir = await sampleAt(join(fixture.root, 'repair-two'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putContract(56, sampleRecord(56, 'LostMain', 'bscmainnet', 5));
      await store.putContract(97, sampleRecord(97, 'LostTest', 'bsctestnet', 5));
    } finally {
      await store.close();
    }
    // Another program rewrites both network files without them.
    for (const [name, lost] of [
      ['bscmainnet.json', 'LostMain'],
      ['bsctestnet.json', 'LostTest'],
    ] as const) {
      const file = join(dir, 'deployments', name);
      const document = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
      delete document.records[lost];
      await writeFile(file, `${stringifyLossless(document, 2)}\n`);
    }
    // bsctestnet's write fails (its backups folder is a file: the write refuses before its rename); bscmainnet's, first, goes through.
    const shelf = join(dir, 'deployments', '.deploystate', 'backups', 'bsctestnet.json');
    await rm(shelf, { recursive: true, force: true });
    await writeFile(shelf, 'not a folder\n');
    const failed = await deploystate(['repair-files', '--yes', '--json'], { cwd: dir });
    expect(failed.code).not.toBe(0);
    // The error names what was put back before the write that failed.
    const error = onlyDocument(failed).error as { code: string; message: string; hint: string; details: { repaired: string[] } };
    expect(error.code).toBe('WRITE_FAILED');
    expect(error.details.repaired).toEqual(['56-LostMain']);
    expect(error.hint).not.toContain('intact');
    expect(error.message).toContain('repaired before it, and kept: 56-LostMain');
    expect(await recordsIn(join(dir, 'deployments', 'bscmainnet.json'))).toContain('LostMain');
    expect(await recordsIn(join(dir, 'deployments', 'bsctestnet.json'))).not.toContain('LostTest');
    // The repair that landed is in the journal (the report lists it), the one that did not is not.
    const events = (await readFile(join(dir, '.deploystate', 'journal.ndjson'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"files-repaired"'))
      .map((line) => JSON.parse(line) as { detail: string });
    expect(events.map((e) => e.detail)).toEqual(['put 56-LostMain']);
  }, 120_000);
});
