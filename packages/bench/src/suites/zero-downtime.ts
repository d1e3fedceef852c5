// The runbook walked (dual-write enable, migrate, verify, promote, verify, cut-over, rollback) while
// a deploy script in another process writes through createStateStore() every 10 ms (ending in a
// rollback, then again in an emergency rollback) and every 100 ms: the
// writer's put and read-back latency (its max is the slowest wait a deploy script saw; the five
// slowest are listed with what they waited for and the step they overlapped) and each wait a step
// had for another process (published on the `deploystate:wait` channel; the max is the slowest
// step wait). Figures only: the runbook asks for at most 1 s and 2 s, and a loaded machine decides them.
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { basename, dirname, join } from 'node:path';
import { toMeasurement } from '../harness.js';
import { dataset, loadBackend, loadMigrator } from '../loaders.js';
import type { Measurement } from '../results.js';
import { emptyOutcome, type SuiteContext, type SuiteOutcome } from './context.js';
import { startWalk, type WalkStep } from './walk.js';

/** The deploy script's pace (the issue's busy writer, and a script's pace) and how each walk ends. */
export const WALKS = [
  { paceMs: 10, emergency: false },
  { paceMs: 100, emergency: false },
  { paceMs: 10, emergency: true },
] as const;
/** The walk copies the whole store: beyond this it takes minutes and answers nothing new. */
const WALK_MAX_SIZE = 10_000;
/** How many of the writer's slowest writes the note names. */
const SLOWEST_LISTED = 5;

interface Wait {
  kind: string;
  ms: number;
  what?: string;
  /** Wall clock (ms) when the wait ended. */
  at: number;
}

interface Ack {
  ms: number;
  /** Wall clock (ms) when the put began. */
  at: number;
  waits: string;
}

/** The step a write (or a wait) overlapped the most, or "between steps". */
function stepDuring(steps: readonly WalkStep[], ack: Pick<Ack, 'ms' | 'at'>): string {
  let best: { step: WalkStep; overlap: number } | undefined;
  for (const step of steps) {
    const overlap = Math.min(step.ended, ack.at + ack.ms) - Math.max(step.started, ack.at);
    if (overlap > 0 && (!best || overlap > best.overlap)) best = { step, overlap };
  }
  return best ? best.step.name : 'between steps';
}

export async function walkSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const writerPath = join(dirname(context.workerPath), 'walk-writer.js');
  const measurements: Measurement[] = [];
  for (const size of context.sizes.filter((s) => s <= WALK_MAX_SIZE || s === context.project?.size)) {
    for (const { paceMs, emergency } of WALKS) {
      const ending = emergency ? 'rollback --emergency' : 'rollback';
      context.log(`walk: ${size} records, a writer every ${paceMs} ms, ending in ${ending}`);
      const walk = await startWalk(leveldb.value, migrator.value, dataset(size));
      const waits: Wait[] = [];
      const onWait = (message: unknown): void => void waits.push({ ...(message as Omit<Wait, 'at'>), at: Date.now() });
      const writer = spawn(process.execPath, [writerPath, walk.cwd, String(paceMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
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
        await walk.rollBack(emergency);
      } finally {
        unsubscribe('deploystate:wait', onWait);
        writer.stdin.write('stop\n');
        await exited;
        await walk.dispose();
      }
      const acks: Ack[] = [...out.matchAll(/^ack ([\d.]+) (\d+) (\S+)$/gm)].map((m) => ({
        ms: Number(m[1]),
        at: Number(m[2]),
        waits: m[3] as string,
      }));
      const errors = [...out.matchAll(/^error (\S+)$/gm)].map((m) => m[1]);
      if (acks.length === 0) throw new Error(`walk writer acknowledged nothing: ${err.slice(-400)}`);
      const slowest = [...acks]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, SLOWEST_LISTED)
        .map((a) => `${a.ms.toFixed(0)} ms during ${stepDuring(walk.steps, a)} (waited ${a.waits})`);
      context.log(`walk: ${size} records @${paceMs} ms, ${ending}: writer's slowest: ${slowest.join('; ')}`);
      const base = { suite: 'walk' as const, size, itemsPerRun: 1 };
      const puts = acks.map((a) => a.ms);
      measurements.push(
        toMeasurement('deploy script', puts, {
          ...base,
          operation: `put+get every ${paceMs} ms during the walk to ${ending}`,
          note: `slowest ${slowest.join('; ')} (runbook: at most 1 s); ${puts.length} writes, ${errors.length} refused${errors.length ? ` (${[...new Set(errors)].join(', ')})` : ''}`,
        }),
      );
      if (waits.length > 0) {
        const top = [...waits]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, SLOWEST_LISTED)
          .map(
            (w) =>
              `${w.ms.toFixed(0)} ms on ${w.kind}${w.what !== undefined ? ` ${basename(w.what)}` : ''} in ${stepDuring(walk.steps, { ms: w.ms, at: w.at - w.ms })}`,
          );
        context.log(`walk: ${size} records @${paceMs} ms, ${ending}: steps' slowest waits: ${top.join('; ')}`);
        measurements.push(
          toMeasurement(
            'migration steps',
            waits.map((w) => w.ms),
            {
              ...base,
              operation: `wait for another process during the walk to ${ending}, writer every ${paceMs} ms`,
              note: `slowest ${top.join('; ')} (runbook: at most 2 s); each sample is one wait`,
            },
          ),
        );
      }
    }
  }
  return { measurements, memory: [], gates: [] };
}
