import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measure, roundOrder, runChild, sampleInterleaved, withTempDir } from '../src/harness.js';

describe('sampleInterleaved', () => {
  it('warms up untimed, then alternates the lead each round (A B, B A, ...) with equal sample counts', async () => {
    const calls: string[] = [];
    const subjects = ['A', 'B'].map((name) => ({ name, run: (round: number) => void calls.push(`${name}${round}`) }));
    const samples = await sampleInterleaved(subjects, { warmup: 2, iterations: 4 });
    expect(calls).toEqual(['A0', 'B0', 'B1', 'A1', 'A2', 'B2', 'B3', 'A3', 'A4', 'B4', 'B5', 'A5']);
    expect(samples.get('A')).toHaveLength(4);
    expect(samples.get('B')).toHaveLength(4);
    for (const ms of [...(samples.get('A') ?? []), ...(samples.get('B') ?? [])]) expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('stops adding rounds after maxTimeMs but never below minIterations, and never uneven', async () => {
    const subjects = ['A', 'B'].map((name) => ({ name, run: () => new Promise((r) => setTimeout(r, 2)) }));
    const samples = await sampleInterleaved(subjects, { warmup: 0, iterations: 1000, maxTimeMs: 0, minIterations: 3 });
    expect(samples.get('A')).toHaveLength(3);
    expect(samples.get('B')).toHaveLength(3);
  });

  it('repeat runs a subject that many times in a row per sample, each call its own round, and records the mean per call', async () => {
    const calls: string[] = [];
    const spans: number[] = [];
    const subjects = ['A', 'B'].map((name) => ({
      name,
      run: async (round: number) => {
        calls.push(`${name}${round}`);
        const started = performance.now();
        await new Promise((r) => setTimeout(r, name === 'A' ? 4 : 1));
        if (name === 'A') spans.push(performance.now() - started);
      },
    }));
    const samples = await sampleInterleaved(subjects, { warmup: 1, iterations: 2, repeat: 3 });
    // The lead alternates from the warm-up on (A B, then B A, A B), as with one call a sample.
    expect(calls).toEqual(['A0', 'A1', 'A2', 'B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'B6', 'B7', 'B8']);
    // Each of A's samples is the mean of its three timed calls (how long the machine took for them,
    // not a fixed figure): within a millisecond of it, and well under their sum.
    const timed = samples.get('A') ?? [];
    expect(timed).toHaveLength(2);
    timed.forEach((ms, i) => {
      const three = spans.slice(3 + 3 * i, 6 + 3 * i).reduce((a, b) => a + b, 0);
      expect(Math.abs(ms - three / 3)).toBeLessThan(1);
      expect(ms).toBeLessThan(three * 0.6);
    });
  });

  it('alternate takes the calls of each subject one at a time, never one after its own, and records each mean per call', async () => {
    const calls: string[] = [];
    // Self-timed, so each call's figure is exact: A's calls alternate 2 and 8, B's are 1.
    const subjects = ['A', 'B', 'C'].map((name) => ({
      name,
      selfTimed: true,
      run: (round: number) => {
        calls.push(`${name}${round}`);
        return name === 'A' ? 2 + (round % 2) * 6 : 1;
      },
    }));
    const samples = await sampleInterleaved(subjects, { warmup: 1, iterations: 3, alternate: 2 });
    expect(calls.slice(0, 9)).toEqual(['A0', 'B0', 'C0', 'A1', 'B1', 'C1', 'A2', 'B2', 'C2']);
    // Across warm-up and rounds alike, no subject's call follows its own.
    calls.forEach((call, i) => expect(call[0], `${calls[i - 1]} then ${call}`).not.toBe(calls[i - 1]?.[0]));
    expect(calls).toHaveLength(3 * 2 * 4);
    // Each sample is the mean of that round's two calls: (2 + 8) / 2 for A, never either call alone.
    expect(samples.get('A')).toEqual([5, 5, 5]);
    expect(samples.get('B')).toEqual([1, 1, 1]);
    await expect(sampleInterleaved(subjects, { warmup: 0, iterations: 1, alternate: 2, repeat: 2 })).rejects.toThrow(/exclude/);
    await expect(sampleInterleaved(subjects, { warmup: 0, iterations: 1, alternate: 2.5 })).rejects.toThrow(/whole numbers/);
  });

  it('the warm-up stops at maxTimeMs after its first round', async () => {
    let runs = 0;
    const subjects = [{ name: 'A', run: () => new Promise((r) => setTimeout(r, 5, runs++)) }];
    await sampleInterleaved(subjects, { warmup: 1000, iterations: 1, maxTimeMs: 0, minIterations: 1 });
    // One warm-up run, then the one timed run.
    expect(runs).toBe(2);
  });

  it('a self-timed subject records the figure its run reports, not the time the call took', async () => {
    const subjects = [
      {
        name: 'child',
        selfTimed: true,
        run: async (round: number) => {
          await new Promise((r) => setTimeout(r, 20));
          return 100 + round;
        },
      },
      { name: 'wall', run: () => undefined },
    ];
    const samples = await sampleInterleaved(subjects, { warmup: 1, iterations: 2 });
    // Rounds 1 and 2 (round 0 was the warm-up): what each run reported, though each took 20 ms.
    expect(samples.get('child')).toEqual([101, 102]);
    await expect(sampleInterleaved([{ name: 'bad', selfTimed: true, run: () => undefined }], { warmup: 0, iterations: 1 })).rejects.toThrow(/milliseconds/);
    await expect(sampleInterleaved(subjects, { warmup: 0, iterations: 1, repeat: 2 })).rejects.toThrow(/self-timed/);
  });

  it('after follows timed runs only, never a warm-up run, with or without alternate', async () => {
    for (const alternate of [1, 2]) {
      const afters: number[] = [];
      const subjects = [{ name: 'A', run: () => undefined, after: (round: number) => void afters.push(round) }];
      await sampleInterleaved(subjects, { warmup: 2, iterations: 3, alternate });
      expect(afters).toEqual(alternate === 1 ? [2, 3, 4] : [4, 5, 6, 7, 8, 9]);
    }
  });

  it('roundOrder reverses on odd rounds without touching the input', () => {
    const input = ['x', 'y', 'z'];
    expect(roundOrder(input, 0)).toEqual(['x', 'y', 'z']);
    expect(roundOrder(input, 1)).toEqual(['z', 'y', 'x']);
    expect(input).toEqual(['x', 'y', 'z']);
  });

  it('measure turns samples into measurements with throughput from the median', async () => {
    const [a] = await measure(
      [{ name: 'A', run: () => undefined }],
      { suite: 'codec', operation: 'op', size: 10, itemsPerRun: 10, note: 'n' },
      { warmup: 0, iterations: 5 },
    );
    expect(a).toMatchObject({ suite: 'codec', operation: 'op', subject: 'A', size: 10, itemsPerRun: 10, note: 'n' });
    expect(a?.latencyMs.n).toBe(5);
    expect(a?.latencyMs.p50).toBeLessThanOrEqual(a?.latencyMs.p99 ?? 0);
  });

  it('a failing run fails the measurement instead of being timed', async () => {
    await expect(
      sampleInterleaved([{ name: 'A', run: () => Promise.reject(new Error('boom')) }], { warmup: 0, iterations: 2 }),
    ).rejects.toThrow('boom');
  });
});

describe('withTempDir and runChild', () => {
  it('removes the folder afterwards, also when the work throws', async () => {
    let seen = '';
    await expect(
      withTempDir('test', async (dir) => {
        seen = dir;
        await writeFile(join(dir, 'f'), 'x');
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });

  it('runChild collects output and the exit code', async () => {
    const outcome = await runChild(process.execPath, ['-e', 'process.stdout.write("hi"); process.stderr.write("err"); process.exit(3)']);
    expect(outcome).toMatchObject({ code: 3, stdout: 'hi', stderr: 'err' });
  });
});

describe('untimed hooks', () => {
  it('runs before and after around each timed run, outside the timing, and hands after the time taken', async () => {
    const calls: string[] = [];
    const afterMs: number[] = [];
    const samples = await sampleInterleaved(
      [
        {
          name: 'paced',
          before: async (round: number) => {
            calls.push(`before ${round}`);
            await new Promise((resolve) => setTimeout(resolve, 40));
          },
          run: (round: number) => void calls.push(`run ${round}`),
          after: (round: number, ms: number) => {
            calls.push(`after ${round}`);
            afterMs.push(ms);
          },
        },
      ],
      { warmup: 0, iterations: 2 },
    );
    expect(calls).toEqual(['before 0', 'run 0', 'after 0', 'before 1', 'run 1', 'after 1']);
    // The 40 ms pause is not in the sample: a synchronous push takes far less than the pause.
    const timed = samples.get('paced') ?? [];
    expect(timed).toEqual(afterMs);
    expect(Math.max(...timed)).toBeLessThan(40);
  });
});
