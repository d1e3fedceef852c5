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
import { sleep } from '@deploystate/core';
import { registerInterruptCleanup } from '@deploystate/core/interrupt-cleanup';
import { isGatedSize, ratioGate } from '../gates.js';
import { toMeasurement } from '../harness.js';
import { dataset, loadBackend, loadMigrator, type BackendFactory, type MigratorApi } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
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
  /** The put alone, without the read back. */
  putMs: number;
}

/** A deploy script in its own process (walk-writer.js), writing through createStateStore() every `paceMs`. */
interface Writer {
  /** Resolves once the script acknowledged its first write (or exited). */
  started: Promise<void>;
  /** How many writes it has acknowledged so far. */
  acked(): number;
  /** Tells the script to stop and waits for it: its acknowledged writes and refusals. */
  stop(): Promise<{ acks: Ack[]; errors: string[] }>;
}

function startWriter(writerPath: string, cwd: string, paceMs: number, cycle?: { keys: number; prefix: string; stampBase: number }): Writer {
  const args = [writerPath, cwd, String(paceMs), ...(cycle ? [String(cycle.keys), cycle.prefix, String(cycle.stampBase)] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // Stopped with the bench if a signal stops it (it writes every few milliseconds until told to stop).
  child.once('exit', registerInterruptCleanup(() => child.kill('SIGKILL')));
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const started = (async () => {
    while (!out.includes('ack ') && child.exitCode === null) await sleep(10);
  })();
  return {
    started,
    acked: () => out.match(/^ack /gm)?.length ?? 0,
    async stop() {
      child.stdin.write('stop\n');
      await exited;
      const acks: Ack[] = [...out.matchAll(/^ack ([\d.]+) (\d+) (\S+) ([\d.]+)$/gm)].map((m) => ({
        ms: Number(m[1]),
        at: Number(m[2]),
        waits: m[3] as string,
        putMs: Number(m[4]),
      }));
      if (acks.length === 0) throw new Error(`walk writer acknowledged nothing: ${err.slice(-400)}`);
      return { acks, errors: [...out.matchAll(/^error (\S+)$/gm)].map((m) => m[1] as string) };
    },
  };
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
      const writer = startWriter(writerPath, walk.cwd, paceMs);
      let acks: Ack[];
      let errors: string[];
      try {
        // The writer is under way before the first step, as a deploy script already running would be.
        await writer.started;
        subscribe('deploystate:wait', onWait);
        await walk.advance('json-only');
        await walk.rollBack(emergency);
      } finally {
        unsubscribe('deploystate:wait', onWait);
        ({ acks, errors } = await writer.stop());
        await walk.dispose();
      }
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
  const gates: GateResult[] = [];
  for (const size of context.sizes.filter((s) => isGatedSize(s))) {
    gates.push(...(await sharedFileRows(context, writerPath, leveldb.value, migrator.value, size, measurements)));
  }
  return { measurements, memory: [], gates };
}

/** Two deploy scripts writing one network file: how long each spell of writing lasts and the rounds (`--quick`: fewer, shorter), the pace. */
const sharedSpellMs = (context: SuiteContext): number => (context.light ? 600 : 2_500);
const sharedRounds = (context: SuiteContext): number => (context.light ? 1 : 2);
const SHARED_PACE_MS = 10;
/** Each script's first writes open its store (LevelDB, locks, the state): left out of the figures. */
const SHARED_WARMUP = 3;
const SHARED_KEYS = 20;
/** Timestamps a spell's scripts may use: far more than a spell's puts. */
const STAMPS_PER_SPELL = 1_000_000;
/** The longest the unmeasured first spell waits for both scripts to write all their contracts. */
const SEEDING_LIMIT_MS = 30_000;

/**
 * One deploy script, then two at once, writing the same network file (chain 97) every 10 ms, in
 * leveldb-only (the scripts take turns at LevelDB) and in json-only (at the file's lock): each
 * script's put, spells of one and of two scripts alternating. Information: the runbook has no
 * criterion for it, and what a second script costs is what a team running two scripts pays.
 */
async function sharedFileRows(
  context: SuiteContext,
  writerPath: string,
  leveldb: BackendFactory,
  migrator: MigratorApi,
  size: number,
  measurements: Measurement[],
): Promise<GateResult[]> {
  const gates: GateResult[] = [];
  const walk = await startWalk(leveldb, migrator, dataset(size));
  try {
    for (const phase of ['leveldb-only', 'json-only'] as const) {
      await walk.advance(phase);
      await walk.settle();
      context.log(`walk: ${size} records, ${phase}: one and two deploy scripts writing one network file every ${SHARED_PACE_MS} ms`);
      const puts = { one: [] as number[], two: [] as number[] };
      const refused: string[] = [];
      // Each script rewrites the same SHARED_KEYS contracts in every spell, newer each spell (a
      // script writes fewer than STAMPS_PER_SPELL a spell), so every spell finds the file at the
      // same size; an unmeasured first spell of both scripts writes them all once.
      let spell = 0;
      const writeSpell = async (count: number, hold: (writers: Writer[]) => Promise<void>): Promise<Array<{ acks: Ack[]; errors: string[] }>> => {
        const stampBase = 1_800_000_000_000 + ++spell * STAMPS_PER_SPELL;
        const writers = Array.from({ length: count }, (_, n) =>
          startWriter(writerPath, walk.cwd, SHARED_PACE_MS, { keys: SHARED_KEYS, prefix: `Shared${n}_`, stampBase }),
        );
        await Promise.all(writers.map((w) => w.started));
        await hold(writers);
        return Promise.all(writers.map((w) => w.stop()));
      };
      // Until each script has written every one of its contracts (a slow first put, or a loaded
      // machine, could leave some for the measured spells to add), within a bound.
      await writeSpell(2, async (writers) => {
        for (let waited = 0; writers.some((w) => w.acked() < SHARED_KEYS) && waited < SEEDING_LIMIT_MS; waited += SHARED_PACE_MS) await sleep(SHARED_PACE_MS);
      });
      for (let round = 0; round < sharedRounds(context); round++) {
        for (const count of round % 2 === 0 ? [1, 2] : [2, 1]) {
          for (const { acks, errors } of await writeSpell(count, () => sleep(sharedSpellMs(context)))) {
            (count === 1 ? puts.one : puts.two).push(...acks.slice(SHARED_WARMUP).map((a) => a.putMs));
            refused.push(...errors);
          }
        }
      }
      const base = { suite: 'walk' as const, size, itemsPerRun: 1 };
      const operation = `put every ${SHARED_PACE_MS} ms, one network file (${phase})`;
      const durability = phase === 'json-only' ? 'JSON durable (fdatasync + folder fsync), its journal intent synced' : 'LevelDB sync false, as the factory writes it';
      const note = `each script's put (${SHARED_KEYS} contracts rewritten in turn; ${durability}), spells of ${sharedSpellMs(context) / 1000} s alternating; ${refused.length} refused`;
      measurements.push(
        toMeasurement('one script', puts.one, { ...base, operation, note: `one script alone: ${note}` }),
        toMeasurement('two scripts', puts.two, { ...base, operation, note: `two scripts at once: ${note}` }),
      );
      gates.push(
        ratioGate(
          { name: `info: two deploy scripts writing one network file vs one (${phase})`, limit: null, comparison: '<=', source: 'what a second script costs each put' },
          measurements,
          { suite: 'walk', operation, candidate: 'two scripts', reference: 'one script', size },
        ),
      );
    }
  } finally {
    await walk.dispose();
  }
  return gates;
}
