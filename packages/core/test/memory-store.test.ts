import { MemoryStore, type DeploymentRecord } from '../src/index.js';
import { stateStoreConformance } from '../src/testing/index.js';

stateStoreConformance({
  name: 'memory',
  async create() {
    const data = new Map<string, DeploymentRecord>();
    return { store: new MemoryStore({ data }), reopen: async () => new MemoryStore({ data }), cleanup: async () => {} };
  },
});
