// status in rolling-back tells a rollback that runs now (its process holds the migration lock:
// paused, or slow) from one that stopped. Before, it said a stopped one finishes when rollback runs
// again and listed `rollback` as ready, while a second rollback stops LOCKED on the live one.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stateFiles } from '../src/index.js';
import { updateState } from '../src/state.js';
import { demoMigration, untilStopped, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-rollback-running-');
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

describe('status while rolling back', () => {
  it('names the rollback running now (paused here), blocks another; once it is gone, says it stopped and rollback finishes it', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const files = stateFiles(migration.paths);
    await updateState(files, (s) => {
      s.rollback = { from: 'json-only', startedAt: new Date().toISOString(), emergency: false, carriedBack: false };
      s.phase = 'rolling-back';
    });
    // The migration lock as a rollback holds it, in a process then paused (SIGSTOP).
    const script = [
      "import { acquireLock } from '@deploystate/backend-json/lock';",
      "await acquireLock(process.argv[1], { purpose: 'rollback' });",
      "process.kill(process.pid, 'SIGSTOP');",
    ].join('\n');
    const holder = spawn(process.execPath, ['--input-type=module', '-e', script, files.migrationLock], { cwd: PACKAGE, stdio: 'ignore' });
    try {
      await untilStopped(holder.pid as number);
      const running = await migration.status();
      expect(running.rollbackRunning).toMatchObject({ pid: holder.pid });
      const next = running.next.find((n) => n.command === 'rollback');
      expect(next).toMatchObject({ ready: false, blockedBy: expect.stringContaining(`a rollback is running now (pid ${holder.pid}`) });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    const stopped = await migration.status();
    expect(stopped.rollbackRunning).toBeUndefined();
    expect(stopped.next.find((n) => n.command === 'rollback')?.blockedBy ?? '').not.toContain('running now');
    await migration.rollback();
    expect((await migration.status()).phase).toBe('leveldb-only');
    await migration.close();
  });
});
