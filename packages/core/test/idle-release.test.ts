import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DESCRIPTOR_IDLE_MS, IdleRelease } from '../src/index.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('IdleRelease', () => {
  it('lets go once unused for the idle time, and not before', () => {
    const release = vi.fn(() => true);
    const idle = new IdleRelease(release, 1000);
    idle.touch();
    vi.advanceTimersByTime(999);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('a use meanwhile pushes the release back to a full idle time after it', () => {
    const release = vi.fn(() => true);
    const idle = new IdleRelease(release, 1000);
    idle.touch();
    vi.advanceTimersByTime(600);
    idle.touch();
    vi.advanceTimersByTime(600);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(400);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('asks again later when what is kept is still in use, and arms anew after a release', () => {
    let busy = true;
    const release = vi.fn(() => !busy);
    const idle = new IdleRelease(release, 1000);
    idle.touch();
    vi.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(1);
    busy = false;
    vi.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    expect(release).toHaveBeenCalledTimes(2);
    idle.touch();
    vi.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(3);
  });

  it('cancel stops the wait; one timer serves many uses', () => {
    const release = vi.fn(() => true);
    const idle = new IdleRelease(release);
    for (let i = 0; i < 100; i++) idle.touch();
    expect(vi.getTimerCount()).toBe(1);
    idle.cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(DESCRIPTOR_IDLE_MS * 2);
    expect(release).not.toHaveBeenCalled();
  });

  it('never keeps a process alive: one waiting a minute to let go still exits', () => {
    const module = fileURLToPath(new URL('../dist/idle-release.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then(({ IdleRelease }) => new IdleRelease(() => true, 60000).touch())`;
    const run = spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(run.error, run.stderr).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
  });
});
