// The runbook walked (dual-write enable, migrate, verify, promote, verify, cut-over) while a deploy
// script in another process writes through createStateStore() every 10 ms: the writer's put and
// read-back latency (its max is the slowest wait a deploy script saw) and each wait a step had for
// another process (published on the `deploystate:wait` channel; the max is the slowest step wait).
// Figures only: the runbook asks for at most 1 s and 2 s, and a loaded machine decides them.
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { dirname, join } from 'node:path';
import { toMeasurement } from '../harness.js';
import { dataset, loadBackend, loadMigrator } from '../loaders.js';
import type { Measurement } from '../results.js';
import { emptyOutcome, type SuiteContext, type SuiteOutcome } from './context.js';
import { startWalk } from './walk.js';

/** The deploy script's pace: the issue's busy writer. */
export const WALK_WRITER_PACE_MS = 10;
/** The walk copies the whole store: beyond this it takes minutes and answers nothing new. */
const WALK_MAX_SIZE = 10_000;

interface Wait {
  kind: string;
  ms: number;
}

export async function walkSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const writerPath = join(dirname(context.workerPath), 'walk-writer.js');
  const measurements: Measurement[] = [];
  for (const size of context.sizes.filter((s) => s <= WALK_MAX_SIZE || s === context.project?.size)) {
    context.log(`walk: ${size} records, a writer every ${WALK_WRITER_PACE_MS} ms`);
    const walk = await startWalk(leveldb.value, migrator.value, dataset(size));
    const waits: Wait[] = [];
    const onWait = (message: unknown): void => void waits.push(message as Wait);
    const writer = spawn(process.execPath, [writerPath, walk.cwd, String(WALK_WRITER_PACE_MS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    writer.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    writer.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<void>((resolve) => writer.on('exit', () => resolve()));
    try {
      // The writer is under way before the first step, as a deploy script already running would be.
      while (!out.includes('ack ') && writer.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
      subscribe('deploystate:wait', onWait);
      await walk.advance('json-only');
    } finally {
      unsubscribe('deploystate:wait', onWait);
      writer.stdin.write('stop\n');
      await exited;
      await walk.dispose();
    }
    const puts = [...out.matchAll(/^ack ([\d.]+)$/gm)].map((m) => Number(m[1]));
    const errors = [...out.matchAll(/^error (\S+)$/gm)].map((m) => m[1]);
    if (puts.length === 0) throw new Error(`walk writer acknowledged nothing: ${err.slice(-400)}`);
    const base = { suite: 'walk' as const, size, itemsPerRun: 1 };
    measurements.push(
      toMeasurement('deploy script', puts, {
        ...base,
        operation: `put+get every ${WALK_WRITER_PACE_MS} ms during the walk`,
        note: `slowest ${Math.max(...puts).toFixed(0)} ms (runbook: at most 1 s); ${puts.length} writes, ${errors.length} refused${errors.length ? ` (${[...new Set(errors)].join(', ')})` : ''}`,
      }),
    );
    if (waits.length > 0) {
      const slowest = waits.reduce((a, b) => (b.ms > a.ms ? b : a));
      measurements.push(
        toMeasurement(
          'migration steps',
          waits.map((w) => w.ms),
          {
            ...base,
            operation: 'wait for another process during the walk',
            note: `slowest ${slowest.ms.toFixed(0)} ms on ${slowest.kind} (runbook: at most 2 s); each sample is one wait`,
          },
        ),
      );
    }
  }
  return { measurements, memory: [], gates: [] };
}
