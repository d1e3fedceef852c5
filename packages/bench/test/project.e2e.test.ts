// The bench on a project's own store, as `deploystate bench` runs it in a user's project: it
// measures the records of a copy, at their count, gated; the project's folders stay byte-identical.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { generateRecords } from '@deploystate/core';
import { fileDigests } from '@deploystate/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir, runChild } from '../src/harness.js';
import type { BenchRun } from '../src/results.js';

const main = join(dirname(dirname(fileURLToPath(import.meta.url))), 'dist', 'main.js');
/** Not a size the bench generates: the figures can only come from this store. */
const RECORDS = 37;

let project = '';

const bench = (args: string[]) => runChild(process.execPath, [main, ...args], { timeoutMs: 120_000 });

beforeAll(async () => {
  project = await makeTempDir('project-e2e');
  const store = new LevelDbStore({ path: join(project, 'leveldb'), create: true });
  await store.open();
  await store.putMany(generateRecords(RECORDS));
  await store.close();
  await mkdir(join(project, 'deployments'));
});

afterAll(async () => {
  if (project) await removeTempDir(project);
});

describe('bench --from-leveldb (a project store)', () => {
  it('measures the copy at its own size, gates it, and leaves the folders byte-identical', async () => {
    const before = await fileDigests(project);
    expect(Object.keys(before).length).toBeGreaterThan(2);
    const out = join(project, 'results');
    const args = ['--from-leveldb', join(project, 'leveldb'), '--from-deployments', join(project, 'deployments')];
    const run = await bench([...args, '--suite', 'backends', '--iterations', '3', '--warmup', '1', '--gate', '--json', '--out', out]);
    const doc = JSON.parse(run.stdout) as BenchRun;
    expect(doc.options).toMatchObject({ sizes: [RECORDS], project: { records: RECORDS, source: 'leveldb', invalid: 0, long: false } });
    expect(new Set(doc.measurements.map((m) => m.size))).toEqual(new Set([RECORDS]));
    // The runbook's criteria apply at the project's own size (37 over 5 networks is gated anyway;
    // what matters is that none reads INFO), each with its absolute figures.
    const runbook = doc.gates.filter((g) => g.source.startsWith('runbook'));
    expect(runbook.map((g) => g.name)).toEqual(expect.arrayContaining(['read (get)', 'write (put)', 'query (query)', 'memory']));
    for (const gate of runbook) expect(['PASS', 'FAIL'], gate.name).toContain(gate.status);
    expect(runbook.find((g) => g.name === 'memory')?.bytes?.candidate).toBeGreaterThan(0);
    // --gate: exit 1 exactly when a gate failed.
    expect(run.code, run.stderr).toBe(doc.gates.some((g) => g.status === 'FAIL') ? 1 : 0);
    const after = await fileDigests(project);
    expect(Object.fromEntries(Object.entries(after).filter(([path]) => !path.startsWith('results/')))).toEqual(before);
  }, 130_000);

  it('a size above the gated ones is still gated when it is the project store', async () => {
    const { gateProjectSize, isGatedSize } = await import('../src/gates.js');
    expect(isGatedSize(5000)).toBe(false);
    gateProjectSize(5000);
    try {
      expect(isGatedSize(5000)).toBe(true);
    } finally {
      gateProjectSize(undefined);
    }
  });

  it('exits 2 before measuring when there is nothing to measure or no saved baseline', async () => {
    const missing = await bench(['--from-leveldb', join(project, 'nope'), '--suite', 'backends', '--out', join(project, 'r2')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(project, 'nope'));
    const empty = await bench(['--from-deployments', join(project, 'deployments'), '--suite', 'backends', '--out', join(project, 'r2')]);
    expect(empty.code).toBe(2);
    const noBaseline = await bench(['--from-leveldb', join(project, 'leveldb'), '--baseline', '--out', join(project, 'r2')]);
    expect(noBaseline.code).toBe(2);
    expect(noBaseline.stderr).toContain(join(project, 'r2', 'baseline.json'));
  }, 60_000);
});
