// A step whose state.json write failed (a full disk, an I/O error) after the phase file was written
// reported "nothing stored was lost; run the command again", though the phase had changed (the phase
// file decides it) and the rerun said the step was done. It now says the step took effect. The
// failure is made by the write itself (a link or folder at state.json is refused before either file
// is written: phase-file.test.ts).
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, StateError } from '@deploystate/core';
import { createDemo, Migration, readState, sharedStateFile, stateFiles, resolvePaths } from '../src/index.js';
import { writeState } from '../src/state.js';
import { useTempDir } from './helpers.js';

const failing = vi.hoisted(() => ({ file: undefined as string | undefined }));

vi.mock('@deploystate/backend-json/atomic', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@deploystate/backend-json/atomic')>();
  return {
    ...actual,
    writeFileDurable: async (target: string, ...rest: Parameters<typeof actual.writeFileDurable> extends [string, ...infer R] ? R : never) => {
      if (target === failing.file) throw new StateError(ErrorCodes.DISK_FULL, `could not write ${target}: ENOSPC: no space left on device`, { file: target });
      return actual.writeFileDurable(target, ...rest);
    },
  };
});

const tempDir = useTempDir('migrator-state-write-');

describe('a state write that fails after the phase file was written', () => {
  it('says the phase change is in effect (data.phaseWritten), and otherwise passes the failure on as it is', async () => {
    const dir = tempDir();
    await createDemo(dir);
    const migration = await Migration.open({ cwd: dir });
    expect(await migration.initShared()).toBe(true);
    await migration.close();
    const files = stateFiles(resolvePaths({ cwd: dir }));
    const phaseFile = sharedStateFile(files.stateDir);
    const state = await readState(files);
    failing.file = files.state;
    try {
      const unchanged = await writeState(files, { ...state }).then(() => undefined, (e: unknown) => e as StateError);
      expect(unchanged?.code).toBe(ErrorCodes.DISK_FULL);
      expect(unchanged?.data?.phaseWritten).toBeUndefined();
      const switched = await writeState(files, { ...state, phase: 'dual-write' }).then(() => undefined, (e: unknown) => e as StateError);
      expect(switched).toMatchObject({ code: ErrorCodes.DISK_FULL, file: files.state, data: { phaseWritten: true } });
      expect(switched?.message).toContain('dual-write');
      expect(JSON.parse(await readFile(phaseFile, 'utf8'))).toMatchObject({ phase: 'dual-write' });
    } finally {
      failing.file = undefined;
    }
  });
});
