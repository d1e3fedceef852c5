// What verify needs from one network file, computed where the file is parsed (a worker thread when
// one is available): each record's compact text, canonical digest and timestamp, the entries that
// are not records, and the file's schema validation. Plain data, so it crosses threads as it is.
import { readFile } from 'node:fs/promises';
import { parseStateFile, validateStateFile } from '@deploystate/backend-json';
import { canonicalDigest, compareKeys, finding, parseLossless, stringifyLossless, type Finding } from '@deploystate/core';
import { fileSignature } from './file-digests.js';
import type { VerifyReport } from './types.js';

export type SchemaReport = VerifyReport['schema'];

/** One chain's network file as verify reads it. */
export interface ChainFileFacts {
  /** The file read: the one the store reads for the chain. */
  file: string;
  /** Its stat signature before the read. */
  before: string | undefined;
  /** False when it cannot be read or is not a state file of the chain (both sides then read it as the store does). */
  parsed: boolean;
  /** Record and invalid entry names, in key order. */
  names: string[];
  /** Per name: the record printed compactly (stringifyLossless), or null for an entry that is not a record. */
  texts: Array<string | null>;
  /** Per name: the record's canonicalDigest ('' for an invalid entry). */
  digests: string[];
  /** Per name: the record's timestamp in decimal ('' for an invalid entry). */
  timestamps: string[];
  /** Per invalid entry name: why it is not a record. */
  invalid: Array<[string, Finding]>;
  /** The schema validation of the parsed document (empty when not parsed). */
  schema: SchemaReport;
}

/** Validates one parsed state file into `out` (a legacy file without records is skipped, not validated). */
export function validateParsed(parsed: unknown, file: string, out: SchemaReport): void {
  const doc = parsed as Record<string, unknown> | null;
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && !('schemaVersion' in doc) && !('records' in doc)) {
    out.skipped.push({ file, reason: 'legacy file without records (not yet adopted by the JSON backend)' });
    return;
  }
  out.files++;
  out.errors.push(...validateStateFile(parsed, file));
}

/** Reads, parses and validates one file on its own (NOT_JSON when it does not parse). */
export async function validateFile(file: string, out: SchemaReport): Promise<void> {
  let parsed: unknown;
  try {
    parsed = parseLossless(await readFile(file, 'utf8'), { source: file });
  } catch (error) {
    out.files++;
    out.errors.push(finding('NOT_JSON', error instanceof Error ? error.message : String(error), { file }));
    return;
  }
  validateParsed(parsed, file, out);
}

/** Reads the chain's file once, parses it once, and returns what both sides of verify need from it. */
export async function chainFileFacts(file: string, chainId: number): Promise<ChainFileFacts> {
  const before = fileSignature(file);
  const facts: ChainFileFacts = {
    file,
    before,
    parsed: false,
    names: [],
    texts: [],
    digests: [],
    timestamps: [],
    invalid: [],
    schema: { files: 0, errors: [], skipped: [] },
  };
  let model;
  try {
    model = parseStateFile(await readFile(file, 'utf8'), file, chainId);
  } catch {
    return facts;
  }
  facts.parsed = true;
  validateParsed(model.document, file, facts.schema);
  facts.names = [...model.records.keys(), ...model.invalid.keys()].sort(compareKeys);
  for (const name of facts.names) {
    const record = model.records.get(name);
    if (record) {
      facts.texts.push(stringifyLossless(record));
      facts.digests.push(canonicalDigest(record));
      facts.timestamps.push(String(record.timestamp));
    } else {
      facts.texts.push(null);
      facts.digests.push('');
      facts.timestamps.push('');
      facts.invalid.push([name, (model.invalid.get(name) as { finding: Finding }).finding]);
    }
  }
  return facts;
}
