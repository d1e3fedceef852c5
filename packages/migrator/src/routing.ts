// Which store serves reads and which receive writes, in order, for a persisted state: the
// "reads/writes" column of the root README's state table, in one function the factory and status share.
import type { MigrationStateFile } from './types.js';

export type Side = 'leveldb' | 'json';

export interface Route {
  reads: Side;
  /** Primary first. Empty while writes are refused. */
  writes: Side[];
  /** Whether writes are journalled (from dual-write enable on, and whenever JSON is written). */
  journal: boolean;
  refuseWrites: boolean;
}

/** The side that serves reads in a state: routeFor(state).reads, without building the route (no env needed). */
export function readSide(state: Pick<MigrationStateFile, 'phase' | 'rollback'>): Side {
  switch (state.phase) {
    case 'leveldb-only':
    case 'dual-write':
      return 'leveldb';
    case 'json-primary':
    case 'json-only':
      return 'json';
    case 'rolling-back':
      // Until the carry-back is done, only the side that was primary holds every write.
      return (state.rollback?.from === 'json-primary' || state.rollback?.from === 'json-only') && state.rollback?.carriedBack !== true
        ? 'json'
        : 'leveldb';
  }
}

export function routeFor(state: Pick<MigrationStateFile, 'phase' | 'rollback'>, env: NodeJS.ProcessEnv = {}): Route {
  const reads = readSide(state);
  switch (state.phase) {
    case 'leveldb-only': {
      // DUAL_WRITE_MODE may add JSON as a secondary; it can never take LevelDB away.
      const dual = env.DUAL_WRITE_MODE === 'true';
      return { reads, writes: dual ? ['leveldb', 'json'] : ['leveldb'], journal: dual, refuseWrites: false };
    }
    case 'dual-write':
      return { reads, writes: ['leveldb', 'json'], journal: true, refuseWrites: false };
    case 'json-primary':
      return { reads, writes: ['json', 'leveldb'], journal: true, refuseWrites: false };
    case 'json-only':
      return { reads, writes: ['json'], journal: true, refuseWrites: false };
    case 'rolling-back':
      return { reads, writes: [], journal: true, refuseWrites: true };
  }
}
