import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore, type JsonFileStoreOptions } from '../src/index.js';

export function rec(chainId: number, contractName: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { ...sampleRecord(chainId, contractName, chainId === 56 ? 'bscmainnet' : `chain-${chainId}`), ...overrides };
}

/** A fresh folder and an open store over it; `done` closes every store and removes the folder. */
export async function withStore(options: Partial<JsonFileStoreOptions> = {}): Promise<{ dir: string; store: JsonFileStore; open(extra?: Partial<JsonFileStoreOptions>): Promise<JsonFileStore>; done(): Promise<void> }> {
  const dir = await makeTempDir('deploystate-json-');
  const stores: JsonFileStore[] = [];
  const open = async (extra: Partial<JsonFileStoreOptions> = {}): Promise<JsonFileStore> => {
    const store = new JsonFileStore({ dir, ...options, ...extra });
    stores.push(store);
    await store.open();
    return store;
  };
  const store = await open();
  return {
    dir,
    store,
    open,
    async done() {
      for (const s of stores) await s.close();
      await removeTempDir(dir);
    },
  };
}
