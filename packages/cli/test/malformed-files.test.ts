// Malformed state files through the CLI, as real processes: `migrate` meets a duplicated key, a
// folder and a link out of the deployments folder where it would write. Each is refused with its
// own code and exit 4, the path named in --json and in the text, and nothing there is changed.
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { sampleRecord, stringifyLossless } from '@deploystate/core';
import { describe, expect, it } from 'vitest';
import { copyProject, deploystate, onlyDocument, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-malformed-', { demo: false });

let inDualWrite: Promise<string> | undefined;

/** Two records on chain 56 in LevelDB, in dual-write (enabled by the CLI): made once, copied by each test. */
function twoRecordsInDualWrite(): Promise<string> {
  inDualWrite ??= (async () => {
    const dir = join(fixture.root, 'in-dual-write');
    // B is not in the state files the tests write, so the copy has to write there.
    await writeLegacyStore(join(dir, 'leveldb'), [
      { key: '56-A', value: sampleRecord(56, 'A', 'bscmainnet') },
      { key: '56-B', value: sampleRecord(56, 'B', 'bscmainnet') },
    ]);
    const enable = await deploystate(['dual-write', 'enable', '--yes'], { cwd: dir });
    expect(enable.code, enable.stderr).toBe(0);
    return dir;
  })();
  return inDualWrite;
}

/** A project in dual-write with two records on chain 56; returns it and its state file path. */
async function project(name: string): Promise<{ dir: string; file: string }> {
  const dir = join(fixture.root, name);
  await copyProject(await twoRecordsInDualWrite(), dir);
  await mkdir(join(dir, 'deployments'), { recursive: true });
  return { dir, file: join(dir, 'deployments', 'bscmainnet.json') };
}

async function refusedMigrate(dir: string, code: string, file: string): Promise<void> {
  const json = await deploystate(['migrate', '--yes', '--json'], { cwd: dir });
  expect(json.code, json.stderr).toBe(4);
  expect(onlyDocument(json)).toMatchObject({ ok: false, error: { code, file } });
  const text = await deploystate(['migrate', '--yes'], { cwd: dir });
  expect(text.code).toBe(4);
  expect(text.stderr).toContain(`error ${code}`);
  expect(text.stderr).toContain(file);
}

const stateText = (extra: string): string =>
  `${stringifyLossless({ schemaVersion: 1, network: 'bscmainnet', chainId: 56, records: { A: sampleRecord(56, 'A', 'bscmainnet') } }, 2).slice(0, -2)}${extra}\n}\n`;

describe('migrate over malformed state files', () => {
  it('a duplicated key: DUPLICATE_KEY, exit 4, the file named and left byte for byte', async () => {
    const { dir, file } = await project('duplicate');
    const text = stateText(',\n  "network": "again"');
    await writeFile(file, text);
    await refusedMigrate(dir, 'DUPLICATE_KEY', file);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('a folder: NOT_A_FILE, exit 4, the path named and the folder left as it was', async () => {
    const { dir, file } = await project('folder');
    await mkdir(file);
    await writeFile(join(file, 'inside.txt'), 'kept');
    await refusedMigrate(dir, 'NOT_A_FILE', file);
    expect((await lstat(file)).isDirectory()).toBe(true);
    expect(await readFile(join(file, 'inside.txt'), 'utf8')).toBe('kept');
    // status says so, in the text and in --json (before, it showed nothing: only a probe found it).
    const status = await deploystate(['status', '--no-color'], { cwd: dir });
    expect(status.stdout.replace(/\s+/g, ' ')).toContain(`unreadable ${file} (NOT_A_FILE): every read and write of chain 56 fails`);
    expect(onlyDocument(await deploystate(['status', '--json'], { cwd: dir })).unreadableFiles).toEqual([expect.objectContaining({ file, code: 'NOT_A_FILE' })]);
  });

  it('a link out of the deployments folder: NOT_A_FILE, exit 4, neither link nor target changed', async () => {
    const { dir, file } = await project('link');
    const outside = join(dir, 'outside.json');
    const text = stateText('');
    await writeFile(outside, text);
    await symlink(outside, file);
    await refusedMigrate(dir, 'NOT_A_FILE', file);
    expect(await readlink(file)).toBe(outside);
    expect(await readFile(outside, 'utf8')).toBe(text);
  });
});

describe('a LevelDB key that is no record key', () => {
  it('exclude takes it once analyze lists it as unmigratable (and refuses one nobody listed), and migrate then leaves it behind', async () => {
    const dir = join(fixture.root, 'odd-key');
    await writeLegacyStore(join(dir, 'leveldb'), [
      { key: '56-A', value: sampleRecord(56, 'A', 'bscmainnet') },
      { key: 'bad key', raw: '{"note":"left by an old script"}' },
    ]);
    const before = await deploystate(['exclude', 'bad key', '--json'], { cwd: dir });
    expect(before.code).toBe(4);
    expect(onlyDocument(before).error).toMatchObject({ code: 'INVALID_KEY', hint: expect.stringContaining('analyze') });
    const analyze = await deploystate(['analyze', '--json'], { cwd: dir });
    expect(onlyDocument(analyze).unmigratable).toEqual(['bad key']);
    const excluded = await deploystate(['exclude', 'bad key', '--json'], { cwd: dir });
    expect(excluded.code, excluded.stderr).toBe(0);
    expect((await deploystate(['exclude', 'other junk'], { cwd: dir })).code).toBe(4);
    expect((await deploystate(['dual-write', 'enable', '--yes'], { cwd: dir })).code).toBe(0);
    const migrate = await deploystate(['migrate', '--yes', '--json'], { cwd: dir });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(onlyDocument(migrate)).toMatchObject({ copied: 1, excluded: ['bad key'] });
  });
});
