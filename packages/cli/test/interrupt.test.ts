// A command stopped by a signal sent to its pid alone (kill, a process manager, a CI runner's
// timeout), as real processes: it removes what it held in the temp folder and stops the processes
// it started, then exits 128 + the signal's number with the CANCELLED outcome.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv, deploystate, phaseOf, rollbackBehindWrite, sampleAt, untilPhase, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-interrupt-');

/** Every process whose parent chain leads to `root` (read from /proc), with its command line. */
async function descendants(root: number): Promise<Array<{ pid: number; args: string }>> {
  const parents = new Map<number, number>();
  const args = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      args.set(Number(name), (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' '));
    } catch {
      // Gone meanwhile.
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  return [...parents.keys()].filter(below).map((pid) => ({ pid, args: args.get(pid) ?? '' }));
}

/** Whether a process still runs: a zombie (dead, not yet reaped by whoever adopted it) does not. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const stillRunning = async (processes: Array<{ pid: number; args: string }>): Promise<string[]> => {
  const running: string[] = [];
  for (const p of processes) if (await alive(p.pid)) running.push(p.args);
  return running;
};

/** Starts the CLI, waits (bounded) until a process below it matches `ready`, sends `signal` to the CLI's pid alone. */
async function stopWhen(args: string[], cwd: string, tmp: string, ready: RegExp, signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let started: Array<{ pid: number; args: string }> = [];
  const until = Date.now() + 30_000;
  while (Date.now() < until && child.exitCode === null) {
    started = await descendants(child.pid as number);
    if (started.some((p) => ready.test(p.args))) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(started.some((p) => ready.test(p.args)), `no process matching ${ready} started: ${stderr}`).toBe(true);
  child.kill(signal);
  return { code: await exited, stderr, started };
}

describe('a command stopped by a signal to its pid alone', () => {
  it('drill error-recovery (SIGTERM): its copy of the data is removed, its lock-holding child stopped, exit 143', async () => {
    const tmp = join(fixture.root, 'tmp-drill');
    await mkdir(tmp);
    const run = await stopWhen(['drill', 'error-recovery'], fixture.sample, tmp, /crash-writer\.js hold-lock/, 'SIGTERM');
    expect(run.code, run.stderr).toBe(143);
    expect(run.stderr).toContain('interrupted (SIGTERM)');
    expect(await readdir(tmp)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stillRunning(run.started)).toEqual([]);
  }, 60_000);

  /** `project-check` running `command` (its own project), stopped by SIGINT once a process matches `started`. */
  async function projectCheckStopped(name: string, command: string, started: RegExp) {
    const project = join(fixture.root, name);
    await mkdir(project);
    await writeFile(join(project, 'deploystate.config.json'), `${JSON.stringify({ projectChecks: { compile: command } })}\n`);
    const tmp = join(fixture.root, `tmp-${name}`);
    await mkdir(tmp);
    return stopWhen(['project-check', 'compile'], project, tmp, started, 'SIGINT');
  }

  it('project-check (SIGINT): the configured command and what its shell started are stopped, exit 130', async () => {
    const run = await projectCheckStopped('checks', `${JSON.stringify(process.execPath)} -e "setTimeout(() => {}, 30000)" ; echo never`, /setTimeout/);
    expect(run.code, run.stderr).toBe(130);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stillRunning(run.started)).toEqual([]);
  }, 60_000);

  it('project-check (SIGINT): a command that ignores SIGTERM is killed after a short grace, with what it started', async () => {
    const run = await projectCheckStopped('stubborn', 'trap "" TERM; sleep 29; echo never', /^sleep 29/);
    expect(run.code, run.stderr).toBe(130);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stillRunning(run.started)).toEqual([]);
  }, 60_000);
});

describe('a rollback stopped in rolling-back', () => {
  it('says deploy scripts\' writes are refused until rollback runs again, and a rerun finishes it', async () => {
    const dir = await sampleAt(join(fixture.root, 'rolling-back'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    // A write in flight (the fence held shared) keeps the rollback waiting once it has switched to rolling-back.
    const { rollback: child, exited, stderr: output, letGo } = await rollbackBehindWrite(dir);
    await untilPhase(dir, 'rolling-back');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await letGo();
    const stderr = output();
    expect(stderr).toContain('stopped in rolling-back');
    expect(stderr).toContain('WRITES_REFUSED');
    // Before, status's writes line was blank here (a rollback a full disk stopped, too: 1 of 1 runs).
    const status = await deploystate(['status'], { cwd: dir });
    // No process runs the rollback now: said to have stopped, with what finishes it.
    expect(status.stdout).toMatch(/^writes +refused \(WRITES_REFUSED.*the rollback stopped before it finished; `deploystate rollback` run again finishes it$/m);
    const rerun = await deploystate(['rollback', '--yes'], { cwd: dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await phaseOf(dir)).toBe('leveldb-only');
  });
});
