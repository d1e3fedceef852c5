// The drainer's timing under a steady stream of puts, on a fake clock and a fake outbox: a drain
// slower than the max delay must not have the next one queued behind it (drains would then run
// back to back, on the puts' event loop); the next starts the max delay after it ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DRAIN_MAX_DELAY_MS, OutboxDrainer, type DrainTarget } from '../src/outbox-drainer.js';

// The drain removes its failure file when it is done: nothing on disk here.
vi.mock('node:fs/promises', async (importOriginal) => ({ ...(await importOriginal<typeof import('node:fs/promises')>()), rm: async () => undefined }));

afterEach(() => {
  vi.useRealTimers();
});

const drainDir = mkdtempSync(join(tmpdir(), 'deploystate-drain-schedule-'));
afterAll(() => rmSync(drainDir, { recursive: true, force: true }));

/** A drainer whose drains each wait for the test to let them go. */
function slowDrains(): { drainer: OutboxDrainer; starts: number[]; finish: () => Promise<void> } {
  const starts: number[] = [];
  const waiting: Array<() => void> = [];
  const leveldb = {
    async holdWhile<T>(work: () => Promise<T>): Promise<T> {
      starts.push(performance.now());
      await new Promise<void>((resolve) => waiting.push(resolve));
      return work();
    },
    readOutbox: async () => [],
  };
  const target = {
    // No state folder (so no fence); the drains' lock beside the network files is a real one.
    files: { stateDir: '/nonexistent/deploystate-drain-schedule', fence: '/nonexistent/fence', deployments: drainDir },
    journal: {},
    leveldb: async () => leveldb,
    json: async () => ({}),
  } as unknown as DrainTarget;
  const drainer = new OutboxDrainer(target, () => undefined);
  return {
    drainer,
    starts,
    // Lets every drain started so far (or about to start: a queued one takes a few turns) end.
    finish: async () => {
      await vi.advanceTimersByTimeAsync(0);
      for (const resolve of waiting.splice(0)) resolve();
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

/** One put a millisecond for `ms` milliseconds of the fake clock. */
async function putsFor(drainer: OutboxDrainer, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    drainer.schedule();
    await vi.advanceTimersByTimeAsync(1);
  }
}

describe('the drainer under a steady stream of puts', () => {
  it('starts the next drain the max delay after a slow drain ends, never right behind it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { drainer, starts, finish } = slowDrains();
    await putsFor(drainer, DRAIN_MAX_DELAY_MS + 5);
    expect(starts).toHaveLength(1);
    // The drain takes three max delays; puts keep coming meanwhile.
    await putsFor(drainer, 3 * DRAIN_MAX_DELAY_MS);
    expect(starts).toHaveLength(1);
    const ended = performance.now();
    await finish();
    expect(starts).toHaveLength(1);
    await putsFor(drainer, DRAIN_MAX_DELAY_MS + 5);
    expect(starts).toHaveLength(2);
    expect((starts[1] as number) - ended).toBeGreaterThanOrEqual(DRAIN_MAX_DELAY_MS);
    await finish();
    const closing = drainer.close();
    await finish();
    await closing;
  });

  it('still drains once puts pause, and close() drains what is left', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { drainer, starts, finish } = slowDrains();
    await putsFor(drainer, 3);
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toHaveLength(1);
    await finish();
    drainer.schedule();
    const closing = drainer.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toHaveLength(2);
    await finish();
    await closing;
  });

  // schedule() runs as a put's batch starts; the batch may land after the drain it timed has read
  // the outbox (a slow write on a loaded machine). committed() must get that entry drained.
  it('a put whose batch lands after its drain has ended is drained by the next one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { drainer, starts, finish } = slowDrains();
    drainer.schedule();
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toHaveLength(1);
    await finish();
    drainer.committed();
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toHaveLength(2);
    await finish();
    await drainer.close();
  });

  it('a put whose batch lands while its drain runs is drained by the next one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { drainer, starts, finish } = slowDrains();
    drainer.schedule();
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toHaveLength(1);
    drainer.committed();
    await finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toHaveLength(2);
    await finish();
    await drainer.close();
  });
});
