// createStateStore() opens the files deploystate.config.json names, as the CLI and the drop-in state
// module do: a chain's file under the name the config's "networks" gives it, and the config's
// paths. Options passed explicitly win; a config that cannot be read is an error naming it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkRegistry, sampleRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateModule, createStateStore, Migration, PROJECT_CONFIG_FILE, projectRegistry, readProjectConfig } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-factory-config-');

/** What `rename-network 56 bsc` leaves: the file under its new name, the name (old one as alias) in the config. */
function renameChain56(dir: string): void {
  renameSync(join(dir, 'deployments', 'bscmainnet.json'), join(dir, 'deployments', 'bsc.json'));
  const networks = [{ chainId: 56, name: 'bsc', aliases: ['bscmainnet'], tier: 'mainnet' }];
  writeFileSync(join(dir, PROJECT_CONFIG_FILE), JSON.stringify({ networks }, null, 2));
}

describe('createStateStore() and the project config', () => {
  it("reads and writes a chain's file under the name the config gives it, and verify stays clean", async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-primary')).close();
    renameChain56(dir);

    const store = createStateStore({ cwd: dir, env: {} });
    try {
      expect((await store.getContract(56, 'LookCoin'))?.contractName).toBe('LookCoin');
      expect(store.route.reads).toBe('json');
      await store.putContract(56, sampleRecord(56, 'ScriptWrite', 'bsc'));
    } finally {
      await store.close();
    }
    expect(existsSync(join(dir, 'deployments', 'bscmainnet.json'))).toBe(false);
    expect(readFileSync(join(dir, 'deployments', 'bsc.json'), 'utf8')).toContain('"ScriptWrite"');

    // The drop-in module sees the same record through the same file.
    const module = createStateModule({ cwd: dir, env: {} });
    try {
      expect((await module.getContract(56, 'ScriptWrite'))?.address).toBe(sampleRecord(56, 'ScriptWrite', 'bsc').address);
    } finally {
      await module.close();
    }

    const migration = await Migration.open({ cwd: dir, registry: projectRegistry(readProjectConfig(dir)) });
    try {
      const report = await migration.verify();
      expect(report.files?.findings ?? []).toEqual([]);
      expect(report.clean).toBe(true);
    } finally {
      await migration.close();
    }

    // Opting out, or passing a registry, uses the built-in name again: the renamed file is not read.
    for (const options of [{ projectConfig: false }, { registry: new NetworkRegistry() }]) {
      const plain = createStateStore({ cwd: dir, env: {}, ...options });
      try {
        expect(await plain.getContract(56, 'LookCoin')).toBeNull();
      } finally {
        await plain.close();
      }
    }
  }, 60_000);

  it("opens the config's paths, resolved against its folder; paths passed win", async () => {
    const dir = tempDir();
    const leveldb = new LevelDbStore({ path: join(dir, 'db', 'state'), create: true, idleCloseMs: 0 });
    await leveldb.open();
    await leveldb.put(sampleRecord(137, 'Token', 'polygon'));
    await leveldb.close();
    mkdirSync(join(dir, 'project'));
    writeFileSync(join(dir, 'project', PROJECT_CONFIG_FILE), JSON.stringify({ leveldb: '../db/state', stateDir: '../migration' }));

    const store = createStateStore({ cwd: join(dir, 'project'), env: {} });
    try {
      expect(store.location).toBe(join(dir, 'migration'));
      expect((await store.getContract(137, 'Token'))?.networkName).toBe('polygon');
    } finally {
      await store.close();
    }
    expect(existsSync(join(dir, 'project', 'leveldb'))).toBe(false);
    expect(createStateStore({ cwd: join(dir, 'project'), stateDir: 'here' }).location).toBe(join(dir, 'project', 'here'));
  });

  it('fails naming a config it cannot read or that is malformed, unless told not to read it', () => {
    const dir = tempDir();
    const file = join(dir, PROJECT_CONFIG_FILE);
    mkdirSync(file);
    expect(() => createStateStore({ cwd: dir })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', file }));
    expect(createStateStore({ cwd: dir, projectConfig: false }).location).toBe(join(dir, '.deploystate'));

    const other = join(dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, PROJECT_CONFIG_FILE), JSON.stringify({ networks: { bsc: 56 } }));
    expect(() => createStateStore({ cwd: other })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', file: join(other, PROJECT_CONFIG_FILE) }));
    // A misspelt key inside a network entry too: the alias would be left unregistered without a word.
    writeFileSync(join(other, PROJECT_CONFIG_FILE), JSON.stringify({ networks: [{ chainId: 56, name: 'bsc', alias: ['binance'], tier: 'mainnet' }] }));
    expect(() => createStateStore({ cwd: other })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('networks[0].alias') }));
    // With every path and the registry given, the file may still set the lock wait: it is read.
    const given = { leveldb: 'l', deployments: 'd', stateDir: 's', registry: new NetworkRegistry() };
    expect(() => createStateStore({ cwd: other, ...given })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    // With the wait and the LevelDB sync given too, the file could change nothing: it is not read.
    expect(createStateStore({ cwd: other, ...given, lockWaitMs: 1000, leveldbSync: false }).location).toBe(join(other, 's'));
  });

  // A power cut could lose a deploy's last LevelDB puts (not synced, as the legacy module wrote):
  // a team may have them synced, from the config for every script, or per script.
  it('syncs LevelDB puts when the config says leveldbSync, the option winning over it', async () => {
    const dir = tempDir();
    await (await demoMigration(dir)).close();
    const synced = (store: ReturnType<typeof createStateStore>): boolean => (store as unknown as { sides: { leveldb: LevelDbStore } }).sides.leveldb.sync;
    expect(synced(createStateStore({ cwd: dir }))).toBe(false);
    writeFileSync(join(dir, PROJECT_CONFIG_FILE), JSON.stringify({ leveldbSync: true }));
    const store = createStateStore({ cwd: dir });
    expect(synced(store)).toBe(true);
    const record = sampleRecord(56, 'SyncedVault', 'bscmainnet');
    await store.put(record);
    expect(await store.get(56, 'SyncedVault')).toEqual(record);
    await store.close();
    expect(synced(createStateStore({ cwd: dir, leveldbSync: false }))).toBe(false);
    writeFileSync(join(dir, PROJECT_CONFIG_FILE), JSON.stringify({ leveldbSync: 'yes' }));
    expect(() => createStateStore({ cwd: dir })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('leveldbSync') }));
  });
});
