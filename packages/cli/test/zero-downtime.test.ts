// Zero downtime, with real processes: a deploy script writes and reads back through
// createStateStore() every 10 ms (and every 100 ms) while the operator walks the runbook with the
// CLI: dual-write enable, migrate, verify, promote, verify, cut-over, rollback. No step may fail,
// the writer may see no error, and every acknowledged write must be exact where it belongs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { deploystate, useSample, type Run } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/deploy-writer.mjs', import.meta.url));
const ACKNOWLEDGE = ['--acknowledge', '31337-LookCoin', '--acknowledge', '31337-TestToken', '--acknowledge', 'MISSING_IMPLEMENTATION_HASH'];

function startWriter(cwd: string, paceMs: number) {
  const child = spawn(process.execPath, [WRITER, cwd, String(paceMs)], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const acked = (): number[] => [...out.matchAll(/^ack (\d+) /gm)].map((m) => Number(m[1]));
  return {
    acked,
    output: () => `${out}\n${err}`,
    async started(): Promise<void> {
      while (acked().length < 3) {
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

async function records(store: LevelDbStore | JsonFileStore): Promise<Map<string, number>> {
  await store.open();
  try {
    return new Map((await store.list(97)).map((r) => [r.contractName, r.timestamp as number]));
  } finally {
    await store.close();
  }
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
      const steps: Array<{ args: string[]; run: Run }> = [];
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
          steps.push({ args, run: await deploystate(args, { cwd }) });
        }
      } finally {
        await writer.stop();
      }
      const failed = steps.filter((s) => s.run.code !== 0).map((s) => `${s.args.join(' ')} -> ${s.run.code}: ${s.run.stderr.slice(-400)}`);
      expect(failed).toEqual([]);
      const output = writer.output();
      expect(output.match(/^error .*$/gm) ?? []).toEqual([]);
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
      const slowest = Math.max(...[...output.matchAll(/^ack \d+ ([\d.]+)$/gm)].map((m) => Number(m[1])));
      process.stderr.write(`zero downtime @${paceMs} ms, ${rollback.slice(0, -1).join(' ')}: ${acked.length} writes, slowest put+get ${slowest.toFixed(0)} ms\n`);
    }, 240_000);
  });
}
