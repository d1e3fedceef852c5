// updateDeploymentFile(): how the project's own scripts change the keys they own in a network file
// (`contracts`, `implementationHashes`, `config`, ...) without dropping what the store wrote to
// `records` meanwhile. The file is read under the store's lock, losslessly, and replaced atomically.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  assertChainId,
  canonicalEqual,
  duplicateKeyError,
  ErrorCodes,
  keepingFileStyle,
  NetworkRegistry,
  parseLossless,
  parseLosslessDocument,
  StateError,
  stringifyLossless,
} from '@deploystate/core';
import { STATE_DIR, writeFileAtomic } from './atomic.js';
import { existingChainFile, unmovedChainFile } from './file-cache.js';
import { withFileLock, type LockOptions } from './lock.js';
import { readStateFileBytes } from './state-path.js';

/** The document as the callback sees it: every top-level key, numbers beyond 2^53 as bigint. */
export type DeploymentDocument = Record<string, unknown>;

export type DeploymentFileUpdate = (
  doc: DeploymentDocument,
) => void | DeploymentDocument | Promise<void | DeploymentDocument>;

export interface UpdateDeploymentFileOptions {
  /** The deployments folder. Default `./deployments`. */
  dir?: string;
  /** Maps a chainId to its file name when `network` is a number. */
  registry?: NetworkRegistry;
  lockWait?: Pick<LockOptions, 'timeoutMs'>;
  /** fsync the file and its folder. Default true. */
  durable?: boolean;
}

export interface UpdateDeploymentFileResult {
  file: string;
  /** False when the file already held exactly these bytes (nothing was written). */
  changed: boolean;
  /**
   * True when the callback's document carried a `records` that differs from the file's (an object
   * loaded earlier, say): it was not written; `records` belongs to the store.
   */
  recordsIgnored: boolean;
}

const NETWORK_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The file `network` names: for a chainId, or the name of a chain's state file (its registry name,
 * or `chain-<id>`), the file the store writes that chain to, so the two never make two files for
 * one chain; any other name as it is.
 */
function fileFor(network: string | number, options: UpdateDeploymentFileOptions): string {
  const dir = resolve(options.dir ?? 'deployments');
  const registry = options.registry ?? new NetworkRegistry();
  let chainId: number | undefined;
  if (typeof network === 'number') chainId = assertChainId(network);
  else {
    const name = network.endsWith('.json') ? network.slice(0, -'.json'.length) : network;
    if (!NETWORK_NAME.test(name))
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `updateDeploymentFile: ${JSON.stringify(network)} is not a network name`, {
        hint: 'pass the name the file is called by (bscmainnet for deployments/bscmainnet.json) or a chainId',
      });
    chainId = registry.chainIdOfFile(`${name}.json`);
    if (chainId === undefined) return join(dir, `${name}.json`);
  }
  const canonical = join(dir, registry.fileName(chainId));
  return existingChainFile(canonical, unmovedChainFile(dir, registry, chainId)) ?? canonical;
}

/**
 * Runs `update` on the current content of `deployments/<network>.json` and writes the result back,
 * under the lock the JSON store takes for that file, so no write of the store is lost in between.
 * The callback owns every key except `records`: what it sets is written as it set it; `records` is
 * always written as the file holds it (whatever the callback did to it). Numbers are kept exactly.
 * `update` may change `doc` in place or return a new document.
 */
export async function updateDeploymentFile(
  network: string | number,
  update: DeploymentFileUpdate,
  options: UpdateDeploymentFileOptions = {},
): Promise<UpdateDeploymentFileResult> {
  if (typeof update !== 'function') throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'updateDeploymentFile needs an update function');
  const file = fileFor(network, options);
  const tmpDir = join(file, '..', STATE_DIR, 'tmp');
  return withFileLock(
    file,
    async () => {
      // As the store reads it: a link, folder or other non-file at the path is refused (NOT_A_FILE),
      // and a key named twice too (DUPLICATE_KEY), as a rewrite would drop one of its values.
      const text = (await readStateFileBytes(file))?.toString('utf8');
      const parsed = text === undefined ? { value: {} } : parseLosslessDocument(text, { source: file });
      if (parsed.duplicate) throw duplicateKeyError(file, parsed.duplicate);
      const current = parsed.value;
      if (!isPlainObject(current))
        throw new StateError(ErrorCodes.CORRUPTED, `${file}: top level must be a JSON object; not changing it`, { file });
      const hasRecords = Object.hasOwn(current, 'records');
      const records = current.records;
      // The callback gets its own copy, so nothing it does can reach the records kept aside.
      const doc = parseLossless(text ?? '{}') as DeploymentDocument;
      const returned = await update(doc);
      const next = returned === undefined ? doc : returned;
      if (!isPlainObject(next))
        throw new StateError(ErrorCodes.INVALID_ARGUMENT, `updateDeploymentFile(${JSON.stringify(network)}): the update must leave an object`, {
          file,
        });
      const recordsIgnored = Object.hasOwn(next, 'records') && (!hasRecords || !canonicalEqual(next.records, records));
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(next)) {
        if (key === 'records') continue;
        Object.defineProperty(out, key, { value: next[key], enumerable: true, writable: true, configurable: true });
      }
      // `records` keeps its place when the callback kept the key, else goes last (where the store puts it).
      if (hasRecords) {
        if (Object.hasOwn(next, 'records')) {
          const ordered: Record<string, unknown> = {};
          for (const key of Object.keys(next))
            Object.defineProperty(ordered, key, { value: key === 'records' ? records : out[key], enumerable: true, writable: true, configurable: true });
          return write(file, tmpDir, ordered, text, recordsIgnored, options);
        }
        out.records = records;
      }
      return write(file, tmpDir, out, text, recordsIgnored, options);
    },
    options.lockWait ?? {},
  );
}

async function write(
  file: string,
  tmpDir: string,
  document: Record<string, unknown>,
  before: string | undefined,
  recordsIgnored: boolean,
  options: UpdateDeploymentFileOptions,
): Promise<UpdateDeploymentFileResult> {
  // In the file's own indent and line ends, with its byte-order mark (core's file-style.ts).
  const text = keepingFileStyle(before, `${stringifyLossless(document, 2)}\n`);
  if (text === before) return { file, changed: false, recordsIgnored };
  await mkdir(tmpDir, { recursive: true }).catch(() => undefined);
  await writeFileAtomic(file, text, { durable: options.durable ?? true, tmpDir });
  return { file, changed: true, recordsIgnored };
}
