// `monitor` against real copies: a `migrate` kept at a network file by another process holding
// that file's lock (as a deploy script writing it would), so each test stops or keeps the copy at a
// known point, before or after a progress write, instead of racing a timer.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLockHolder } from '@deploystate/backend-json/lock';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, childEnv, deploystate, onlyDocument, outputOf, sampleAt, useSample, type Run } from './helpers.js';

const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-file-lock.mjs', import.meta.url));
// The demo's chains in key order: the copy ends optimismsepolia's file first, then sapphiretestnet's.
// Held at the second, a copy writes its first progress and no more.
const FIRST_FILE = 'optimismsepolia.json';
const SECOND_FILE = 'sapphiretestnet.json';
const RESUME = 'deploystate migrate --resume';

const fixture = useSample('deploystate-cli-monitor-', { demo: false });
const started: ChildProcess[] = [];
let samples = 0;

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function start(args: string[], cwd: string): ChildProcess {
  const child = spawn(process.execPath, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return child;
}

/** Waits (bounded) until `ready` holds; fails the test naming `what` if it never does. */
async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await ready())) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A copy of the demo in dual-write, another process holding the lock of `file` (as a deploy script writing it). */
async function sampleWithFileHeld(file: string): Promise<{ sample: string; holder: ChildProcess }> {
  const sample = await sampleAt(join(fixture.root, `sample-${++samples}`), [['dual-write', 'enable']]);
  const holder = start([HOLD_LOCK, join(sample, 'deployments', file)], sample);
  let text = '';
  holder.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await until('the lock holder holds its file', () => text.includes('held\n'));
  return { sample, holder };
}

/** When the copy in `sample` started, as its state file records it (undefined before). */
async function copyStartedAt(sample: string): Promise<string | undefined> {
  const state = JSON.parse(await readFile(join(sample, '.deploystate', 'state.json'), 'utf8')) as { copy: { startedAt?: string } | null };
  return state.copy?.startedAt;
}

const progressFile = (sample: string): string => join(sample, '.deploystate', 'progress.json');

/** `migrate --yes` started in `sample` (`extra` added), once its copy's start is recorded. */
async function copyStarted(sample: string, extra: string[] = []): Promise<ChildProcess> {
  const copy = start([BIN, 'migrate', '--yes', ...extra], sample);
  await until('the copy records its start', async () => (await copyStartedAt(sample)) !== undefined);
  return copy;
}

async function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => child.once('close', resolve));
  child.kill(signal);
  await exited;
}

/**
 * The following form of monitor in `cwd`: its outcome, or a failure naming what it printed if it has
 * not ended within 15 s. `meanwhile`: done once it watches (and has not ended).
 */
async function followed(cwd: string, meanwhile?: () => Promise<void>): Promise<Run> {
  const monitor = start([BIN, 'monitor', '--interval', '100'], cwd);
  const outcome = outputOf(monitor);
  if (meanwhile !== undefined) {
    let stderr = '';
    monitor.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until('monitor watches', () => stderr.includes('watching'));
    expect(monitor.exitCode).toBeNull();
    await meanwhile();
  }
  const timer = setTimeout(() => monitor.kill('SIGKILL'), 15_000);
  const run = await outcome;
  clearTimeout(timer);
  expect(run.code, `monitor did not end by itself: ${run.stdout}${run.stderr}`).not.toBeNull();
  return run;
}

/** What `monitor --once --json` and `monitor --once` say in `cwd`, each checked to agree on the exit code. */
async function once(cwd: string): Promise<{ data: Record<string, unknown>; text: Run; json: Run }> {
  const json = await deploystate(['monitor', '--once', '--json'], { cwd });
  const text = await deploystate(['monitor', '--once'], { cwd });
  expect(text.code, text.stderr).toBe(json.code);
  return { data: onlyDocument(json), text, json };
}

describe('monitor, a copy whose process is gone', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'killed (%s) before its first progress write: stopped, with the resume hint, exit 1; the following form ends',
    async (signal) => {
      const { sample, holder } = await sampleWithFileHeld(FIRST_FILE);
      const copy = await copyStarted(sample);
      // The copy waits at its first file: it has written no progress, so nothing names its pid but the lock.
      expect(existsSync(progressFile(sample))).toBe(false);
      await killed(copy, signal);
      holder.kill('SIGKILL');
      expect(existsSync(progressFile(sample))).toBe(false);

      const { data, text, json } = await once(sample);
      expect(json.code, json.stderr).toBe(1);
      expect(data).toMatchObject({ ok: false, running: false, copyState: 'stopped', progress: null, error: { code: 'CHECK_FAILED' } });
      expect((data.error as { hint: string }).hint).toContain(RESUME);
      expect(text.stdout).toContain('no copy is running');
      expect(text.stdout).toContain(RESUME);

      const followedRun = await followed(sample);
      expect(followedRun.code, followedRun.stderr).toBe(1);
      expect(followedRun.stdout).toContain(RESUME);
    },
    60_000,
  );

  it('killed after progress writes: stopped after the records it reached, exit 1', async () => {
    const { sample, holder } = await sampleWithFileHeld(SECOND_FILE);
    const copy = await copyStarted(sample);
    await until('the copy writes progress', () => existsSync(progressFile(sample)));
    await killed(copy, 'SIGKILL');
    holder.kill('SIGKILL');
    const { data, text } = await once(sample);
    expect(data).toMatchObject({
      ok: false,
      running: false,
      copyState: 'stopped',
      progress: { pid: copy.pid },
      error: { code: 'CHECK_FAILED' },
    });
    expect(text.stdout).toMatch(/the last one stopped after [1-9]\d* record\(s\) \(its process is gone\)/);
    expect((await followed(sample)).code).toBe(1);
  }, 60_000);
});

describe('monitor, a copy whose process lives', () => {
  it('before its first progress write: running (exit 0); the following form waits, then ends when the copy is killed', async () => {
    const { sample } = await sampleWithFileHeld(FIRST_FILE);
    const copy = await copyStarted(sample);
    // Paused where it waits for the held file (alive, holding its locks), so that wait's own limit
    // (10 s, then LOCKED) cannot end it while the test looks, however slow the machine.
    copy.kill('SIGSTOP');
    expect(existsSync(progressFile(sample))).toBe(false);
    const { data, text, json } = await once(sample);
    expect(json.code, json.stderr).toBe(0);
    expect(data).toMatchObject({ running: true, copyState: 'running' });
    expect(text.stdout).toContain('a copy is running');

    // The following form waits while the copy's process lives, and ends when it goes.
    const run = await followed(sample, () => killed(copy, 'SIGKILL'));
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(RESUME);
  }, 60_000);

  it('resumed, before its own first progress write: running, though progress.json names the killed run', async () => {
    const { sample, holder } = await sampleWithFileHeld(SECOND_FILE);
    const first = await copyStarted(sample);
    await until('the first run writes progress', () => existsSync(progressFile(sample)));
    await killed(first, 'SIGKILL');
    // The file is still held: the resumed run skips the files done and waits at it, writing no progress.
    const resumed = await copyStarted(sample, ['--resume']);
    await until(
      'the resumed run holds the migration lock',
      () => readLockHolder(join(sample, '.deploystate', 'migration.lock'))?.pid === resumed.pid,
    );
    // Paused, as above: alive and holding its lock while the test looks.
    resumed.kill('SIGSTOP');
    const { data, json } = await once(sample);
    expect(json.code, json.stderr).toBe(0);
    expect(data).toMatchObject({ running: true, copyState: 'running', progress: { pid: first.pid } });
    holder.kill('SIGKILL');
  }, 60_000);
});
