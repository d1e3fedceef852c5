// Loads the packages under measurement at run time. The bench must build and run (the codec suite
// at least) while a backend is still being written, so nothing but core is imported statically:
// each suite asks for what it needs here and is reported as skipped when it is not there.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generateRecords, productionSample, type DeploymentRecord, type StateStore } from '@deploystate/core';

export type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

type Module = Record<string, unknown>;
type Constructor = new (options: Record<string, unknown>) => unknown;

async function importPackage(specifier: string): Promise<Loaded<Module>> {
  try {
    const mod: unknown = await import(specifier);
    return { ok: true, value: mod as Module };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const detail =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
        ? 'not built'
        : error instanceof Error
          ? error.message.split('\n')[0]
          : String(error);
    return { ok: false, reason: `${specifier} not available (${detail})` };
  }
}

/** An export of a loaded package, checked to be a function (class or plain function). */
function exported<T>(mod: Module, specifier: string, name: string): Loaded<T> {
  const value = mod[name];
  if (typeof value !== 'function') return { ok: false, reason: `${specifier} not available (no export ${name})` };
  return { ok: true, value: value as T };
}

function isStore(value: unknown): value is StateStore {
  const s = value as Partial<StateStore> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.open === 'function' &&
    typeof s.get === 'function' &&
    typeof s.putMany === 'function' &&
    typeof s.iterate === 'function'
  );
}

function asStore(value: unknown, what: string): StateStore {
  if (!isStore(value)) throw new Error(`${what} did not return a StateStore`);
  return value;
}

export type BackendName = 'leveldb' | 'json';
export const BACKENDS: readonly BackendName[] = ['leveldb', 'json'];

export interface BackendFactory {
  name: BackendName;
  /** A store in `dir` (a fresh temp folder); `durable` = LevelDB `sync: true` / JSON `durable: true`. */
  create(dir: string, durable: boolean): StateStore;
}

const LEVELDB = '@deploystate/backend-leveldb';
const JSON_BACKEND = '@deploystate/backend-json';

export async function loadBackend(name: BackendName): Promise<Loaded<BackendFactory>> {
  const specifier = name === 'leveldb' ? LEVELDB : JSON_BACKEND;
  const mod = await importPackage(specifier);
  if (!mod.ok) return mod;
  if (name === 'leveldb') {
    const ctor = exported<Constructor>(mod.value, specifier, 'LevelDbStore');
    if (!ctor.ok) return ctor;
    // idleCloseMs 0: the bench is the only user, so the store stays open between operations.
    const create = (dir: string, durable: boolean): StateStore =>
      asStore(new ctor.value({ path: join(dir, 'leveldb'), create: true, sync: durable, idleCloseMs: 0 }), 'LevelDbStore');
    return { ok: true, value: { name, create } };
  }
  const ctor = exported<Constructor>(mod.value, specifier, 'JsonFileStore');
  if (!ctor.ok) return ctor;
  const create = (dir: string, durable: boolean): StateStore =>
    asStore(new ctor.value({ dir: join(dir, 'deployments'), create: true, cache: true, durable }), 'JsonFileStore');
  return { ok: true, value: { name, create } };
}

interface RawIterator {
  nextv(size: number): Promise<Array<[string, string]>>;
  close(): Promise<void>;
}

/** A `level` database with utf8 values, as the legacy state module opens one. */
export interface RawLevel {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string, options?: { sync?: boolean }): Promise<void>;
  batch(operations: Array<{ type: 'put'; key: string; value: string }>): Promise<void>;
  iterator(options: { keyEncoding: string; valueEncoding: string; highWaterMarkBytes: number }): RawIterator;
}
export type LevelCtor = new (path: string, options: { valueEncoding: string; createIfMissing: boolean }) => RawLevel;

/** `level` as the LevelDB backend resolves it (the bench does not depend on it directly). */
export function loadLevel(): LevelCtor {
  const require = createRequire(import.meta.resolve('@deploystate/backend-leveldb'));
  const mod = require('level') as { Level?: LevelCtor };
  if (typeof mod.Level !== 'function') throw new Error('level not available through @deploystate/backend-leveldb');
  return mod.Level;
}

/** Writes records the way the legacy deploy scripts did (`level`, valueEncoding json). */
export type LegacyWriter = (path: string, entries: Array<{ key: string; value: unknown }> | DeploymentRecord[]) => Promise<unknown>;

export interface MigratorApi {
  /** Opens a migration over a LevelDB folder and a deployments folder. */
  open(options: Record<string, unknown>): Promise<MigrationHandle>;
  /** The store deploy scripts get for the current phase. */
  createStateStore(options: Record<string, unknown>): Promise<StateStore>;
  /** A network file as a project's deploy scripts wrote it before the migration (the demo's). */
  legacyNetworkFile(chainId: number, network: string, records: readonly DeploymentRecord[]): Record<string, unknown>;
}

export interface MigrationHandle {
  analyze(): Promise<{ findings: Array<{ key?: string; chainId?: number; code: string; severity: string }> }>;
  enableDualWrite(): Promise<unknown>;
  migrate(): Promise<unknown>;
  verify(): Promise<unknown>;
  promote(): Promise<unknown>;
  cutover(options: { acknowledge: string[] }): Promise<unknown>;
  rollback?(options: { emergency?: boolean }): Promise<unknown>;
  close?(): Promise<unknown>;
}

function isHandle(value: unknown): value is MigrationHandle {
  const h = value as Partial<MigrationHandle> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.analyze === 'function' &&
    typeof h.enableDualWrite === 'function' &&
    typeof h.migrate === 'function' &&
    typeof h.verify === 'function' &&
    typeof h.promote === 'function' &&
    typeof h.cutover === 'function'
  );
}

export async function loadMigrator(): Promise<Loaded<MigratorApi>> {
  const specifier = '@deploystate/migrator';
  const mod = await importPackage(specifier);
  if (!mod.ok) return mod;
  const migration = mod.value.Migration as { open?: unknown } | undefined;
  if (typeof migration?.open !== 'function') return { ok: false, reason: `${specifier} not available (no export Migration.open)` };
  const openMigration = migration.open.bind(migration) as (options: Record<string, unknown>) => Promise<unknown>;
  const factory = exported<(options: Record<string, unknown>) => unknown>(mod.value, specifier, 'createStateStore');
  if (!factory.ok) return factory;
  const legacy = exported<MigratorApi['legacyNetworkFile']>(mod.value, specifier, 'legacyNetworkFile');
  if (!legacy.ok) return legacy;
  return {
    ok: true,
    value: {
      legacyNetworkFile: legacy.value,
      async open(options) {
        const handle = await openMigration(options);
        if (!isHandle(handle)) throw new Error('Migration.open did not return a migration');
        return handle;
      },
      async createStateStore(options) {
        return asStore(await factory.value(options), 'createStateStore');
      },
    },
  };
}

export async function loadValidator(): Promise<Loaded<(dir: string) => Promise<unknown>>> {
  const specifier = '@deploystate/validator';
  const mod = await importPackage(specifier);
  if (!mod.ok) return mod;
  return exported(mod.value, specifier, 'validateDeployments');
}

/** A project's own records (read from a copy of its store): what `dataset` returns at their count. */
let projectRecords: DeploymentRecord[] | undefined;
export function useProjectRecords(records: DeploymentRecord[] | undefined): void {
  projectRecords = records;
}

/**
 * The records a size stands for (a project's own records at their count, with `--from-leveldb`): at 28, the production-shaped sample (26 contracts with aliases, a
 * qualified name and big integers, plus 2 dev-chain junk records, as production holds); otherwise core's deterministic generator over five networks.
 */
export function dataset(size: number): DeploymentRecord[] {
  if (projectRecords !== undefined && size === projectRecords.length) return projectRecords;
  if (size === 28) {
    const sample = productionSample();
    return [...sample.records, ...sample.devJunk];
  }
  return generateRecords(size);
}
