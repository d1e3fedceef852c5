// A deploy script depends on @deploystate/migrator alone: what it needs beside the store (the error
// class and codes to branch on, the record type) comes from here, the very ones core throws (a
// strict install, pnpm's, would not let it import core undeclared; terminal/Hardhat hunt).
import { describe, expect, it } from 'vitest';
import * as core from '@deploystate/core';
import { createStateStore, ErrorCodes, isStateError, StateError, type DeploymentRecord } from '../src/index.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-exports-');

describe('what @deploystate/migrator gives a deploy script beside the store', () => {
  it('is core’s own error class and codes: a store error is instanceof the exported StateError', async () => {
    expect(StateError).toBe(core.StateError);
    expect(ErrorCodes).toBe(core.ErrorCodes);
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const bad = { contractName: '', chainId: 56 } as unknown as DeploymentRecord;
    const error = await store.put(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateError);
    expect(isStateError(error, ErrorCodes.INVALID_RECORD)).toBe(true);
    await store.close();
  });
});
