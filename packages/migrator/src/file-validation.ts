// The schema validation of state files as verify and validate report it: a file validated on its
// own, or a document already parsed (verify parses each network file once, chain-verdict.ts).
import { readFile } from 'node:fs/promises';
import { validateStateFile } from '@deploystate/backend-json';
import { finding, parseLossless } from '@deploystate/core';
import type { VerifyReport } from './types.js';

export type SchemaReport = VerifyReport['schema'];

/**
 * Validates one parsed state file into `out` (a legacy file without records is skipped, not
 * validated). `plain`: the parse found no exact number in it (see validateStateFile).
 */
export function validateParsed(parsed: unknown, file: string, out: SchemaReport, plain = false): void {
  const doc = parsed as Record<string, unknown> | null;
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && !('schemaVersion' in doc) && !('records' in doc)) {
    out.skipped.push({ file, reason: 'legacy file without records (not yet adopted by the JSON backend)' });
    return;
  }
  out.files++;
  out.errors.push(...validateStateFile(parsed, file, { plain }));
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
