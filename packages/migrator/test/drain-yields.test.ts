// A drain holds the fence shared while it writes JSON files, and shared takes never queue behind an
// exclusive waiter: a timed drain that finds a gate waiting for the fence stops and lets it go
// first, then drains the rest after it. A gate's own drain, and close(), never stop early.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import { acquireLock, hasWaiters } from '@deploystate/backend-json/lock';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal.js';
import { drainOutbox, OutboxDrainer, readOutboxFailure, type DrainTarget } from '../src/outbox-drainer.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-drain-yields-');

/** A migration in dual-write with `count` puts committed to LevelDB and its outbox, none drained yet (put i on chains[i % chains.length]). */
async function withOutbox(dir: string, count: number, chains: ReadonlyArray<[number, string]> = [[97, 'bsctestnet']]) {
  const migration = await demoMigration(dir, 'copied');
  const paths = resolvePaths({ cwd: dir });
  const files = stateFiles(paths);
  const leveldb = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
  const json = new JsonFileStore({ dir: paths.deployments });
  await leveldb.open();
  await json.open();
  for (let i = 0; i < count; i++) {
    const [chainId, network] = chains[i % chains.length] as [number, string];
    const record = sampleRecord(chainId, `Waiting${i}`, network, i + 1);
    await leveldb.writeWithOutbox({ op: 'put', record }, { key: `${chainId}-Waiting${i}`, op: 'put', pid: process.pid, phase: 'dual-write' });
  }
  const target: DrainTarget = { files, journal: new Journal(files.journal), leveldb: async () => leveldb, json: async () => json };
  return {
    files,
    paths,
    json,
    target,
    depth: async () => (await leveldb.readOutbox()).length,
    async close() {
      await target.journal.close();
      await json.close();
      await leveldb.close();
      await migration.close?.();
    },
  };
}

/** A gate waiting for the fence (exclusively) while a writer holds it shared; `let go` ends the writer's hold. */
async function gateWaiting(fence: string) {
  const writer = await acquireLock(fence, { mode: 'shared', timeoutMs: 0 });
  const gate = acquireLock(fence, { mode: 'exclusive', timeoutMs: 30_000, purpose: 'test gate' });
  return {
    gate,
    async letGo() {
      await writer.release();
      return gate;
    },
  };
}

describe('a drain with a gate waiting for the fence', () => {
  it('a timed drain stops and leaves its entries; a gate drain and close() drain everything', async () => {
    const side = await withOutbox(tempDir(), 3);
    try {
      const waiting = await gateWaiting(side.files.fence);
      expect(hasWaiters(side.files.fence)).toBe(true);
      const yielded = await drainOutbox(side.target, { yieldToGates: true });
      expect(yielded).toMatchObject({ applied: 0, yielded: true, left: true });
      expect(await side.depth()).toBe(3);
      // Not asked to yield (a gate's drain, close()): it drains whoever waits.
      const full = await drainOutbox(side.target);
      expect(full).toMatchObject({ applied: 3, left: false });
      expect(full.yielded).toBeUndefined();
      expect(await side.depth()).toBe(0);
      await (await waiting.letGo()).release();
    } finally {
      await side.close();
    }
  });

  it("the drainer's timed drain lets the gate go first, then drains the rest once the gate is done", async () => {
    const side = await withOutbox(tempDir(), 2);
    const drainer = new OutboxDrainer(side.target, (error) => {
      throw error;
    });
    try {
      const waiting = await gateWaiting(side.files.fence);
      drainer.schedule();
      // The timed drain runs (and stops) while the gate waits behind the writer's shared hold.
      const first = await drainer.drainNow(true);
      expect(first).toMatchObject({ applied: 0, yielded: true });
      const gate = await waiting.letGo();
      expect(await side.depth()).toBe(2);
      await gate.release();
      // Rescheduled after it stopped: drained without another put, once the gate let go.
      for (let i = 0; i < 500 && (await side.depth()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await side.depth()).toBe(0);
    } finally {
      await drainer.close();
      await side.close();
    }
  });
});

describe('a drain over several network files', () => {
  it('a file that cannot be written keeps its entry and its failure; the other files of the drain land', async () => {
    const chains: Array<[number, string]> = [
      [56, 'bscmainnet'],
      [97, 'bsctestnet'],
      [84532, 'basesepolia'],
      [23295, 'sapphiretestnet'],
      [31337, 'hardhat'],
    ];
    const side = await withOutbox(tempDir(), chains.length, chains);
    try {
      // basesepolia.json is a folder now: its write fails (NOT_A_FILE); the other four neither wait for it nor fail with it.
      const blocked = join(side.paths.deployments, 'basesepolia.json');
      await rm(blocked, { force: true });
      await mkdir(blocked);
      const result = await drainOutbox(side.target);
      expect(result).toMatchObject({ applied: 4, failed: 1, left: true });
      expect(await side.depth()).toBe(1);
      expect(await readOutboxFailure(side.files)).toMatchObject({ key: '84532-Waiting2' });
      for (const [i, [chainId]] of chains.entries()) {
        if (chainId !== 84532) expect((await side.json.get(chainId, `Waiting${i}`))?.contractName).toBe(`Waiting${i}`);
      }
    } finally {
      await side.close();
    }
  });
});
