// The operator's terminal: long commands and prompts run in a real 70-column pseudo-terminal (tmux),
// as a person runs them. No line wider than the terminal, one progress row updated in place, an
// unknown total as a count and a rate, and the outcomes of a prompt (yes, no, Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressBar, palette } from '../src/output.js';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';
import { TmuxPane } from './tmux.js';

const COLUMNS = 70;
const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-file-lock.mjs', import.meta.url));
const fixture = useSample('deploystate-cli-terminal-', { demo: false });
const panes: TmuxPane[] = [];
let copies = 0;

afterEach(async () => {
  for (const pane of panes.splice(0)) await pane.close();
});

/**
 * A fresh copy of the sample taken through `steps` (sampleAt), at a long path, so the paths printed
 * would not fit 70 columns unwrapped.
 */
function freshSample(steps: string[][] = []): Promise<string> {
  return sampleAt(join(fixture.root, `operator-with-a-long-folder-name-${++copies}`, 'sample'), steps);
}

async function open(args: string[], cwd: string, env?: Record<string, string>): Promise<TmuxPane> {
  const files = join(fixture.root, 'panes');
  await mkdir(files, { recursive: true });
  const pane = await TmuxPane.start(args, { cwd, dir: files, columns: COLUMNS, ...(env !== undefined && { env }) });
  panes.push(pane);
  return pane;
}

/** Resolves when the child prints `line` (bounded by the child: rejects if it exits first). */
function firstLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.split('\n').includes(line)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before "${line}": ${text}`)));
  });
}

/** The text with the program's own wrapping undone (continuation rows are indented). */
const flat = (text: string): string => text.replace(/\n +/g, ' ');

/** Every line as the program wrote it (wrapped rows joined): none may be wider than the terminal. */
function widest(text: string): number {
  return Math.max(...text.split('\n').map((line) => [...line.trimEnd()].length));
}

describe('a 70-column terminal', () => {
  it('migrate: asks, copies with one progress row updated in place, total unknown shown as count and rate, nothing wider than 70', async () => {
    const sample = await freshSample([['dual-write', 'enable']]);
    // No analyze or verify before the copy: nothing counted the records, so the total is unknown.
    const pane = await open(['migrate', '--batch-size', '1'], sample);
    await pane.waitFor(/Proceed with migrate\? \[y\/N\]/);
    await pane.keys('y', 'Enter');
    expect(await pane.exitCode()).toBe(0);
    const text = await pane.text();
    expect(text).toContain('Bulk copy finished');
    expect(widest(text)).toBeLessThanOrEqual(COLUMNS);
    // One row on screen for the whole copy...
    const rows = text.split('\n').filter((line) => line.startsWith('copying'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^copying 28 records [\d.]+ rec\/s/);
    expect(rows[0]).not.toContain('%');
    // ...redrawn in place many times: carriage return, clear the row, draw.
    const raw = await pane.raw();
    const updates = raw.split('\r\u001b[2K').filter((chunk) => chunk.startsWith('copying'));
    expect(updates.length).toBeGreaterThan(5);
    for (const update of updates.slice(0, -1)) expect(update).not.toContain('\n');
    expect(updates.map((u) => u.match(/^copying (\d+) records/)?.[1]).filter(Boolean).length).toBe(updates.length);
  });

  it('"n" at the prompt declines (exit 1) and changes nothing', async () => {
    const sample = await freshSample();
    const before = await readFile(join(sample, 'deployments', 'bscmainnet.json'), 'utf8');
    const pane = await open(['dual-write', 'enable'], sample);
    await pane.waitFor(/Proceed with dual-write enable\? \[y\/N\]/);
    await pane.keys('n', 'Enter');
    expect(await pane.exitCode()).toBe(1);
    const text = await pane.text();
    expect(text).toContain('declined');
    expect(text).not.toContain('unexpected failure');
    expect(widest(text)).toBeLessThanOrEqual(COLUMNS);
    const status = onlyDocument(await deploystate(['status', '--json'], { cwd: sample }));
    expect(status.phase).toBe('leveldb-only');
    expect(await readFile(join(sample, 'deployments', 'bscmainnet.json'), 'utf8')).toBe(before);
  });

  it('Ctrl-C at the prompt cancels (exit 130), says so in --json too, and changes nothing', async () => {
    const sample = await freshSample([['dual-write', 'enable']]);
    const pane = await open(['migrate', '--json'], sample);
    await pane.waitFor(/Proceed with migrate\? \[y\/N\]/);
    await pane.keys('C-c');
    expect(await pane.exitCode()).toBe(130);
    const text = await pane.text();
    expect(text).toContain('"code": "CANCELLED"');
    expect(text).not.toContain('unexpected failure');
    const compare = await deploystate(['compare', '--json'], { cwd: sample });
    // Nothing was copied: the JSON side is still empty.
    expect((onlyDocument(compare).missingInJson as unknown[]).length).toBe(28);
  });

  it('Ctrl-C during long work says what state it left, and exits 130', async () => {
    const sample = await freshSample();
    // No copy has started: monitor waits for one until interrupted.
    const pane = await open(['monitor', '--interval', '100'], sample);
    await pane.waitFor(/waiting for it in\s+another terminal/);
    await pane.keys('C-c');
    expect(await pane.exitCode()).toBe(130);
    const text = await pane.text();
    expect(flat(text)).toMatch(/cancelled: monitor interrupted \(Ctrl-C\): monitor stopped watching; it changes nothing/);
    expect(widest(text)).toBeLessThanOrEqual(COLUMNS);
  });
});

describe('after the copy', () => {
  it('Ctrl-C in the middle of the copy says how far it got and how to resume; --resume finishes it', async () => {
    const sample = await freshSample([['dual-write', 'enable']]);
    // Another process holds the lock of the second network file (as a deploy script writing it
    // would): the copy finishes the first file, then waits there, so Ctrl-C lands mid-copy.
    const holder = spawn(process.execPath, [HOLD_LOCK, join(sample, 'deployments', 'bsctestnet.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await firstLine(holder, 'held');
      const pane = await open(['migrate', '--yes'], sample);
      await pane.waitFor(/^copying [1-9]\d* records/m);
      await pane.keys('C-c');
      expect(await pane.exitCode()).toBe(130);
      const text = flat(await pane.text());
      expect(text).toMatch(/the copy stopped after [1-9]\d* record\(s\)/);
      expect(text).toContain('deploystate migrate --resume');
      expect(widest(await pane.text())).toBeLessThanOrEqual(COLUMNS);
    } finally {
      holder.kill('SIGKILL');
    }
    const resumed = await deploystate(['migrate', '--resume', '--yes', '--json'], { cwd: sample });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await deploystate(['compare'], { cwd: sample })).code).toBe(0);
  });

  it('status, monitor and report stay true after a re-run that had nothing to do', async () => {
    const sample = await freshSample([['dual-write', 'enable'], ['migrate']]);
    const again = await deploystate(['migrate', '--yes', '--json'], { cwd: sample });
    expect(onlyDocument(again)).toMatchObject({ nothingToDo: true, copied: 0 });
    const status = await deploystate(['status'], { cwd: sample });
    expect(status.stdout).toMatch(/copy +completed .*: 0 copied, 28 already equal/);
    // No copy runs: monitor says so and ends, rather than wait for one.
    const monitor = await deploystate(['monitor'], { cwd: sample });
    expect(monitor.code, monitor.stderr).toBe(0);
    expect(monitor.stdout).toContain('no copy is running; the last one completed at');
    // Nothing journalled: nothing measured, not "100% of 0".
    const report = await deploystate(['report', '--json'], { cwd: sample });
    const data = onlyDocument(report) as { report: { operations: { errorRate: unknown; availability: unknown }; validation: unknown } };
    expect(data.report.operations).toMatchObject({ errorRate: null, availability: null });
    const markdown = (await deploystate(['report'], { cwd: sample })).stdout;
    expect(markdown).toContain('System Availability: n/a (nothing measured)');
    expect(markdown).toContain('Error Rate: n/a (nothing measured)');
    // The files' findings are counted as validate counts them.
    const validate = onlyDocument(await deploystate(['validate', '--json'], { cwd: sample })) as { summary: Record<string, number> };
    const { errors, warnings, info, files } = validate.summary;
    expect(data.report.validation).toMatchObject({ errors, warnings, info, files });
  });
});

describe('the progress row', () => {
  const bar = new ProgressBar(process.stderr, palette(false), 'copying');
  const label = '/a/very/long/path/to/the/deployments/folder/of/a/project/optimismsepolia.json';

  it('with a known total: percentage, counts, rate and ETA, cut to the width', () => {
    for (const columns of [40, 70, 150]) {
      const row = bar.render({ done: 50, total: 200, totalKnown: true, rate: 12.5, etaMs: 12_000, label }, columns);
      expect([...row].length, row).toBeLessThan(columns);
      expect(row).toContain('25%');
    }
    expect(bar.render({ done: 50, total: 200, rate: 12.5, etaMs: 12_000 }, 150)).toMatch(/\[#+\.+\] 25% 50\/200 \d+ rec\/s ETA 12s/);
    // The file being written stays in view, its name whole: the bar gives way to it (at 70 columns
    // it has no room left; at 100 it is there), and a long path keeps its end.
    for (const file of ['optimismsepolia.json', label])
      for (const columns of [70, 100]) {
        const row = bar.render({ done: 50, total: 200, totalKnown: true, rate: 12.5, etaMs: 12_000, label: file }, columns);
        expect(row, row).toMatch(/25% 50\/200 .*optimismsepolia\.json$/);
        if (columns === 100) expect(row).toMatch(/\[#+\.+\]/);
        expect([...row].length, row).toBeLessThan(columns);
      }
  });

  it('with an unknown total: a count and a rate, never a percentage', () => {
    const row = bar.render({ done: 4000, total: 4000, totalKnown: false, rate: 800, label }, 70);
    expect(row).toMatch(/^copying 4000 records 800 rec\/s/);
    expect(row).not.toContain('%');
    expect([...row].length).toBeLessThan(70);
  });
});
