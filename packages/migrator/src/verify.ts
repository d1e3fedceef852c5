// Phase 4, read-only: the comparison of LevelDB and JSON (minus exclusions and unmigratable
// keys) and the schema validation of every state file; verify records its result as evidence.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateStateFile } from '@deploystate/backend-json';
import { compareStores, finding, parseLossless, type Finding, type StoreComparison } from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import { readState } from './state.js';
import type { VerifyEvidence, VerifyReport } from './types.js';

export interface CompareOptions {
  /** Stop listing differences past this many (counts and digests stay exact). Default 1000. */
  maxDetails?: number;
}

export async function compareSides(ctx: MigrationContext, options: CompareOptions = {}): Promise<StoreComparison> {
  const state = await readState(ctx.files);
  const leveldb = await ctx.leveldb();
  const json = await ctx.json();
  return compareStores(leveldb.iterate({ onInvalid: () => undefined }), json.iterate({ onInvalid: () => undefined }), {
    exclude: [...state.exclusions, ...state.unmigratable],
    maxDetails: options.maxDetails ?? 1000,
  });
}

/** Schema validation of every state file; other files are listed as skipped with the reason. */
export async function validateFiles(ctx: MigrationContext): Promise<VerifyReport['schema']> {
  const out: VerifyReport['schema'] = { files: 0, errors: [], skipped: [] };
  let entries;
  try {
    entries = await readdir(ctx.files.deployments, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = join(ctx.files.deployments, entry.name);
    if (!entry.isFile()) {
      out.skipped.push({ file, reason: entry.name.startsWith('.') ? 'hidden folder' : 'not a file' });
      continue;
    }
    if (entry.name.startsWith('.')) {
      out.skipped.push({ file, reason: 'hidden file (temporary or tool data)' });
      continue;
    }
    if (!entry.name.endsWith('.json')) {
      out.skipped.push({ file, reason: 'not a .json file' });
      continue;
    }
    if (ctx.registry.chainIdOfFile(entry.name) === undefined) {
      out.skipped.push({ file, reason: 'not a state file name (no registered network is called this)' });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = parseLossless(await readFile(file, 'utf8'), { source: file });
    } catch (error) {
      out.files++;
      out.errors.push(finding('NOT_JSON', error instanceof Error ? error.message : String(error), { file }));
      continue;
    }
    const doc = parsed as Record<string, unknown> | null;
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && !('schemaVersion' in doc) && !('records' in doc)) {
      out.skipped.push({ file, reason: 'legacy file without records (not yet adopted by the JSON backend)' });
      continue;
    }
    out.files++;
    out.errors.push(...validateStateFile(parsed, file));
  }
  return out;
}

export async function verifySides(ctx: MigrationContext): Promise<VerifyReport> {
  const journalSeq = await ctx.journal.lastSeq();
  const comparison = await compareSides(ctx);
  const schema = await validateFiles(ctx);
  const schemaErrors = schema.errors.filter((f) => f.severity === 'error').length;
  const differences = comparison.onlyLeft.length + comparison.onlyRight.length + comparison.differing.length;
  const evidence: VerifyEvidence = {
    at: isoNow(ctx),
    clean: comparison.equal && schemaErrors === 0,
    leveldb: comparison.left,
    json: comparison.right,
    differences: comparison.equal ? 0 : Math.max(differences, 1),
    schemaErrors,
    journalSeq,
  };
  return { clean: evidence.clean, comparison, schema, evidence };
}

/** A finding's identity for "was this already in LevelDB": code and key (or file for file-level ones). */
export const findingId = (f: Finding): string => `${f.code}|${f.key ?? f.file ?? ''}`;
