// Where the migration keeps its data: the defaults (`./leveldb`, `./deployments`,
// `./.deploystate`) resolved against cwd, and the files inside the state folder.
import { resolve, join } from 'node:path';
import type { MigrationOptions, MigrationPaths } from './types.js';

export interface StateFiles extends MigrationPaths {
  state: string;
  journal: string;
  journalLock: string;
  stateLock: string;
  migrationLock: string;
  /** Held shared by every journalled write and exclusively by a gate (see fence.ts). */
  fence: string;
  backups: string;
  progress: string;
  reports: string;
  analysis: string;
}

export function resolvePaths(options: MigrationOptions = {}): MigrationPaths {
  const cwd = resolve(options.cwd ?? process.cwd());
  return {
    leveldb: resolve(cwd, options.leveldb ?? 'leveldb'),
    deployments: resolve(cwd, options.deployments ?? 'deployments'),
    stateDir: resolve(cwd, options.stateDir ?? '.deploystate'),
  };
}

export function stateFiles(paths: MigrationPaths): StateFiles {
  const dir = paths.stateDir;
  return {
    ...paths,
    state: join(dir, 'state.json'),
    journal: join(dir, 'journal.ndjson'),
    journalLock: join(dir, 'journal.lock'),
    stateLock: join(dir, 'state.lock'),
    migrationLock: join(dir, 'migration.lock'),
    fence: join(dir, 'fence.lock'),
    backups: join(dir, 'backups'),
    progress: join(dir, 'progress.json'),
    reports: join(dir, 'reports'),
    analysis: join(dir, 'analysis.json'),
  };
}
