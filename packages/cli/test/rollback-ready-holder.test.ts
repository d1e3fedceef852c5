// `rollback --ready` answers as the rollback itself would while a paused process (SIGSTOP) holds the
// live LevelDB: not ready, naming the holder, where the rollback stops with LOCKED naming it. Before,
// readiness looked at a snapshot copy and said ready. Real processes, real files. The commands wait
// about 1.5 s for the lock (DEPLOYSTATE_LOCK_WAIT_MS) instead of the default 15 s, which the
// readiness detail says: so the variable reaches the rollback's own wait. In json-only a script
// paused in the middle of a write holds the write fence instead, which the carry-back's gate waits
// for: readiness names it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rollback-ready-', { demo: false });

const phaseOf = async (dir: string): Promise<string> =>
  (JSON.parse(await readFile(join(dir, '.deploystate', 'phase.json'), 'utf8')) as { phase: string }).phase;

/** A node process running `script` (ESM, `process.argv[1]` = `arg`) that says "paused" and then stops itself (SIGSTOP). */
async function pausedChild(script: string[], arg: string): Promise<ChildProcess> {
  const source = [...script, "process.stdout.write('paused\\n');", "process.kill(process.pid, 'SIGSTOP');"].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, arg], {
    cwd: new URL('.', import.meta.url).pathname,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('paused') && resolve());
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before pausing`)));
  });
  return child;
}

/** A deploy script that put once through the factory and then paused itself (SIGSTOP), holding LevelDB. */
function pausedHolder(dir: string): Promise<ChildProcess> {
  return pausedChild(
    [
      "import { createStateStore } from '@deploystate/migrator';",
      "import { sampleRecord } from '@deploystate/core';",
      'const store = createStateStore({ cwd: process.argv[1], env: {} });',
      // json-primary: the put writes the live LevelDB after JSON, and the paused store keeps it open.
      "await store.putContract(97, sampleRecord(97, 'Paused', 'bsctestnet', 7));",
    ],
    dir,
  );
}

/** `rollback --ready` where it is expected to fail: the checks that failed, each with its detail (exit 1, not ready). */
async function failedReadiness(dir: string, env: Record<string, string> = {}): Promise<Array<{ name: string; detail: string }>> {
  const ready = await deploystate(['rollback', '--ready', '--json'], { cwd: dir, env });
  expect(ready.code, ready.stderr).toBe(1);
  const report = onlyDocument(ready) as { ready: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
  expect(report.ready).toBe(false);
  return report.checks.filter((c) => !c.ok);
}

/** The rollback, as it answers a paused holder: LOCKED (exit 3), the phase left as it was. */
async function lockedRollback(dir: string, phase: string, env: Record<string, string> = {}): Promise<string> {
  const rollback = await deploystate(['rollback', '--yes', '--json'], { cwd: dir, env });
  expect(rollback.code, rollback.stdout).toBe(3);
  expect(JSON.parse(rollback.stdout)).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
  expect(await phaseOf(dir)).toBe(phase);
  return rollback.stdout;
}

describe('rollback --ready while a paused process holds LevelDB', () => {
  it('is not ready, naming the holder, as the rollback answers LOCKED naming it', async () => {
    const dir = await sampleAt(join(fixture.root, 'paused'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const holder = await pausedHolder(dir);
    try {
      const env = { DEPLOYSTATE_LOCK_WAIT_MS: '1500' };
      const failed = await failedReadiness(dir, env);
      // Its store also holds the write fence (leased across its puts): both are named.
      expect(failed.map((c) => c.name)).toEqual(['leveldb free', 'no write paused']);
      expect(failed[0]?.detail).toContain(`pid ${holder.pid}`);
      expect(failed[0]?.detail).toContain('LOCKED');
      expect(failed[0]?.detail).toContain('would wait about 2 s');

      expect(await lockedRollback(dir, 'json-primary', env)).toContain(`pid ${holder.pid}`);
    } finally {
      holder.kill('SIGCONT');
      holder.kill('SIGKILL');
    }
    // Once it is gone, ready again.
    const after = await deploystate(['rollback', '--ready'], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
    // A wait that is not a whole number of milliseconds is refused, naming the variable, before anything runs.
    const bad = await deploystate(['rollback', '--yes'], { cwd: dir, env: { DEPLOYSTATE_LOCK_WAIT_MS: '1e3' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DEPLOYSTATE_LOCK_WAIT_MS');
    expect(await phaseOf(dir)).toBe('json-primary');
  }, 90_000);

  it('in json-only, a deploy script paused in the middle of a write (holding the write fence) is named: not ready, as the rollback stops with LOCKED', async () => {
    const acknowledge = ['31337-LookCoin', '31337-TestToken', 'MISSING_IMPLEMENTATION_HASH'].flatMap((key) => ['--acknowledge', key]);
    const dir = await sampleAt(join(fixture.root, 'json-only'), [
      ['dual-write', 'enable'],
      ['migrate'],
      ['verify'],
      ['promote'],
      ['cutover', ...acknowledge],
    ]);
    // The fence as a write in flight holds it (shared), then paused there.
    const writer = await pausedChild(
      ["import { acquireLock } from '@deploystate/backend-json/lock';", "await acquireLock(process.argv[1], { mode: 'shared' });"],
      join(dir, '.deploystate', 'fence.lock'),
    );
    try {
      const failed = await failedReadiness(dir);
      expect(failed.map((c) => c.name)).toEqual(['no write paused']);
      expect(failed[0]?.detail).toContain(`pid ${writer.pid}`);
      expect(failed[0]?.detail).toContain('LOCKED');

      expect(await lockedRollback(dir, 'json-only')).toContain(`pid ${writer.pid}`);
    } finally {
      writer.kill('SIGCONT');
      writer.kill('SIGKILL');
    }
    const after = await deploystate(['rollback', '--ready'], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
  }, 90_000);
});
