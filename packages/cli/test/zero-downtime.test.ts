// Zero downtime, with real processes: a deploy script writes and reads back through
// createStateStore() every 10 ms (and every 100 ms) while the operator walks the runbook with the
// CLI: dual-write enable, migrate, verify, promote, verify, cut-over, rollback (and an emergency
// rollback from json-only). No step may fail, the writer may see no error but the documented
// refusal of a rollback that outlasts its wait, and every acknowledged write must be exact where it
// belongs. The walk prints the writer's slowest wait and each step's, with what they waited for.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { deploystate, useSample, type Run } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/deploy-writer.mjs', import.meta.url));
const TRACE_WAITS = pathToFileURL(fileURLToPath(new URL('./fixtures/trace-waits.mjs', import.meta.url))).href;
const ACKNOWLEDGE = ['--acknowledge', '31337-LookCoin', '--acknowledge', '31337-TestToken', '--acknowledge', 'MISSING_IMPLEMENTATION_HASH'];

interface Ack {
  i: number;
  ms: number;
  /** Wall clock (ms) when the put began. */
  at: number;
  waits: string;
}

interface Step {
  args: string[];
  run: Run;
  started: number;
  ended: number;
  /** The longest wait the step's process published, and what for. */
  slowestWait: { ms: number; kind: string; what?: string } | undefined;
}

function startWriter(cwd: string, paceMs: number) {
  const child = spawn(process.execPath, [WRITER, cwd, String(paceMs)], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const acks = (): Ack[] =>
    [...out.matchAll(/^ack (\d+) ([\d.]+) (\d+) (\S+)$/gm)].map((m) => ({ i: Number(m[1]), ms: Number(m[2]), at: Number(m[3]), waits: m[4] as string }));
  return {
    acks,
    acked: () => acks().map((a) => a.i),
    errors: () => [...out.matchAll(/^error (\d+) (\S+) (\d+).*$/gm)].map((m) => ({ i: Number(m[1]), code: m[2] as string, at: Number(m[3]), line: m[0] })),
    output: () => `${out}\n${err}`,
    async started(): Promise<void> {
      while (acks().length < 3) {
        if (child.exitCode !== null) throw new Error(`writer exited early: ${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop(): Promise<void> {
      child.stdin.write('stop\n');
      await exited;
    },
  };
}

/** Runs one CLI step with the wait trace preloaded, and reads back its longest wait. */
async function runStep(cwd: string, args: string[], index: number): Promise<Step> {
  const trace = join(cwd, '..', `waits-${index}.jsonl`);
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${TRACE_WAITS}`.trim(), DEPLOYSTATE_TEST_WAITS: trace };
  const started = Date.now();
  const run = await deploystate(args, { cwd, env });
  const ended = Date.now();
  const waits = (await readFile(trace, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { ms: number; kind: string; what?: string });
  const slowestWait = waits.reduce<Step['slowestWait']>((max, w) => (max && max.ms >= w.ms ? max : w), undefined);
  return { args, run, started, ended, slowestWait };
}

async function records(store: LevelDbStore | JsonFileStore): Promise<Map<string, number>> {
  await store.open();
  try {
    return new Map((await store.list(97)).map((r) => [r.contractName, r.timestamp as number]));
  } finally {
    await store.close();
  }
}

const name = (step: Step): string => step.args.filter((a) => !a.startsWith('--') && !a.includes('-Look') && !a.includes('-Test') && a !== 'MISSING_IMPLEMENTATION_HASH').join(' ');

/** The step a put overlapped the most (or "between steps"). */
function stepDuring(steps: readonly Step[], ack: Ack): string {
  let best: { step: Step; overlap: number } | undefined;
  for (const step of steps) {
    const overlap = Math.min(step.ended, ack.at + ack.ms) - Math.max(step.started, ack.at);
    if (overlap > 0 && (!best || overlap > best.overlap)) best = { step, overlap };
  }
  return best ? name(best.step) : 'between steps';
}

const WALKS = [
  { paceMs: 10, rollback: ['rollback', '--yes'] },
  { paceMs: 100, rollback: ['rollback', '--yes'] },
  { paceMs: 10, rollback: ['rollback', '--emergency', '--yes'] },
];

// In dual-write the writer's puts go through the LevelDB outbox: a write the drainer has not brought
// to JSON yet is pending for verify (never a difference), and promote drains while it holds LevelDB.
for (const { paceMs, rollback } of WALKS) {
  describe(`the runbook walked while a deploy script writes every ${paceMs} ms, ending in ${rollback.slice(0, -1).join(' ')}`, () => {
    const fixture = useSample(`deploystate-zero-downtime-${paceMs}-`);

    it('completes every step, the writer sees no error, and every acknowledged write is exact on both sides', async () => {
      const cwd = fixture.sample;
      const writer = startWriter(cwd, paceMs);
      const steps: Step[] = [];
      let ackedBeforeRollback: number[] = [];
      try {
        await writer.started();
        for (const args of [
          ['dual-write', 'enable', '--yes'],
          ['migrate', '--yes'],
          ['verify'],
          ['promote', '--yes'],
          ['verify'],
          ['cutover', '--yes', ...ACKNOWLEDGE],
          rollback,
        ]) {
          if (args[0] === 'rollback') ackedBeforeRollback = writer.acked();
          steps.push(await runStep(cwd, args, steps.length));
        }
      } finally {
        await writer.stop();
      }
      const failed = steps.filter((s) => s.run.code !== 0).map((s) => `${s.args.join(' ')} -> ${s.run.code}: ${s.run.stderr.slice(-400)}`);
      expect(failed).toEqual([]);
      // The one error a writer may see: a rollback that outlasts the bounded wait refuses writes, with a hint to retry.
      const rollbackStep = steps[steps.length - 1] as Step;
      const refusedDuringRollback = (e: { code: string; at: number; line: string }): boolean =>
        e.code === 'WRITES_REFUSED' && e.line.includes('hint: ') && !e.line.endsWith('(hint: none)') && e.at >= rollbackStep.started && e.at <= rollbackStep.ended;
      const errors = writer.errors();
      expect(errors.filter((e) => !refusedDuringRollback(e)).map((e) => e.line)).toEqual([]);
      const acked = writer.acked();
      expect(acked.length).toBeGreaterThan(3);

      // After the rollback LevelDB holds every acknowledged write exactly; JSON holds every one
      // acknowledged before the rollback began (after it, writes go to LevelDB only).
      const leveldb = await records(new LevelDbStore({ path: join(cwd, 'leveldb'), idleCloseMs: 0 }));
      const json = await records(new JsonFileStore({ dir: join(cwd, 'deployments') }));
      const missing = (side: Map<string, number>, ids: number[]) =>
        ids.filter((i) => side.get(`Writer${i}`) !== 1_800_000_000_000 + i).map((i) => `Writer${i}`);
      expect(missing(leveldb, acked)).toEqual([]);
      expect(missing(json, ackedBeforeRollback)).toEqual([]);

      // Measured, never asserted (CI is a loaded box): the writer's slowest put and each step's slowest wait.
      const slowest = writer.acks().reduce((max, a) => (a.ms > max.ms ? a : max));
      const stepWaits = steps
        .filter((s) => s.slowestWait)
        .map((s) => `${name(s)} ${s.slowestWait!.ms.toFixed(0)} ms on ${s.slowestWait!.kind}${s.slowestWait!.kind === 'lock' && s.slowestWait!.what ? ` ${s.slowestWait!.what}` : ''}`);
      process.stderr.write(
        `zero downtime @${paceMs} ms, ${rollback.slice(0, -1).join(' ')}: ${acked.length} writes, ${errors.length} refused; ` +
          `slowest put+get ${slowest.ms.toFixed(0)} ms during ${stepDuring(steps, slowest)} (waited ${slowest.waits}); ` +
          `slowest step waits: ${stepWaits.join(', ') || 'none'}\n`,
      );
    }, 240_000);
  });
}
