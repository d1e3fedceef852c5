// What the pre-open folder check costs, and what a deploy script's on-demand open costs with it:
// `npx tsx scripts/open-cost.ts [--quick]`. Prints a table; no assertions (timings vary by machine).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecords } from '@deploystate/core';
import { Level } from 'level';
import { LevelDbStore } from '../src/index.js';
import { checkDataFiles, inspectFolder } from '../src/level-files.js';

const sizes = process.argv.includes('--quick') ? [28, 10_000] : [28, 10_000, 100_000];
const CYCLES = 20;
const root = await mkdtemp(join(tmpdir(), 'deploystate-open-cost-'));

async function timeCheck(path: string): Promise<number> {
  const started = performance.now();
  const state = await inspectFolder(path);
  if (state.kind !== 'store') throw new Error(`not a store: ${state.kind}`);
  await checkDataFiles(path, state.entries);
  return performance.now() - started;
}

async function cycles(path: string, open: () => Promise<() => Promise<void>>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const close = await open();
    await close();
  }
  return (performance.now() - started) / CYCLES;
}

const fmt = (ms: number): string => ms.toFixed(2).padStart(8);
try {
  console.log('records | check log (cold, warm) | check tables (cold, warm) | open/get/close store | same with raw Level (no check) | ms');
  for (const count of sizes) {
    const path = join(root, `s${count}`);
    const records = generateRecords(count);
    const writer = new LevelDbStore({ path, create: true, idleCloseMs: 0 });
    await writer.open();
    for (let i = 0; i < records.length; i += 1000) await writer.putMany(records.slice(i, i + 1000));
    await writer.close();
    // The log picture: a fresh copy (never seen by this process), checked twice.
    const logCopy = join(root, `s${count}-log`);
    await cp(path, logCopy, { recursive: true });
    const logCold = await timeCheck(logCopy);
    const logWarm = await timeCheck(logCopy);
    // The tables picture: one open turns the log into tables.
    const reopen = new LevelDbStore({ path, idleCloseMs: 0 });
    await reopen.open();
    await reopen.close();
    const tablesCopy = join(root, `s${count}-tables`);
    await cp(path, tablesCopy, { recursive: true });
    const tablesCold = await timeCheck(tablesCopy);
    const tablesWarm = await timeCheck(tablesCopy);
    const probe = records[Math.floor(records.length / 2)];
    if (!probe) throw new Error('no records');
    const store = await cycles(path, async () => {
      const s = new LevelDbStore({ path, idleCloseMs: 0 });
      await s.open();
      if (!(await s.get(probe.chainId, probe.contractName))) throw new Error('record missing');
      return () => s.close();
    });
    const raw = await cycles(path, async () => {
      const db = new Level<string, string>(path, { createIfMissing: false, valueEncoding: 'utf8' });
      await db.open();
      await db.get(`${probe.chainId}-${probe.contractName}`);
      return () => db.close();
    });
    console.log(`${String(count).padStart(7)} | ${fmt(logCold)} ${fmt(logWarm)} | ${fmt(tablesCold)} ${fmt(tablesWarm)} | ${fmt(store)} | ${fmt(raw)}`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
