import { describe, expect, it } from 'vitest';
import { MemoryStore, type DeploymentRecord } from '../src/index.js';
import { stateStoreConformance } from '../src/testing/index.js';

stateStoreConformance({
  name: 'memory',
  async create() {
    const data = new Map<string, DeploymentRecord>();
    return { store: new MemoryStore({ data }), reopen: async () => new MemoryStore({ data }), cleanup: async () => {} };
  },
});

describe('openOnFirstUse (a base-class option)', () => {
  it('opens a never-opened store on its first call, and still refuses after close', async () => {
    const store = new MemoryStore({ openOnFirstUse: true });
    expect(await store.get(56, 'Token')).toBeNull();
    expect(store.status).toBe('open');
    await store.close();
    await expect(store.get(56, 'Token')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    const iterating = new MemoryStore({ openOnFirstUse: true });
    for await (const _entry of iterating.iterate()) expect.unreachable();
    expect(iterating.status).toBe('open');
  });

  it('is off by default: a store that was never opened refuses with STORE_CLOSED', async () => {
    await expect(new MemoryStore().get(56, 'Token')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(new MemoryStore().list(56)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
