// A pid names the process that wrote a line only if that process had started by the line's time:
// a live process started later was given the pid of one now gone. Real processes, real /proc.
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProcessAliveSince, processStartTime } from '../src/index.js';

const linux = process.platform === 'linux';

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
});
