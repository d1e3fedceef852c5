// What a signal must not leave in the project's committed folders: the CLI runs the registered
// interrupt cleanups (core's runInterruptCleanups) right before it exits. Here each step is held
// at its worst moment and the cleanups are run as a signal would run them.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runInterruptCleanups } from '@deploystate/core';
import { demoMigration, useTempDir } from './helpers.js';

/** The step held after its file or folder is made; released by `release`. */
const hold = vi.hoisted(() => ({ at: undefined as 'cp' | 'durable' | undefined, reached: undefined as (() => void) | undefined, release: undefined as Promise<void> | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    cp: async (...args: Parameters<typeof real.cp>) => {
      await real.cp(...args);
      if (hold.at === 'cp') {
        hold.reached?.();
        await hold.release;
      }
    },
  };
});
vi.mock('@deploystate/backend-json/atomic', async (importOriginal) => {
  const real = await importOriginal<typeof import('@deploystate/backend-json/atomic')>();
  return {
    ...real,
    writeFileDurable: async (...args: Parameters<typeof real.writeFileDurable>) => {
      await real.writeFileDurable(...args);
      if (hold.at === 'durable' && String(args[0]).includes('.deploystate-probe-')) {
        hold.reached?.();
        await hold.release;
      }
    },
  };
});

const tempDir = useTempDir('migrator-interrupt-leftovers-');

/**
 * Runs `step` until it reaches the held moment and runs the interrupt cleanups there, as a signal
 * would before the process exits; `left` looks at what they left before the step may go on.
 */
async function interruptAt(at: 'cp' | 'durable', step: () => Promise<unknown>, left: () => Promise<void>): Promise<void> {
  let release = (): void => undefined;
  hold.release = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (hold.reached = resolve));
  hold.at = at;
  const running = step().catch(() => undefined);
  await reached;
  runInterruptCleanups();
  try {
    await left();
  } finally {
    hold.at = undefined;
    release();
    await running;
  }
}

afterEach(() => {
  hold.at = undefined;
});

describe('a signal at the worst moment', () => {
  it('restore leveldb: the staged copy beside the committed folder is removed', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    await migration.migrate();
    await migration.disableDualWrite();
    const leveldb = migration.paths.leveldb;
    await interruptAt(
      'cp',
      () => migration.restoreLevelDb(),
      async () => {
        expect((await readdir(dirname(leveldb))).filter((name) => name.includes('.restoring-'))).toEqual([]);
      },
    );
    await migration.close();
  });

  it('dual-write verify: the probe file in the deployments folder is removed', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    await interruptAt(
      'durable',
      () => migration.verifyDualWrite(),
      async () => {
        expect((await readdir(migration.paths.deployments)).filter((name) => name.startsWith('.deploystate-probe-'))).toEqual([]);
      },
    );
    expect(existsSync(migration.paths.leveldb)).toBe(true);
    await migration.close();
  });
});
