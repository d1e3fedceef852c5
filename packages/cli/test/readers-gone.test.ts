// Output whose reader goes away or lags, as real processes: a slow reader of the --json document
// when a signal comes, a terminal closed during a copy, a stderr reader that exits. None crashes
// the command, leaves its temp files, or writes a second document.
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, deploystate, envelopeOf, largeSample, useSample, type Run } from './helpers.js';
import { TmuxPane } from './tmux.js';

const HANGUP_SHELL = fileURLToPath(new URL('./fixtures/hangup-shell.mjs', import.meta.url));
const fixture = useSample('deploystate-cli-readers-', { demo: false });
/** 30 000 records beside the sample's, in dual-write: a copy that takes a few seconds. */
let large = '';
let copies = 0;

beforeAll(async () => {
  large = join(fixture.root, 'large');
  await largeSample(large, 30_000);
}, 120_000);

/** A fresh copy of the large project, with a temp folder of its own (TMPDIR) to check for leftovers. */
async function freshProject(): Promise<{ dir: string; tmp: string }> {
  const dir = join(fixture.root, `project-${++copies}`);
  await cp(large, dir, { recursive: true });
  const tmp = join(fixture.root, `tmp-${copies}`);
  await mkdir(tmp);
  return { dir, tmp };
}

/** Polls `check` every 20 ms until it holds (bounded). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const copyState = async (dir: string): Promise<string> => (await deploystate(['status'], { cwd: dir })).stdout;

describe('a reader that lags or goes away', () => {
  const panes: TmuxPane[] = [];
  afterAll(async () => {
    for (const pane of panes) await pane.close();
  });

  it('a signal while the --json document drains to a slow reader: one document, and ok matches the exit code', async () => {
    const { dir, tmp } = await freshProject();
    const child = spawn(process.execPath, [BIN, 'analyze', '--json'], { cwd: dir, env: childEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The document's first bytes: analyze is done and writing; the reader then stops taking more.
    const first = await new Promise<Buffer>((resolve) => child.stdout.once('data', resolve));
    child.stdout.pause();
    stdout += first.toString();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode, 'the document fits the pipe: nothing drains').toBeNull();
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString())).resume();
    const run: Run = { code: await exited, stdout, stderr };
    const envelope = envelopeOf(run);
    expect(envelope.ok, run.stderr).toBe(true);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('interrupted');
  }, 60_000);

  it('the terminal closes during migrate (SIGHUP, then EIO on its writes): clean-up, exit 129, resumable', async () => {
    const { dir, tmp } = await freshProject();
    const result = join(tmp, '..', `hangup-result-${copies}`);
    const pane = await TmuxPane.startProgram([process.execPath, HANGUP_SHELL, result, process.execPath, BIN, 'migrate', '--yes', '--exclude', '31337-LookCoin'], {
      cwd: dir,
      dir: fixture.root,
      columns: 80,
      env: { TMPDIR: tmp },
    });
    panes.push(pane);
    // The copy runs once the snapshot of LevelDB is in the temp folder and the progress row shows.
    await until(async () => (await readdir(tmp)).some((name) => name.startsWith('deploystate-snapshot-')), 'the snapshot');
    await pane.waitFor(/\d+ records|\d+%/);
    await pane.close();
    await until(async () => (await readFile(result, 'utf8').catch(() => '')) !== '', 'the command to end');
    expect(await readFile(result, 'utf8')).toBe('exit 129');
    expect(await readdir(tmp)).toEqual([]);
    expect(await copyState(dir)).toMatch(/^copy .*not finished \(resume with `deploystate migrate --resume`\)/m);
  }, 90_000);

  it('the reader of stderr exits during migrate --json (EPIPE): the copy finishes, one document, nothing left behind', async () => {
    const { dir, tmp } = await freshProject();
    const child = spawn(process.execPath, [BIN, 'migrate', '--yes', '--exclude', '31337-LookCoin', '--json'], { cwd: dir, env: childEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The reader takes the first line of progress, then goes away.
    await new Promise((resolve) => child.stderr.once('data', resolve));
    child.stderr.destroy();
    const run: Run = { code: await exited, stdout, stderr: '' };
    expect(run.code, run.stdout).toBe(0);
    expect(envelopeOf(run).command).toBe('migrate');
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(join(dir, 'deployments', '.deploystate', 'tmp')).catch(() => [])).toEqual([]);
    expect(await copyState(dir)).toMatch(/^copy .*completed/m);
  }, 90_000);
});
