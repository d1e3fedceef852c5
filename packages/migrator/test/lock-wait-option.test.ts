// How long an open of LevelDB waits for another process's lock: `lockWaitMs` (Migration and
// createStateStore), else DEPLOYSTATE_LOCK_WAIT_MS (createStateStore's environment; the CLI passes
// it on), else `lockWaitMs` in deploystate.config.json. The schedule keeps the default back-off with as many tries as fit; a bad value is refused
// naming it, before anything is opened. A real paused holder shows the wait is the one asked for.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockWaitBudgetMs } from '@deploystate/backend-leveldb';
import { NetworkRegistry, sampleRecord } from '@deploystate/core';
import { createStateStore, leveldbLockWait, LOCK_WAIT_ENV } from '../src/index.js';
import { LEVELDB_LOCK_WAIT } from '../src/backends.js';
import { withProjectConfig, type ProjectConfigOption } from '../src/project-options.js';
import type { MigrationOptions } from '../src/types.js';
import { demoMigration, runNode, untilStopped, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-lock-wait-');

describe('the LevelDB lock wait (lockWaitMs, DEPLOYSTATE_LOCK_WAIT_MS)', () => {
  it('is the default when neither is given, and otherwise the fewest tries that wait at least that long', () => {
    expect(leveldbLockWait(undefined)).toEqual(LEVELDB_LOCK_WAIT);
    expect(leveldbLockWait(undefined, { [LOCK_WAIT_ENV]: '' })).toEqual(LEVELDB_LOCK_WAIT);
    expect(leveldbLockWait(0).attempts).toBe(1);
    for (const ms of [1, 5, 6, 314, 315, 316, 1500, 15_000, 600_000]) {
      const wait = leveldbLockWait(ms);
      expect(wait).toMatchObject({ minDelayMs: LEVELDB_LOCK_WAIT.minDelayMs, maxDelayMs: LEVELDB_LOCK_WAIT.maxDelayMs });
      expect(lockWaitBudgetMs(wait), `${ms} ms`).toBeGreaterThanOrEqual(ms);
      expect(lockWaitBudgetMs({ ...wait, attempts: wait.attempts - 1 }), `${ms} ms`).toBeLessThan(ms);
    }
    // A wait set in years is billions of tries: its length is added up at once, not try by try.
    const years = leveldbLockWait(1_000_000_000_000);
    expect(years.attempts).toBeGreaterThan(4_000_000_000);
    expect(lockWaitBudgetMs(years)).toBeGreaterThanOrEqual(1_000_000_000_000);
  }, 10_000);

  it('takes the option before the environment, and the environment when the option is not given', () => {
    expect(leveldbLockWait(undefined, { [LOCK_WAIT_ENV]: '1500' })).toEqual(leveldbLockWait(1500));
    expect(leveldbLockWait(300, { [LOCK_WAIT_ENV]: '1500' })).toEqual(leveldbLockWait(300));
  });

  it('refuses what is not a whole number of milliseconds with INVALID_ARGUMENT naming the variable or the option, also when a store is made', () => {
    for (const raw of ['soon', '1e3', '0x10', '-5', '1.0', ' 15', '15 ']) {
      expect(() => leveldbLockWait(undefined, { [LOCK_WAIT_ENV]: raw }), raw).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(LOCK_WAIT_ENV) }));
    }
    for (const ms of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => leveldbLockWait(ms), String(ms)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('lockWaitMs') }));
    }
    expect(() => createStateStore({ cwd: tempDir(), env: { [LOCK_WAIT_ENV]: 'soon' } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it("takes deploystate.config.json's lockWaitMs where neither the option nor the variable sets the wait", async () => {
    const cwd = tempDir();
    const completed = (options: MigrationOptions & ProjectConfigOption, env: NodeJS.ProcessEnv): number | undefined => withProjectConfig(options, env).lockWaitMs;
    await writeFile(join(cwd, 'deploystate.config.json'), JSON.stringify({ lockWaitMs: 20_000 }));
    expect(completed({ cwd }, {})).toBe(20_000);
    expect(completed({ cwd }, { [LOCK_WAIT_ENV]: '1500' })).toBe(1500);
    expect(completed({ cwd, lockWaitMs: 300 }, { [LOCK_WAIT_ENV]: '1500' })).toBe(300);
    // Every path and the registry given: the file is still read for the wait, unless the wait is given too.
    const named = { cwd, leveldb: join(cwd, 'leveldb'), deployments: join(cwd, 'deployments'), stateDir: join(cwd, '.deploystate'), registry: new NetworkRegistry() };
    expect(completed(named, {})).toBe(20_000);
    expect(completed({ ...named, projectConfig: false }, {})).toBeUndefined();
    await writeFile(join(cwd, 'deploystate.config.json'), JSON.stringify({ lockWaitMs: '20000' }));
    expect(() => createStateStore({ cwd, env: {} })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('lockWaitMs') }));
  });

  it.each([
    ['DEPLOYSTATE_LOCK_WAIT_MS', { [LOCK_WAIT_ENV]: '400' }, undefined],
    ["deploystate.config.json's lockWaitMs", {}, 400],
  ] as const)("a deploy script's store waits about as long as %s says for a paused holder, then LOCKED names it", async (_what, env, configured) => {
    await (await demoMigration(tempDir(), 'created')).close();
    if (configured !== undefined) await writeFile(join(tempDir(), 'deploystate.config.json'), JSON.stringify({ lockWaitMs: configured }));
    const writer = runNode('paused-after-put.mjs', [tempDir(), '97', 'Held', 'bsctestnet']);
    try {
      await untilStopped(writer.process.pid as number);
      const store = createStateStore({ cwd: tempDir(), env });
      try {
        const error = await store.putContract(97, sampleRecord(97, 'Waiting', 'bsctestnet')).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'LOCKED' });
        const message = String((error as Error).message);
        expect(message).toContain(`pid ${writer.process.pid}`);
        // At least the wait asked for, and nowhere near the default 15 s.
        const over = Number(/still locked after \d+ attempts over ([\d.]+) s/.exec(message)?.[1]);
        expect(over).toBeGreaterThanOrEqual(0.4);
        expect(over).toBeLessThan(10);
      } finally {
        await store.close();
      }
    } finally {
      writer.process.kill('SIGCONT');
      expect((await writer.done).stdout).toContain('closed');
    }
  });
});
