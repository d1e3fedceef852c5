// The copy meets a malformed state file where it would write: each case is refused with its own
// code naming the file, and the file (or folder, or link and what it points at) is left as it was.
// A byte-order mark is no malformation: the copy reads past it and keeps it.
import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { writeLegacyStore } from '@deploystate/backend-leveldb';
import { Migration } from '../src/index.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-malformed-');

/** A LevelDB store with two records on chain 56, a migration in dual-write, and its state file path. */
async function project(): Promise<{ migration: Migration; file: string }> {
  const dir = tempDir();
  await writeLegacyStore(join(dir, 'leveldb'), [
    { key: '56-A', value: sampleRecord(56, 'A', 'bscmainnet') },
    { key: '56-B', value: sampleRecord(56, 'B', 'bscmainnet') },
  ]);
  const migration = await Migration.open({ cwd: dir });
  await migration.enableDualWrite();
  await mkdir(join(dir, 'deployments'), { recursive: true });
  return { migration, file: join(dir, 'deployments', 'bscmainnet.json') };
}

/** A state file of chain 56 holding record A, with `extra` spliced into the top-level object. */
function stateText(extra = ''): string {
  const records = { A: sampleRecord(56, 'A', 'bscmainnet') };
  const text = stringifyLossless({ schemaVersion: 1, network: 'bscmainnet', chainId: 56, records }, 2);
  return `${text.slice(0, -2)}${extra}\n}\n`;
}

async function refusal(promise: Promise<unknown>): Promise<{ code?: string; file?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code?: string; file?: string },
  );
  expect(error, 'expected the copy to refuse').toBeDefined();
  return error as { code?: string; file?: string };
}

describe('the copy over a malformed state file', () => {
  it('refuses a file with a duplicated key (DUPLICATE_KEY, naming it) and leaves it byte for byte', async () => {
    const { migration, file } = await project();
    const text = stateText(',\n  "network": "again"');
    await writeFile(file, text);
    expect(await refusal(migration.migrate())).toMatchObject({ code: ErrorCodes.DUPLICATE_KEY, file });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('refuses a folder where the state file belongs (NOT_A_FILE, naming it) and leaves the folder', async () => {
    const { migration, file } = await project();
    await mkdir(file);
    await writeFile(join(file, 'inside.txt'), 'kept');
    expect(await refusal(migration.migrate())).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
    expect((await lstat(file)).isDirectory()).toBe(true);
    expect(await readFile(join(file, 'inside.txt'), 'utf8')).toBe('kept');
  });

  it('refuses a link out of the deployments folder (NOT_A_FILE, naming it): neither link nor target changes', async () => {
    const { migration, file } = await project();
    const outside = join(tempDir(), 'outside.json');
    const text = stateText();
    await writeFile(outside, text);
    await symlink(outside, file);
    try {
      expect(await refusal(migration.migrate())).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(await readlink(file)).toBe(outside);
      expect(await readFile(outside, 'utf8')).toBe(text);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('reads past a byte-order mark, copies into the file and keeps the mark', async () => {
    const { migration, file } = await project();
    await writeFile(file, `\uFEFF${stateText()}`);
    await migration.migrate();
    const after = await readFile(file, 'utf8');
    expect(after.startsWith('\uFEFF{')).toBe(true);
    expect(Object.keys((parseLossless(after.slice(1)) as { records: object }).records).sort()).toEqual(['A', 'B']);
    expect((await migration.verify()).clean).toBe(true);
  });
});

describe('verify and compare over a folder or link where a state file belongs', () => {
  it('both refuse it (NOT_A_FILE, naming it), and verify records unclean evidence: its records never pass for missing', async () => {
    const { migration, file } = await project();
    await migration.migrate();
    expect((await migration.verify()).clean).toBe(true);
    const copied = await readFile(file, 'utf8');
    const outside = join(tempDir(), 'outside.json');
    await writeFile(outside, copied);
    for (const place of [() => rm(file).then(() => mkdir(file)), () => rm(file, { recursive: true }).then(() => symlink(outside, file))]) {
      await place();
      expect(await refusal(migration.verify())).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
      expect((await migration.status()).state.lastVerify?.clean).toBe(false);
      expect(await refusal(migration.compare())).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file });
    }
    await rm(file, { force: true });
  });
});
