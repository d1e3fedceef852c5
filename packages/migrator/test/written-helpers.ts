// Test helpers for the co-owned files baseline: what written.json holds, and what a parse of every
// network file gives, in the same shape, so a test can say the two agree.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest, NetworkRegistry } from '@deploystate/core';
import type { WrittenEntry } from '../src/coowned-baseline.js';

export const writtenPath = (dir: string): string => join(dir, '.deploystate', 'written.json');

/** The entries of written.json, by key. */
export async function writtenEntries(dir: string): Promise<Record<string, WrittenEntry>> {
  return (JSON.parse(await readFile(writtenPath(dir), 'utf8')) as { written: Record<string, WrittenEntry> }).written;
}

/** What a parse of every network file gives: per key, the record's digest and timestamp. */
export async function parsedFiles(dir: string): Promise<Record<string, WrittenEntry>> {
  const registry = new NetworkRegistry();
  const out: Record<string, WrittenEntry> = {};
  const deployments = join(dir, 'deployments');
  for (const name of (await readdir(deployments)).sort()) {
    const chainId = registry.chainIdOfFile(name);
    if (chainId === undefined || !name.endsWith('.json')) continue;
    const file = join(deployments, name);
    for (const [contract, record] of parseStateFile(await readFile(file, 'utf8'), file, chainId).records) {
      out[`${chainId}-${contract}`] = { seq: 0, op: 'put', digest: canonicalDigest(record), timestamp: String(record.timestamp) };
    }
  }
  return out;
}
