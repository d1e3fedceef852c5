// A migration folder walked through the runbook's phases the way a user walks it: LevelDB seeded,
// dual-write enabled, a real copy, verify, promote, cut-over. The suites that measure what deploy
// scripts get read and write through `createStateStore()` in each phase of this walk, so the JSON
// files they touch are the ones the copy wrote, at production file sizes.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defaultRegistry, sleep, type DeploymentRecord, type StateStore } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '../harness.js';
import type { BackendFactory, MigrationHandle, MigratorApi } from '../loaders.js';

export const PHASES = ['leveldb-only', 'dual-write', 'json-primary', 'json-only'] as const;
export type Phase = (typeof PHASES)[number];

/** Chains the registry marks as development chains; their junk is acknowledged at cut-over, as the demo does. */
const DEV_CHAINS = new Set([31337, 1337]);

/**
 * A fresh folder holding a LevelDB seeded with the records and closed, so a store opened on it
 * reads from table files as a long-lived store does. The folder goes into `dirs` for removal.
 */
export async function seededLevelDb(
  leveldb: BackendFactory,
  records: readonly DeploymentRecord[],
  prefix: string,
  dirs: string[],
): Promise<string> {
  const dir = await makeTempDir(prefix);
  dirs.push(dir);
  const seed = leveldb.create(dir, false);
  await seed.open();
  await seed.putMany(records);
  await seed.close();
  return dir;
}

/** One migration step of the walk, with its wall-clock span (ms since epoch). */
export interface WalkStep {
  name: string;
  started: number;
  ended: number;
}

export interface MigrationWalk {
  cwd: string;
  phase: Phase;
  /** The steps run so far, in order. */
  steps: WalkStep[];
  /** Moves the migration forward to `phase` (never back). */
  advance(phase: Phase): Promise<void>;
  /** Rolls the migration back to leveldb-only (`emergency`: skipping the gates). */
  rollBack(emergency: boolean): Promise<void>;
  /** A factory store for the current phase, opened; closed by `dispose`. */
  factoryStore(): Promise<StateStore>;
  /** A new factory store, not opened and not kept: a deploy script's own, which it opens and closes. */
  scriptStore(): Promise<StateStore>;
  /**
   * Waits until the migration's state files are past their timestamp tick. Within it (25 ms after
   * a phase change; 2 s where timestamps keep whole seconds) a store cannot trust their stat and
   * re-reads their bytes on every operation (the racy rule, backend-json's stat-tick), a cost a
   * deploy script pays for those few milliseconds after each phase change, not in its steady state.
   */
  settle(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A project's `deployments/` before its migration is not empty: each network's file as the
 * project's scripts wrote it (addresses by contract name, the deployer, a config section), as the
 * demo's are. The copy adds its records beside those sections and every later put mirrors them, as
 * in a real project; a walk into an empty folder measured a json-only put about 10% cheaper than a
 * project's (the demo's) files cost.
 */
async function writeLegacyFiles(cwd: string, migrator: MigratorApi, records: readonly DeploymentRecord[]): Promise<void> {
  const registry = defaultRegistry();
  const chains = new Set(records.map((r) => r.chainId).filter((chainId) => !DEV_CHAINS.has(chainId)));
  await mkdir(join(cwd, 'deployments'), { recursive: true });
  for (const chainId of chains) {
    // Named as the copy names each chain's file.
    const name = registry.fileName(chainId);
    const legacy = migrator.legacyNetworkFile(chainId, basename(name, '.json'), records);
    await writeFile(join(cwd, 'deployments', name), `${JSON.stringify(legacy, null, 2)}\n`);
  }
}

export async function startWalk(
  leveldb: BackendFactory,
  migrator: MigratorApi,
  records: readonly DeploymentRecord[],
): Promise<MigrationWalk> {
  const cwd = await makeTempDir('walk');
  const stores: StateStore[] = [];
  let migration: MigrationHandle | undefined;
  try {
    const seed = leveldb.create(cwd, false);
    await seed.open();
    await seed.putMany(records);
    await seed.close();
    await writeLegacyFiles(cwd, migrator, records);
    migration = await migrator.open({ cwd });
  } catch (error) {
    await removeTempDir(cwd);
    throw error;
  }
  const handle = migration;
  let acknowledge: string[] = [];
  const steps: WalkStep[] = [];
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await run();
    } finally {
      steps.push({ name, started, ended: Date.now() });
    }
  };
  const walk: MigrationWalk = {
    cwd,
    phase: 'leveldb-only',
    steps,
    async advance(phase) {
      const from = PHASES.indexOf(walk.phase);
      const to = PHASES.indexOf(phase);
      for (let step = from + 1; step <= to; step++) {
        const next = PHASES[step] as Phase;
        if (next === 'dual-write') {
          // What an operator acknowledges at cut-over: dev-chain junk by key, other warnings by code.
          const analysis = await handle.analyze();
          const isDev = (f: { chainId?: number }): boolean => f.chainId !== undefined && DEV_CHAINS.has(f.chainId);
          acknowledge = [
            ...new Set([
              ...analysis.findings.filter((f) => isDev(f) && f.key).map((f) => f.key as string),
              ...analysis.findings.filter((f) => !isDev(f) && f.severity !== 'info').map((f) => f.code),
            ]),
          ];
          await timed('dual-write enable', () => handle.enableDualWrite());
          await timed('migrate', () => handle.migrate());
        } else if (next === 'json-primary') {
          await timed('verify', () => handle.verify());
          await timed('promote', () => handle.promote());
        } else if (next === 'json-only') {
          await timed('verify', () => handle.verify());
          await timed('cutover', () => handle.cutover({ acknowledge }));
        }
        walk.phase = next;
      }
    },
    async rollBack(emergency) {
      if (!handle.rollback) throw new Error('this migrator has no rollback');
      await timed(emergency ? 'rollback --emergency' : 'rollback', () =>
        (handle.rollback as NonNullable<MigrationHandle['rollback']>)({ emergency }),
      );
      walk.phase = 'leveldb-only';
    },
    async factoryStore() {
      const store = await walk.scriptStore();
      stores.push(store);
      await store.open();
      return store;
    },
    scriptStore: () => migrator.createStateStore({ cwd, env: {} }),
    async settle() {
      const { racyUntilMs } = (await import('@deploystate/backend-json')) as { racyUntilMs(mtimeMs: number): number };
      for (const name of ['state.json', 'phase.json']) {
        const changed = (await stat(join(cwd, '.deploystate', name)).catch(() => undefined))?.mtimeMs;
        const wait = changed === undefined ? 0 : racyUntilMs(changed) + 1 - Date.now();
        if (wait > 0) await sleep(wait);
      }
    },
    async dispose() {
      for (const store of stores) await store.close().catch(() => undefined);
      await handle.close?.().catch(() => undefined);
      await removeTempDir(cwd);
    },
  };
  return walk;
}
