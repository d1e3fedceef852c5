// The drop-in state module: deploy-script shaped free functions over the phase-following store.
// A read meeting another process's LevelDB lock waits it out and returns the record; past its
// bound it fails PRESENCE_UNKNOWN, never null.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleRecord, type StateError } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import {
  closeStateModule,
  configureStateModule,
  createStateModule,
  getAllContracts,
  getContract,
  putContract,
  type StateModuleOptions,
  type StateModuleWait,
} from '../src/index.js';
import { resolvePaths } from '../src/paths.js';
import { fixture, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-state-module-');
const children: ChildProcess[] = [];

afterEach(async () => {
  await closeStateModule();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

async function seed(dir: string): Promise<void> {
  const store = new LevelDbStore({ path: resolvePaths({ cwd: dir }).leveldb, create: true, idleCloseMs: 0 });
  await store.open();
  await store.put(sampleRecord(56, 'Token', 'bscmainnet'));
  await store.close();
}

/** Starts a process holding the LevelDB at `dir` and resolves once it holds the lock. */
async function holdLevelDb(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture('hold-leveldb.mjs'), resolvePaths({ cwd: dir }).leveldb], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('holding')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holder exited (${code}) before holding the lock: ${out}`)));
  });
  return child;
}

/**
 * Real stores on the test's folders, with LevelDB's own lock wait cut short (a few ms instead of
 * about 15 s) so the module's wait is what the test exercises.
 */
function quickLockOptions(dir: string, extra: StateModuleOptions): StateModuleOptions {
  const paths = resolvePaths({ cwd: dir });
  return {
    cwd: dir,
    env: {},
    stores: {
      leveldb: new LevelDbStore({ path: paths.leveldb, idleCloseMs: 50, lockWait: { attempts: 2, minDelayMs: 5, maxDelayMs: 10 } }),
      json: new JsonFileStore({ dir: paths.deployments, create: true, cache: false }),
    },
    ...extra,
  };
}

describe('state module (drop-in free functions)', () => {
  it('getContract of an existing record, while another process holds LevelDB, waits and returns the record', async () => {
    const dir = tempDir();
    await seed(dir);
    const holder = await holdLevelDb(dir);
    const waits: StateModuleWait[] = [];
    configureStateModule(
      quickLockOptions(dir, {
        waitMs: 50_000,
        onWait: (wait) => {
          // The first wait proves the read met the lock; then the step finishes and lets go.
          if (waits.push(wait) === 1) holder.stdin!.write('release\n');
        },
      }),
    );
    const record = await getContract(56, 'Token');
    expect(record?.contractName).toBe('Token');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]!.error.code).toBe('LOCKED');
    expect(waits[0]!.operation).toBe('getContract');
  });

  it('fails PRESENCE_UNKNOWN, never null, when the holder keeps LevelDB past the bound (get and list)', async () => {
    const dir = tempDir();
    await seed(dir);
    await holdLevelDb(dir);
    const waits: StateModuleWait[] = [];
    const module = createStateModule(quickLockOptions(dir, { waitMs: 150, onWait: (wait) => waits.push(wait) }));
    try {
      const get = await module.getContract(56, 'Token').then(
        (value) => ({ value }),
        (error: StateError) => ({ error }),
      );
      expect(get).not.toHaveProperty('value');
      expect((get as { error: StateError }).error.code).toBe('PRESENCE_UNKNOWN');
      expect((get as { error: StateError }).error.key).toBe('56-Token');
      expect(((get as { error: StateError }).error.cause as StateError).code).toBe('LOCKED');
      await expect(module.getContract(56, 'Missing')).rejects.toMatchObject({ code: 'PRESENCE_UNKNOWN' });
      await expect(module.getAllContracts(56)).rejects.toMatchObject({ code: 'PRESENCE_UNKNOWN' });
      expect(waits.length).toBeGreaterThan(0);
    } finally {
      await module.close();
    }
  });

  it('round-trips through the free functions with the project defaults; null only for a record that is certainly absent', async () => {
    const dir = tempDir();
    await seed(dir);
    configureStateModule({ cwd: dir, env: {} });
    expect(await getContract(56, 'Absent')).toBeNull();
    await putContract(56, sampleRecord(56, 'Proxy', 'bscmainnet', 1));
    expect((await getContract(56, 'Proxy'))?.contractName).toBe('Proxy');
    expect((await getAllContracts(56)).map((r) => r.contractName).sort()).toEqual(['Proxy', 'Token']);
    await expect(putContract(97, sampleRecord(56, 'Wrong', 'bscmainnet'))).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(() => configureStateModule({ cwd: dir })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await closeStateModule();
    configureStateModule({ cwd: dir, env: {} });
    expect((await getContract(56, 'Proxy'))?.contractName).toBe('Proxy');
  });

  it("uses the paths and networks of the project's deploystate.config.json, as the CLI does", async () => {
    const dir = tempDir();
    const leveldb = join(dir, 'db', 'state');
    const seedStore = new LevelDbStore({ path: leveldb, create: true, idleCloseMs: 0 });
    await seedStore.open();
    await seedStore.put(sampleRecord(137, 'Token', 'polygon'));
    await seedStore.close();
    writeFileSync(
      join(dir, 'deploystate.config.json'),
      JSON.stringify({
        leveldb: 'db/state',
        deployments: 'state/deployments',
        networks: [{ chainId: 137, name: 'polygon', tier: 'mainnet' }],
      }),
    );
    configureStateModule({ cwd: dir, env: {} });
    expect((await getContract(137, 'Token'))?.networkName).toBe('polygon');
    expect(existsSync(join(dir, 'leveldb'))).toBe(false);
    await closeStateModule();

    writeFileSync(join(dir, 'deploystate.config.json'), JSON.stringify({ networks: { polygon: 137 } }));
    configureStateModule({ cwd: dir, env: {} });
    await expect(getContract(137, 'Token')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
