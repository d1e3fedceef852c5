// Who a deploy script waits for: its write refused while a rollback runs names the rollback's
// process (pid and command), or says that none runs. Real processes, real files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore } from '@deploystate/migrator';
import { deploystate, phaseOf, rollbackBehindWrite, sampleAt, untilPhase, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rollback-holders-', { demo: false });

/** A deploy script's put through the factory: its error's code, message and data. */
async function putRefused(dir: string, name: string): Promise<{ code?: string; message?: string; data?: Record<string, unknown> }> {
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    await store.putContract(97, sampleRecord(97, name, 'bsctestnet', 3));
    return {};
  } catch (error) {
    return error as { code?: string; message?: string; data?: Record<string, unknown> };
  } finally {
    await store.close();
  }
}

describe('a write refused while a rollback runs', () => {
  it('names the rollback process (pid and command); once that rollback stopped, says none runs and what finishes it', async () => {
    const dir = await sampleAt(join(fixture.root, 'refused'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    // A write in flight (the fence held shared) keeps the rollback in rolling-back while the script writes.
    const { rollback, exited, letGo } = await rollbackBehindWrite(dir);
    let refused: Awaited<ReturnType<typeof putRefused>>;
    try {
      await untilPhase(dir, 'rolling-back');
      refused = await putRefused(dir, 'During');
    } finally {
      rollback.kill('SIGINT');
      await exited;
      await letGo();
    }
    expect(refused.code).toBe('WRITES_REFUSED');
    expect(refused.message).toContain(`pid ${rollback.pid}`);
    expect(refused.message).toContain('rollback --yes');
    expect(refused.data).toMatchObject({ rollback: { pid: rollback.pid } });

    // Stopped in rolling-back (SIGINT): no process runs it, and the refusal says so.
    expect(await phaseOf(dir)).toBe('rolling-back');
    const stopped = await putRefused(dir, 'After');
    expect(stopped.code).toBe('WRITES_REFUSED');
    expect(stopped.data).toEqual({ rollback: null });
    expect(stopped.message).not.toContain(`pid ${rollback.pid}`);
    const rerun = await deploystate(['rollback', '--yes'], { cwd: dir });
    expect(rerun.code, rerun.stderr).toBe(0);
  }, 60_000);
});
