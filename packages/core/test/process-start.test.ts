// A pid names the process that wrote a line only if that process had started by the line's time:
// a live process started later was given the pid of one now gone. Real processes, real /proc.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, isProcessAliveSince, isStopped, processStartTime, processStateLetter } from '../src/index.js';
import { tickRateFromProc } from '../src/process-start.js';

const linux = process.platform === 'linux';

/**
 * Whether /proc/uptime counts from the boot that start times count from (boot time plus uptime is
 * now). Not in a container whose uptime lxcfs counts from the container's start: there the tick
 * rate is rightly left to getconf, and the two tests that expect it read from /proc do not apply.
 */
function uptimeCountsFromBoot(): boolean {
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Math.abs(btime * 1000 + uptime * 1000 - Date.now()) < 5_000;
}
const procAgrees = linux && uptimeCountsFromBoot();

/** A process that lives until killed, and when it was spawned (ms since the epoch, taken just before). */
async function liveProcess(): Promise<{ pid: number; spawnedAt: number; kill: () => void }> {
  const spawnedAt = Date.now();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return { pid: child.pid as number, spawnedAt, kill: () => child.kill('SIGKILL') };
}

describe.runIf(linux)('isProcessAliveSince', () => {
  it('reads a live process start time from /proc, near when it was spawned', async () => {
    const child = await liveProcess();
    try {
      const started = processStartTime(child.pid);
      expect(started).toBeDefined();
      expect(Math.abs((started as number) - child.spawnedAt)).toBeLessThan(5_000);
    } finally {
      child.kill();
    }
  });

  // Before: a live pid was judged alive whatever it was (a pid reused after a writer cut off).
  it('is false for a live process that started after the line naming its pid', async () => {
    const child = await liveProcess();
    try {
      expect(isProcessAliveSince(child.pid, new Date(child.spawnedAt - 60_000).toISOString())).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('is true for a live process that started before the line, and for this process', async () => {
    const child = await liveProcess();
    try {
      expect(isProcessAliveSince(child.pid, new Date().toISOString())).toBe(true);
      expect(isProcessAliveSince(process.pid, new Date().toISOString())).toBe(true);
      // A time that cannot be read says nothing: the pid alone answers.
      expect(isProcessAliveSince(child.pid, 'not a time')).toBe(true);
    } finally {
      child.kill();
    }
  });

  it('is false for a process that has exited', () => {
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(isProcessAliveSince(child.pid, new Date().toISOString())).toBe(false);
  });

  // A deploy script killed under a parent that has not reaped it yet (an orchestrator that waits at
  // its own end): signal 0 still finds it, so its cut-off write went unlisted until it was reaped.
  it('is false for a zombie: killed and not yet reaped, it holds nothing and finishes no write', async () => {
    // sh starts a short sleep in the background, prints its pid and becomes a long sleep, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
      for (let i = 0; i < 200 && processStateLetter(pid) !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(processStateLetter(pid)).toBe('Z');
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(pid)).toBe(false);
      expect(isProcessAliveSince(pid, new Date().toISOString())).toBe(false);
      expect(isStopped(pid)).toBe(false);
      expect(isProcessAlive(parent.pid as number)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

/** A /proc/<pid>/stat line whose command name holds spaces and parentheses, started `ticks` after boot. */
function statLine(ticks: number): string {
  const after = Array.from({ length: 30 }, (_, i) => (i === 19 ? String(ticks) : '0'));
  return `4242 (deploy (a) b) ${after.join(' ')}`;
}

describe('tickRateFromProc', () => {
  it('finds 100 a second from a start time and an age since boot', () => {
    expect(tickRateFromProc(statLine(360_000), '3605.25 100.00', 5.25)).toBe(100);
    // A few ticks off (the process's own clock starts after exec): still 100.
    expect(tickRateFromProc(statLine(12_345), '124.00 1.00', 0.5)).toBe(100);
  });

  it("gives no answer where it cannot tell: too soon after boot, another rate, an uptime that is not the boot's, a line it cannot read", () => {
    expect(tickRateFromProc(statLine(50), '0.90 0.10', 0.4)).toBeUndefined();
    // 1024 a second (alpha): getconf says so, never a guess.
    expect(tickRateFromProc(statLine(1_024 * 500), '502.00 1.00', 2)).toBeUndefined();
    // A container whose /proc/uptime counts from its own start (lxcfs) while start times count from the host's boot.
    expect(tickRateFromProc(statLine(100 * 86_400), '3600.00 1.00', 10)).toBeUndefined();
    expect(tickRateFromProc('garbage', '100.00 1.00', 0)).toBeUndefined();
  });

  it.runIf(procAgrees)("agrees with getconf's CLK_TCK on this machine", () => {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rate = tickRateFromProc(stat, readFileSync('/proc/uptime', 'utf8'), process.uptime());
    expect(rate).toBe(Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
  });

  // Before: the first check of a writer started getconf, a child process, in the middle of a deploy
  // script's put (18 ms of it here); without getconf on the PATH start times were not read at all.
  it.runIf(procAgrees)('reads start times without starting a process: none can be found on an empty PATH', () => {
    const module = fileURLToPath(new URL('../dist/process-start.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then(({ processStartTime }) => console.log(processStartTime(process.pid) ?? 'none'))`;
    const run = spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8', env: { PATH: '' } });
    expect(run.status, run.stderr).toBe(0);
    const started = Number(run.stdout.trim());
    // Whole seconds of boot time and the tick: within a couple of seconds of when it ran.
    expect(Math.abs(started - Date.now())).toBeLessThan(10_000);
  });
});
