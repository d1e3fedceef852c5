// What the pre-open folder check costs, and what a deploy script's on-demand open costs with it:
// `npx tsx scripts/open-cost.ts [--quick]`. Medians of interleaved runs (the machine may be busy);
// "no memo" forgets what this process verified before each open, as every open did before the
// memo. Prints a table; no assertions (timings vary by machine).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecords } from '@deploystate/core';
import { Level } from 'level';
import { LevelDbStore, checkDataFiles, forgetVerifiedFiles, inspectFolder, type CheckStats } from '../src/index.js';

const sizes = process.argv.includes('--quick') ? [28, 10_000] : [28, 10_000, 100_000];
const CYCLES = 20;
const REPEATS = 5;
const root = await mkdtemp(join(tmpdir(), 'deploystate-open-cost-'));
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 60));
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function timeCheck(path: string, reuse: boolean): Promise<{ ms: number; stats: CheckStats }> {
  const started = performance.now();
  const state = await inspectFolder(path);
  if (state.kind !== 'store') throw new Error(`not a store: ${state.kind}`);
  const { stats } = await checkDataFiles(path, state.entries, { reuse });
  return { ms: performance.now() - started, stats };
}

/** Cold (everything read) and warm (memo of an earlier check) check times, medians. */
async function checkCost(path: string): Promise<string> {
  const cold: number[] = [];
  const warm: number[] = [];
  let coldBytes = 0;
  let warmBytes = 0;
  await timeCheck(path, true);
  for (let i = 0; i < REPEATS; i++) {
    await settle();
    const c = await timeCheck(path, false);
    const w = await timeCheck(path, true);
    cold.push(c.ms);
    warm.push(w.ms);
    coldBytes = c.stats.bytesRead;
    warmBytes = w.stats.bytesRead;
  }
  return `${fmt(median(cold))} (${kib(coldBytes)}) ${fmt(median(warm))} (${kib(warmBytes)})`;
}

/** CPU time (ms, all threads of this process, so LevelDB's too) of one open/get/close: steadier than wall time on a busy machine. */
async function cycle(path: string, run: () => Promise<() => Promise<void>>): Promise<number> {
  const started = process.cpuUsage();
  const close = await run();
  await close();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

const fmt = (ms: number): string => ms.toFixed(2).padStart(7);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`.padStart(8);
try {
  console.log(
    `records | check, log in the folder: cold / warm ms (bytes read) | same, data in tables | open+get+close CPU ms: no memo / memo / raw Level, median of ${CYCLES}`,
  );
  for (const count of sizes) {
    const path = join(root, `s${count}`);
    const records = generateRecords(count);
    const writer = new LevelDbStore({ path, create: true, idleCloseMs: 0 });
    await writer.open();
    for (let i = 0; i < records.length; i += 1000) await writer.putMany(records.slice(i, i + 1000));
    await writer.close();
    const logCopy = join(root, `s${count}-log`);
    await cp(path, logCopy, { recursive: true });
    const logCost = await checkCost(logCopy);
    const reopen = new LevelDbStore({ path, idleCloseMs: 0 });
    await reopen.open();
    await reopen.close();
    const tablesCost = await checkCost(path);

    const probe = records[Math.floor(records.length / 2)];
    if (!probe) throw new Error('no records');
    const openStore = async (): Promise<() => Promise<void>> => {
      const s = new LevelDbStore({ path, idleCloseMs: 0 });
      await s.open();
      if (!(await s.get(probe.chainId, probe.contractName))) throw new Error('record missing');
      return () => s.close();
    };
    const noMemo: number[] = [];
    const memo: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      forgetVerifiedFiles();
      noMemo.push(await cycle(path, openStore));
      memo.push(await cycle(path, openStore));
      raw.push(
        await cycle(path, async () => {
          const db = new Level<string, string>(path, { createIfMissing: false, valueEncoding: 'utf8' });
          await db.open();
          await db.get(`${probe.chainId}-${probe.contractName}`);
          return () => db.close();
        }),
      );
    }
    console.log(
      `${String(count).padStart(7)} | ${logCost} | ${tablesCost} | ${fmt(median(noMemo))} ${fmt(median(memo))} ${fmt(median(raw))}`,
    );
  }
  // Waiting for the lock: every retry checks the folder again, while the holder's log is large.
  const held = join(root, 'held');
  const holder = new LevelDbStore({ path: held, create: true, idleCloseMs: 0 });
  await holder.open();
  const records = generateRecords(10_000);
  for (let i = 0; i < records.length; i += 1000) await holder.putMany(records.slice(i, i + 1000));
  await settle();
  for (const memo of [false, true]) {
    forgetVerifiedFiles();
    const started = process.cpuUsage();
    const waiting = new LevelDbStore({ path: held, lockWait: { attempts: 15, minDelayMs: 20, maxDelayMs: 20 }, reuseVerifiedFiles: memo });
    const outcome = await waiting.open().then(
      () => 'opened',
      (error: { code?: string }) => error.code,
    );
    const used = process.cpuUsage(started);
    console.log(
      `lock wait, 15 attempts, holder's log of 10k records: ${outcome} after ${fmt((used.user + used.system) / 1000)} CPU ms ${memo ? 'with' : 'without'} the memo`,
    );
  }
  await holder.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
