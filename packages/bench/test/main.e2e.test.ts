// One quick run of the built bench as a child process, as `pnpm bench --quick` runs it: the codec
// suite always, the backends when they are built. Checks shapes, never times.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir, runChild, type ChildOutcome } from '../src/harness.js';
import type { BenchRun } from '../src/results.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const main = join(packageDir, 'dist', 'main.js');
const migratorBuilt = existsSync(join(packageDir, '..', 'migrator', 'dist', 'index.js'));
const backendsBuilt = ['backend-leveldb', 'backend-json'].every((p) => existsSync(join(packageDir, '..', p, 'dist', 'index.js')));

let out = '';
let first: ChildOutcome;

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} missing: run the package build first (pnpm test does)`);
  out = await makeTempDir('e2e');
  first = await runChild(process.execPath, [main, '--quick', '--suite', 'codec,backends', '--sizes', '28', '--json', '--out', out], {
    timeoutMs: 120_000,
  });
}, 130_000);

afterAll(async () => {
  if (out) await removeTempDir(out);
});

describe('pnpm bench --quick, end to end', () => {
  it('exits 0 without --gate and prints exactly one JSON document on stdout', () => {
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as BenchRun;
    expect(doc.version).toBe(1);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('saves the run as JSON (timestamped and latest), a Markdown report and an SVG chart per suite', async () => {
    const files = await readdir(out);
    expect(files.filter((f) => /^bench-.*\.json$/.test(f))).toHaveLength(1);
    expect(files).toEqual(expect.arrayContaining(['latest.json', 'report.md', 'chart-codec.svg']));
    const svg = await readFile(join(out, 'chart-codec.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Gates');
    expect(md).toContain('(chart-codec.svg)');
  });

  it('the saved result has the documented shape', async () => {
    const run = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchRun;
    expect(run).toMatchObject({ version: 1, options: { quick: true, sizes: [28], suites: ['codec', 'backends'] } });
    expect(typeof run.environment.node).toBe('string');
    for (const m of run.measurements) {
      expect(m.latencyMs.n).toBeGreaterThan(0);
      expect(m.latencyMs.p50).toBeGreaterThanOrEqual(0);
      expect(m.latencyMs.p99).toBeGreaterThanOrEqual(m.latencyMs.p50);
      expect(m.itemsPerRun).toBeGreaterThan(0);
    }
    const codec = run.measurements.filter((m) => m.suite === 'codec');
    expect(codec.map((m) => `${m.operation}/${m.subject}`).sort()).toEqual(
      [
        ...['parse', 'parse-unsafe', 'read-file', 'stringify', 'stringify-unsafe'].flatMap((op) => [`${op}/lossless`, `${op}/native`]),
        'large-string/one large string',
        'large-string/two half strings',
      ].sort(),
    );
    const codecGates = run.gates.filter((g) => g.suite === 'codec');
    expect(codecGates).toHaveLength(6);
    expect(codecGates.filter((g) => g.status === 'PASS' || g.status === 'FAIL')).toHaveLength(4);
    // A file's read is shown beside the parse's target, never gated by it; nor is what the machine pays for a large string.
    expect(codecGates.find((g) => g.name.includes('(read-file)'))).toMatchObject({ status: 'INFO', limit: null });
    expect(codecGates.find((g) => g.name.includes('128 KiB'))).toMatchObject({ status: 'INFO', limit: null });
    for (const g of run.gates) expect(['PASS', 'FAIL', 'INFO', 'N/A']).toContain(g.status);
  });

  it('measures both backends on the same operations with memory from child processes, or says why not', async () => {
    const run = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchRun;
    const backends = run.measurements.filter((m) => m.suite === 'backends');
    if (!backendsBuilt) {
      expect(run.skipped.find((s) => s.suite === 'backends')?.reason).toMatch(/not available/);
      return;
    }
    const ops = ['get', 'put', 'put-durable', 'list', 'query', 'iterate', 'batch'];
    for (const subject of ['leveldb', 'json']) {
      expect(backends.filter((m) => m.subject === subject).map((m) => m.operation)).toEqual(ops);
    }
    expect(run.memory.map((m) => m.subject).sort()).toEqual(['json', 'leveldb']);
    for (const m of run.memory) expect(m.rssBytes).toBeGreaterThan(m.heapUsedBytes);
    const names = run.gates.filter((g) => g.suite === 'backends' && g.size === 28).map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(['read (get)', 'write (put)', 'write (put-durable)', 'query (query)', 'memory']));
    expect(
      run.gates
        .filter((g) => g.suite === 'backends' && g.name !== 'memory' && !g.name.startsWith('info'))
        .every((g) => g.status === 'PASS' || g.status === 'FAIL'),
    ).toBe(true);
  });

  it('--baseline compares with a saved run and reports every figure it shares', async () => {
    const second = await runChild(
      process.execPath,
      [main, '--quick', '--suite', 'codec', '--sizes', '28', '--json', '--out', out, '--baseline', join(out, 'latest.json')],
      { timeoutMs: 60_000 },
    );
    expect(second.code, second.stderr).toBe(0);
    const run = JSON.parse(second.stdout) as BenchRun;
    expect(run.baseline?.file).toBe(join(out, 'latest.json'));
    expect(run.baseline?.entries).toHaveLength(12);
    expect(run.baseline?.threshold).toBe(0.2);
    // The first run also measured the backends; this one did not, so those are listed as missing.
    expect(run.baseline?.missing.length).toBe(backendsBuilt ? 14 + 2 : 0);
  }, 70_000);

  it('refuses an unknown option with exit code 2 and the usage', async () => {
    const outcome = await runChild(process.execPath, [main, '--no-such-flag']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('Usage: pnpm bench');
  });
});

describe('what deploy scripts get, end to end (quick)', () => {
  let run: BenchRun | undefined;
  let outcome: ChildOutcome;
  let dir = '';
  beforeAll(async () => {
    if (!migratorBuilt) return;
    dir = await makeTempDir('e2e-factory');
    outcome = await runChild(process.execPath, [main, '--quick', '--suite', 'factory,dual-write', '--sizes', '28', '--json', '--out', dir], {
      timeoutMs: 170_000,
    });
    run = JSON.parse(outcome.stdout) as BenchRun;
  }, 180_000);
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it.runIf(migratorBuilt)('reads and durable puts through createStateStore() in every phase of a real walk', () => {
    expect(outcome.code, outcome.stderr).toBe(0);
    const rows = (run?.measurements ?? []).filter((m) => m.suite === 'factory').map((m) => `${m.operation}/${m.subject}`);
    for (const phase of ['leveldb-only', 'dual-write', 'json-primary', 'json-only'])
      for (const op of ['get', 'list', 'query']) expect(rows).toEqual(expect.arrayContaining([`${op} ${phase}/factory`, `${op} ${phase}/leveldb`]));
    expect(rows).toEqual(expect.arrayContaining(['put json-only/factory', 'put json-only/json', 'put json-only/leveldb sync', 'put json-only/level sync', 'put json-only/rewrite floor', 'putMany 20 json-only/factory', 'putMany 20 json-only/leveldb sync', 'putMany 20 leveldb-only/factory', 'putMany 20 dual-write/factory', 'putMany 20 json-primary/factory', 'putMany 20 json-primary/leveldb sync']));
    // A get straight after a put, as a deploy script reads the next contract: against LevelDB alone
    // at the phase's durability and against `level` as the legacy state module read it.
    for (const [phase, reference] of [['leveldb-only', 'leveldb'], ['dual-write', 'leveldb'], ['json-primary', 'leveldb sync'], ['json-only', 'leveldb sync']])
      expect(rows).toEqual(expect.arrayContaining([`get after put ${phase}/factory`, `get after put ${phase}/${reference}`, `get after put ${phase}/level`]));
    const gateNames = (run?.gates ?? []).filter((g) => g.suite === 'factory').map((g) => g.name);
    expect(gateNames).toEqual(expect.arrayContaining(['read (get after a put, json-only)', 'info: get after a put vs level (json-only)']));
    // The paced get gated near its value (reads from JSON against half a LevelDB get) takes four times the rounds.
    const pacedSamples = (phase: string): number | undefined =>
      run?.measurements.find((m) => m.suite === 'factory' && m.operation === `get ${phase} @100ms` && m.subject === 'factory')?.latencyMs.n;
    expect(pacedSamples('json-only')).toBe(4 * (pacedSamples('leveldb-only') as number));
    expect(pacedSamples('json-primary')).toBe(pacedSamples('json-only'));
    // A deploy script's run in a process of its own, and the import before it.
    expect(rows).toEqual(
      expect.arrayContaining([
        'fresh script json-only/factory',
        'fresh script json-only/leveldb sync',
        'fresh script import/factory',
        'fresh script import/leveldb sync',
        'fresh script json-only + import/factory',
        'fresh script json-only + import/leveldb sync',
      ]),
    );
    // What the terminal gets fits in 100 columns (progress lines are wrapped).
    for (const line of outcome.stderr.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    // A script's whole run (a fresh store, its puts, close), beside LevelDB sync doing the same.
    expect(rows).toEqual(expect.arrayContaining(['20 puts + close json-only/factory', '20 puts + close json-only/leveldb sync']));
  });

  it.runIf(migratorBuilt)('dual-write back to back, at a deploy script pace, as N puts + close, with the JSON lag', () => {
    const rows = (run?.measurements ?? []).filter((m) => m.suite === 'dual-write');
    const ids = rows.map((m) => `${m.operation}/${m.subject}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'put/dual-write',
        'put/leveldb',
        'put @100ms/dual-write',
        'put @100ms/leveldb',
        '20 puts + close/dual-write',
        '20 puts + close/leveldb',
        '20 puts + close/leveldb sync',
        'json lag @100ms/dual-write',
      ]),
    );
    // One lag sample per paced put of the dual-write store.
    const paced = rows.find((m) => m.operation === 'put @100ms' && m.subject === 'dual-write');
    expect(rows.find((m) => m.operation === 'json lag @100ms')?.latencyMs.n).toBe(paced?.latencyMs.n);
    const titled = (run?.gates ?? []).filter((g) => g.suite === 'dual-write' && g.title !== undefined);
    expect(titled.map((g) => g.name)).toEqual(
      expect.arrayContaining(['dual-write (put)', 'dual-write (put @100ms)', 'dual-write (20 puts + close)', 'dual-write (get)']),
    );
    expect(titled.every((g) => g.times !== undefined)).toBe(true);
  });
});

describe('pnpm bench --quick --suite walk: the runbook walked while scripts write, and two scripts writing one network file', () => {
  let outcome: ChildOutcome;
  let run: BenchRun | undefined;
  let dir = '';
  beforeAll(async () => {
    if (!migratorBuilt) return;
    dir = await makeTempDir('e2e-walk');
    outcome = await runChild(process.execPath, [main, '--quick', '--suite', 'walk', '--sizes', '28', '--json', '--out', dir], { timeoutMs: 110_000 });
    run = JSON.parse(outcome.stdout) as BenchRun;
  }, 120_000);
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it.runIf(migratorBuilt)('measures one script and two at once on the same file, in leveldb-only and json-only, each put acknowledged', () => {
    expect(outcome.code, outcome.stderr).toBe(0);
    const walk = (run?.measurements ?? []).filter((m) => m.suite === 'walk');
    for (const phase of ['leveldb-only', 'json-only']) {
      const operation = `put every 10 ms, one network file (${phase})`;
      for (const subject of ['one script', 'two scripts']) {
        const row = walk.find((m) => m.operation === operation && m.subject === subject);
        expect(row?.latencyMs.n, `${operation}/${subject}`).toBeGreaterThan(5);
        // Every write was acknowledged and read back: none refused, none lost to the other script.
        expect(row?.note).toMatch(/; 0 refused$/);
      }
      const gate = run?.gates.find((g) => g.name === `info: two deploy scripts writing one network file vs one (${phase})`);
      expect(gate?.status).toBe('INFO');
      expect(gate?.value).toBeGreaterThan(0);
    }
    // The walks themselves: the writer's puts during each walk to rollback.
    expect(walk.filter((m) => m.operation.startsWith('put+get every')).length).toBe(3);
  });
});

describe('a bench stopped by a signal (SIGTERM to its pid alone)', () => {
  it('removes the stores it made in the temp folder, saves nothing and exits 143', async () => {
    const tmp = await makeTempDir('e2e-signal');
    const out = join(tmp, 'out');
    const child = spawn(process.execPath, [main, '--quick', '--suite', 'backends', '--sizes', '28', '--out', out], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Bounded: once a store of the suite's exists in the temp folder, stop it.
      const until = Date.now() + 60_000;
      while (Date.now() < until && child.exitCode === null && !(await readdir(tmp)).some((name) => name.startsWith('deploystate-bench-'))) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((await readdir(tmp)).some((name) => name.startsWith('deploystate-bench-')), stderr).toBe(true);
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(143);
      expect(stderr).toContain('bench: stopped (SIGTERM)');
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await removeTempDir(tmp);
    }
  }, 90_000);
});
