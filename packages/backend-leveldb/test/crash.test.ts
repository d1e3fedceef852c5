// A writer killed with SIGKILL at random moments, as a deploy script killed mid-append: every
// batch it acknowledged is there after each kill, no batch is half there, and the store opens
// (a torn log tail is an unacknowledged write, not damage).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, checkLog } from '../src/index.js';
import { runNode, storeFolderPerTest } from './helpers.js';

const folder = storeFolderPerTest('crash', { seed: true });

const ROUNDS = 10;
const PER_BATCH = 8;

/** Acknowledged batch numbers: only whole `ack <n>` lines count. */
function acks(output: string): number[] {
  return [...output.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1]));
}

/** Whether the kill landed inside a putMany: the last whole line announces a batch that was never acknowledged. */
function killedMidWrite(output: string): boolean {
  const lines = [...output.matchAll(/^(write|ack) (\d+)$/gm)];
  return lines.at(-1)?.[1] === 'write';
}

async function tornLogs(): Promise<number> {
  let torn = 0;
  for (const name of (await readdir(folder.path)).filter((n) => n.endsWith('.log'))) {
    const result = checkLog(await readFile(join(folder.path, name)));
    if (!result.ok && result.kind === 'torn') torn++;
  }
  return torn;
}

describe('SIGKILL of a writer at random moments', () => {
  it(`after each of ${ROUNDS} kills the store opens and holds every acknowledged batch, whole`, async () => {
    let tornSeen = 0;
    let midWrite = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate a handle kept open with one that idle-closes, so kills land in opens and closes too.
      const writer = runNode([
        '--import',
        'tsx',
        join('test', 'fixtures', 'batch-writer.ts'),
        folder.path,
        String(round),
        round % 2 === 0 ? '0' : '3',
      ]);
      folder.children.push(writer);
      await writer.waitFor('ready');
      const target = 1 + Math.floor(Math.random() * 12);
      await writer.waitFor(`ack ${target - 1}\n`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
      // Still running when killed: the writer loops forever, so exiting on its own is a failure.
      expect(writer.process.exitCode, writer.output()).toBeNull();
      writer.process.kill('SIGKILL');
      await writer.exited;
      expect(writer.process.signalCode).toBe('SIGKILL');
      if (killedMidWrite(writer.output())) midWrite++;
      const acknowledged = acks(writer.output());
      expect(acknowledged.length).toBeGreaterThanOrEqual(target);
      tornSeen += await tornLogs();

      const store = new LevelDbStore({ path: folder.path, idleCloseMs: 0 });
      await store.open(); // never CORRUPTED after an ordinary crash
      try {
        const perBatch = new Map<string, number>();
        for await (const { record } of store.iterate({ chainId: 97 })) {
          const batch = /^(R\d+-B\d+)-\d+$/.exec(record.contractName)?.[1] as string;
          perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
        }
        for (const n of acknowledged) expect(perBatch.get(`R${round}-B${n}`), `round ${round} batch ${n}`).toBe(PER_BATCH);
        for (const [batch, count] of perBatch) expect(count, batch).toBe(PER_BATCH);
        expect(await store.get(56, 'Seed')).not.toBeNull();
      } finally {
        await store.close();
      }
    }
    // How often a kill tore the log is chance; printed so a run shows what it exercised.
    console.log(`kills inside a putMany: ${midWrite} of ${ROUNDS}; torn log tails seen: ${tornSeen}`);
    // The point of the test is kills during a write: most land there (putMany is most of the loop),
    // so none in ${ROUNDS} rounds means the kills only ever hit the gaps between batches.
    expect(midWrite).toBeGreaterThan(0);
  }, 60_000);
});
