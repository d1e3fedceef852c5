// The committed phase file edited by hand (or merged badly) is checked under its own name, field by
// field, and a phase the state cannot be in is refused, never acted on: deploy scripts must not read
// a side that lacks records. A read-only verify before init creates no phase file.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, StateError } from '@deploystate/core';
import { createDemo, createStateStore, Migration, readState, sharedStateFile, stateFiles, resolvePaths } from '../src/index.js';
import { writeState } from '../src/state.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-phase-file-');

/** A demo project after init: leveldb-only, with its committed phase file. */
async function initialised(dir: string): Promise<{ phaseFile: string; original: Record<string, unknown> }> {
  await createDemo(dir);
  const migration = await Migration.open({ cwd: dir });
  expect(await migration.initShared()).toBe(true);
  await migration.close();
  const phaseFile = sharedStateFile(stateFiles(resolvePaths({ cwd: dir })).stateDir);
  return { phaseFile, original: JSON.parse(await readFile(phaseFile, 'utf8')) as Record<string, unknown> };
}

async function refusal(work: () => Promise<unknown>): Promise<StateError> {
  const error = await work().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StateError);
  return error as StateError;
}

describe('a hand-edited phase.json', () => {
  const edits: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown phase', { phase: 'json_only' }, 'phase'],
    ['exclusions that are not strings', { exclusions: [56] }, 'exclusions'],
    ['acknowledgements that are not a list', { acknowledged: 'all' }, 'acknowledged'],
    ['a rollback without its source phase', { rollback: { carriedBack: false } }, 'rollback'],
    ['a cut-over record without records', { cutoverLeveldb: { at: 'now', count: 1, digest: 'x' } }, 'cutoverLeveldb'],
    ['json-only without the LevelDB record every cut-over makes', { phase: 'json-only', cutoverLeveldb: null }, 'phase'],
    ['rolling-back without a rollback in progress', { phase: 'rolling-back', rollback: null }, 'phase'],
  ];

  for (const [what, patch, field] of edits) {
    it(`with ${what} is MIGRATION_STATE_INVALID naming phase.json and "${field}", for the CLI and for deploy scripts`, async () => {
      const dir = tempDir();
      const { phaseFile, original } = await initialised(dir);
      await writeFile(phaseFile, `${JSON.stringify({ ...original, ...patch }, null, 2)}\n`);

      const opened = await refusal(() => Migration.open({ cwd: dir }));
      expect(opened.code).toBe(ErrorCodes.MIGRATION_STATE_INVALID);
      expect(opened.file).toBe(phaseFile);
      expect(opened.data).toEqual({ field });
      expect(opened.hint).toBeTruthy();

      // The deploy scripts' store refuses too, rather than reading a side the state says nothing of.
      const store = createStateStore({ cwd: dir, env: {} });
      try {
        const read = await refusal(() => store.getContract(56, 'LookCoin'));
        expect(read.code).toBe(ErrorCodes.MIGRATION_STATE_INVALID);
        expect(read.file).toBe(phaseFile);
      } finally {
        await store.close().catch(() => undefined);
      }
    });
  }

  it('naming "phase" twice (a merge resolved by keeping both lines) is MIGRATION_STATE_INVALID at the second, never read as its last value', async () => {
    const dir = tempDir();
    const { phaseFile, original } = await initialised(dir);
    const text = JSON.stringify(original, null, 2).replace('"phase": "leveldb-only",', '"phase": "leveldb-only",\n  "phase": "dual-write",');
    await writeFile(phaseFile, `${text}\n`);
    const line = text.split('\n').findIndex((l) => l.includes('"dual-write"')) + 1;

    const opened = await refusal(() => Migration.open({ cwd: dir }));
    expect(opened).toMatchObject({ code: ErrorCodes.MIGRATION_STATE_INVALID, file: phaseFile, position: { line, column: 3 }, data: { field: 'phase' } });
    expect(opened.hint).toBeTruthy();
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      const read = await refusal(() => store.getContract(56, 'LookCoin'));
      expect(read).toMatchObject({ code: ErrorCodes.MIGRATION_STATE_INVALID, file: phaseFile });
    } finally {
      await store.close().catch(() => undefined);
    }
    expect(await readFile(phaseFile, 'utf8')).toBe(`${text}\n`);
  });

  it('that does not parse (a merge left half done) is MIGRATION_STATE_INVALID saying where it stops, as a network file says', async () => {
    const dir = tempDir();
    const { phaseFile, original } = await initialised(dir);
    const text = JSON.stringify(original, null, 2).replace('"phase": "leveldb-only",', '"phase": "leveldb-only"');
    await writeFile(phaseFile, `${text}\n`);
    const line = text.split('\n').findIndex((l) => l.includes('"leveldb-only"')) + 2;
    const opened = await refusal(() => Migration.open({ cwd: dir }));
    expect(opened).toMatchObject({ code: ErrorCodes.MIGRATION_STATE_INVALID, file: phaseFile, position: { line, column: 3 } });
    expect(opened.message).toContain(`is not valid JSON at line ${line}, column 3`);
  });

  it('json-only with the cut-over record, and a finished rollback, are read as written', async () => {
    const dir = tempDir();
    const { phaseFile, original } = await initialised(dir);
    const cutoverLeveldb = { at: new Date().toISOString(), count: 0, digest: 'd', records: {} };
    await writeFile(phaseFile, `${JSON.stringify({ ...original, phase: 'json-only', cutoverLeveldb }, null, 2)}\n`);
    expect((await readState(stateFiles(resolvePaths({ cwd: dir })))).phase).toBe('json-only');
    const rollback = { from: 'json-only', startedAt: 'then', emergency: false, carriedBack: true, completedAt: 'now' };
    await writeFile(phaseFile, `${JSON.stringify({ ...original, rollback }, null, 2)}\n`);
    expect((await readState(stateFiles(resolvePaths({ cwd: dir })))).rollback).toEqual(rollback);
  });
});

describe('before init', () => {
  it('verify records its evidence locally and creates no phase file', async () => {
    const dir = tempDir();
    await createDemo(dir);
    const migration = await Migration.open({ cwd: dir });
    await migration.verify();
    const files = stateFiles(resolvePaths({ cwd: dir }));
    expect((await readState(files)).lastVerify).not.toBeNull();
    const missing = await stat(sharedStateFile(files.stateDir)).then(
      () => 'exists',
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(missing).toBe('ENOENT');
  });
});

// A folder (or link) where state.json belongs: refused before either file is written, so the two
// never stand on different phases (the phase file was written, then state.json's write failed).
// A failure of state.json's write itself after the phase file: state-write-after-phase.test.ts.
describe('a state write that cannot replace state.json', () => {
  it('is refused (NOT_A_FILE) before the phase file is written', async () => {
    const { phaseFile } = await initialised(tempDir());
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    const state = await readState(files);
    const before = await readFile(phaseFile, 'utf8');
    await rm(files.state, { force: true });
    await mkdir(files.state);
    for (const phase of ['leveldb-only', 'dual-write'] as const) {
      const refused = await refusal(() => writeState(files, { ...state, phase }));
      expect(refused).toMatchObject({ code: ErrorCodes.NOT_A_FILE, file: files.state });
      expect(refused.data?.phaseWritten).toBeUndefined();
    }
    expect(await readFile(phaseFile, 'utf8')).toBe(before);
  });

  it('saved with a UTF-8 byte-order mark is read as without it, and a phase change keeps the mark (git shows only the phase)', async () => {
    const dir = tempDir();
    const { phaseFile } = await initialised(dir);
    const text = await readFile(phaseFile, 'utf8');
    await writeFile(phaseFile, `\uFEFF${text}`);
    await createStateStore({ cwd: dir, env: {} }).close();
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
    } finally {
      await migration.close();
    }
    const after = await readFile(phaseFile, 'utf8');
    expect(after.startsWith('\uFEFF{')).toBe(true);
    expect(after.slice(1)).toBe(text.replace('"leveldb-only"', '"dual-write"'));
  });

  it('in tabs and CRLF (a Windows checkout) keeps both through a phase change (git shows only the phase)', async () => {
    const dir = tempDir();
    const { phaseFile } = await initialised(dir);
    const styled = (text: string): string => `${JSON.stringify(JSON.parse(text), null, '\t')}\n`.replace(/\n/g, '\r\n');
    const text = styled(await readFile(phaseFile, 'utf8'));
    await writeFile(phaseFile, text);
    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
    } finally {
      await migration.close();
    }
    expect(await readFile(phaseFile, 'utf8')).toBe(text.replace('"leveldb-only"', '"dual-write"'));
  });

  it('a folder in its place is MIGRATION_STATE_INVALID saying so, with what to do', async () => {
    const dir = tempDir();
    const { phaseFile } = await initialised(dir);
    await rm(phaseFile);
    await mkdir(phaseFile);
    const error = await refusal(() => readState(stateFiles(resolvePaths({ cwd: dir }))));
    expect(error).toMatchObject({ code: ErrorCodes.MIGRATION_STATE_INVALID, file: phaseFile });
    expect(error.message).toContain('it is a folder, not a file');
    expect(error.hint).toContain('git checkout -- phase.json');
  });
});
