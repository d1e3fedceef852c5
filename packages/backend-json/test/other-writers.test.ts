// The store's rules for what it never rewrites hold for every other writer of a state file too:
// updateDeploymentFile, restore and the merge refuse a key named twice (DUPLICATE_KEY, with its
// line) and a link or folder at the path (NOT_A_FILE), write nothing and leave file and link as
// they were.
import { lstat, mkdir, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import {
  isStateFileMerge,
  JsonFileStore,
  mergeStateFiles,
  resolveConflicts,
  restoreStateFile,
  updateDeploymentFile,
} from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();
const FILE = 'deployments/bscmainnet.json';
const ADDRESS_A = `0x${'a'.repeat(40)}`;

let outside: string | undefined;
afterEach(async () => {
  if (outside !== undefined) await removeTempDir(outside);
  outside = undefined;
});

/** The store's text for records A and B, and the same text with A named twice: first with ADDRESS_A, then as stored. */
async function texts(): Promise<{ dir: string; file: string; clean: string; twice: string; line: number }> {
  const { dir, store } = await setup();
  await store.put(rec(56, 'A'));
  await store.put(rec(56, 'B'));
  const file = join(dir, 'bscmainnet.json');
  const clean = await readFile(file, 'utf8');
  const entry = /^ {4}"A": \{[\s\S]*?\n {4}\}/m.exec(clean)?.[0] as string;
  const first = entry.replace(/"address": "0x[0-9a-fA-F]+"/, `"address": "${ADDRESS_A}"`);
  expect(first).not.toBe(entry);
  const twice = clean.replace(entry, `${first},\n${entry}`);
  const line = twice.split('\n').findIndex((l, i, all) => l === '    "A": {' && all.slice(0, i).includes('    "A": {')) + 1;
  expect(line).toBeGreaterThan(0);
  return { dir, file, clean, twice, line };
}

async function failure(run: () => Promise<unknown> | unknown): Promise<{ code?: string; file?: string; position?: { line: number } }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; file?: string; position?: { line: number } };
  }
  throw new Error('expected an error');
}

/** Moves the state file out of the folder and leaves a link to it in its place. */
async function linkOutside(file: string): Promise<{ real: string; bytes: string }> {
  outside = await makeTempDir('deploystate-outside-');
  const real = join(outside, 'real.json');
  const bytes = await readFile(file, 'utf8');
  await writeFile(real, bytes);
  await rm(file);
  await symlink(real, file);
  return { real, bytes };
}

describe('updateDeploymentFile', () => {
  it('refuses a file that names a key twice (DUPLICATE_KEY with its line): the callback is not called, no byte changes', async () => {
    const { dir, file, twice, line } = await texts();
    await writeFile(file, twice);
    let called = false;
    const error = await failure(() => updateDeploymentFile(56, () => void (called = true), { dir }));
    expect(error).toMatchObject({ code: ErrorCodes.DUPLICATE_KEY, file, position: { line } });
    expect(called).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(twice);
  });

  it('never follows nor replaces a link at the file’s path (NOT_A_FILE); a folder there is refused too', async () => {
    const { dir, file } = await texts();
    const { real, bytes } = await linkOutside(file);
    let called = false;
    const error = await failure(() => updateDeploymentFile('bscmainnet', () => void (called = true), { dir }));
    expect(error).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
    expect(called).toBe(false);
    expect(await readlink(file)).toBe(real);
    expect(await readFile(real, 'utf8')).toBe(bytes);

    await rm(file);
    await mkdir(file);
    expect(await failure(() => updateDeploymentFile(56, () => undefined, { dir }))).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
    expect((await lstat(file)).isDirectory()).toBe(true);
  });
});

describe('restore', () => {
  it('never replaces a link at the state file’s path (NOT_A_FILE): the link and the file it points to stay, no backup is made', async () => {
    const { dir, file } = await texts();
    const { real, bytes } = await linkOutside(file);
    const backups = join(dir, '.deploystate', 'backups', 'bscmainnet.json');
    const kept = await readdir(backups);
    expect(kept.length).toBeGreaterThan(0);
    expect(await failure(() => restoreStateFile(dir, 56))).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await readlink(file)).toBe(real);
    expect(await readFile(real, 'utf8')).toBe(bytes);
    expect(await readdir(backups)).toEqual(kept);
  });

  it('through the store too, and a link at the chain-<id>.json it would retire is refused before the state file is touched', async () => {
    const { dir, file } = await texts();
    const store = new JsonFileStore({ dir });
    await store.open();
    try {
      const { real } = await linkOutside(file);
      expect(await failure(() => store.restore(56))).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
      expect(await readlink(file)).toBe(real);

      // The state file damaged by hand, and a link where a chain stored before it was registered would be.
      await rm(file);
      await writeFile(file, '{"damaged": ');
      const stray = join(dir, 'chain-56.json');
      await symlink(real, stray);
      expect(await failure(() => store.restore(56))).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file: stray });
      expect(await readFile(file, 'utf8')).toBe('{"damaged": ');
      expect(await readlink(stray)).toBe(real);
    } finally {
      await store.close();
    }
  });
});

describe('the merge', () => {
  it('a side that names a key twice, whichever side, fails with DUPLICATE_KEY naming the file and line: no value is dropped', async () => {
    const { clean, twice, line } = await texts();
    for (const side of ['base', 'ours', 'theirs'] as const) {
      const sides = { base: clean, ours: clean, theirs: clean, [side]: twice };
      // Still a state file: the driver must not hand it to a line merge that could pass silently.
      expect(isStateFileMerge(sides, { file: FILE })).toBe(true);
      const error = await failure(() => mergeStateFiles(sides, { file: FILE }));
      expect(error, side).toMatchObject({ code: ErrorCodes.DUPLICATE_KEY, file: FILE, position: { line } });
    }
  });

  it('resolving conflicts in a text that names a key twice is refused too', async () => {
    const { twice, line } = await texts();
    expect(await failure(() => resolveConflicts(twice, { file: FILE, all: 'ours' }))).toMatchObject({
      code: ErrorCodes.DUPLICATE_KEY,
      file: FILE,
      position: { line },
    });
  });
});

// Another program that saves a network file without the store's lock (git checking it out or
// merging it, a script writing it itself) while a put prints and syncs its new version: the put
// renamed its version over the other program's, dropping what it added (git hunt: records a pull
// merged in vanished under a running deploy script; 1-6 of 20 replacements lost).
describe('a file another program replaces while a put is writing it', () => {
  /** The other program: the file as it is now, with one more record (a copy of A's), saved by rename as git saves it. */
  async function addByRename(file: string, name: string): Promise<void> {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    doc.records[name] = { ...doc.records.A, contractName: name };
    await writeFile(`${file}.other`, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(`${file}.other`, file);
  }

  it('starts again from the file as it is now: both changes are kept', async () => {
    const { dir, open } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await (await open()).put(rec(56, 'A'));
    let replaced = false;
    const store = await open({
      beforeReplace: async () => {
        if (replaced) return;
        replaced = true;
        await addByRename(file, 'Theirs');
      },
    });
    await store.put(rec(56, 'Mine'));
    const other = await open();
    expect((await other.list(56)).map((r) => r.contractName).sort()).toEqual(['A', 'Mine', 'Theirs']);
  });

  it('one that saves the file in place (the same inode) is seen too: both changes are kept', async () => {
    const { dir, open } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await (await open()).put(rec(56, 'A'));
    const inode = (await stat(file)).ino;
    let saved = false;
    const store = await open({
      beforeReplace: async () => {
        if (saved) return;
        saved = true;
        const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
        doc.records.Theirs = { ...doc.records.A, contractName: 'Theirs' };
        await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
        expect((await stat(file)).ino).toBe(inode);
      },
    });
    await store.put(rec(56, 'Mine'));
    const other = await open();
    expect((await other.list(56)).map((r) => r.contractName).sort()).toEqual(['A', 'Mine', 'Theirs']);
  });

  it('a file that keeps changing under every attempt refuses the put (WRITE_FAILED naming it), nothing written over the other program', async () => {
    const { dir, open } = await setup();
    const file = join(dir, 'bscmainnet.json');
    const first = await open();
    await first.put(rec(56, 'A'));
    let n = 0;
    const store = await open({ beforeReplace: () => addByRename(file, `Theirs${n++}`) });
    await expect(store.put(rec(56, 'Mine'))).rejects.toMatchObject({ code: 'WRITE_FAILED', file });
    const names = Object.keys((JSON.parse(await readFile(file, 'utf8')) as { records: object }).records);
    expect(names).toContain(`Theirs${n - 1}`);
    expect(names).not.toContain('Mine');
  });
});

