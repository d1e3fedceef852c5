// The schema validation of state files as verify and validate report it: a file validated on its
// own, or a document already parsed (verify parses each network file once, chain-verdict.ts).
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readStateFileBytes, validateStateFile } from '@deploystate/backend-json/state-file';
import { duplicateKeyFinding, ErrorCodes, finding, isStateError, parseLosslessDocument, readBesideGit, type ParsedDocument } from '@deploystate/core';
import type { VerifyReport } from './types.js';

export type SchemaReport = VerifyReport['schema'];

/** A parsed state file as validation takes it: the parse's document, with what the parse said of it (a StateFileModel is one). */
export type ParsedStateFile = Pick<ParsedDocument, 'plain' | 'duplicate'> & { document: unknown };

/** Validates one parsed state file into `out` (a legacy file without records is skipped, not validated). */
export function validateParsed(parsed: ParsedStateFile, file: string, out: SchemaReport): void {
  // A legacy file too: the JSON store would refuse to adopt (rewrite) it.
  if (parsed.duplicate) out.errors.push(duplicateKeyFinding(parsed.duplicate, file));
  const doc = parsed.document as Record<string, unknown> | null;
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && !('schemaVersion' in doc) && !('records' in doc)) {
    out.skipped.push({ file, reason: 'legacy file without records (not yet adopted by the JSON backend)' });
    return;
  }
  out.files++;
  out.errors.push(...validateStateFile(parsed.document, file, { plain: parsed.plain === true }));
}

/** Reads, parses and validates one file on its own (NOT_JSON when it does not parse, NOT_A_FILE for a link, folder or FIFO). */
export async function validateFile(file: string, out: SchemaReport): Promise<void> {
  let parsed: ParsedDocument | undefined;
  try {
    // Opened as the store opens it: a FIFO in the file's place would block a plain read for good
    // (verify hung, and did not end on SIGTERM while its thread waited in open()). Found empty,
    // missing or not parsing while git rewrites the folder: read again once git is done, as the
    // store reads it (verify beside a pull reported a file git had not yet written as EMPTY_FILE).
    const read = async (): Promise<ParsedDocument | undefined> => {
      const bytes = await readStateFileBytes(file);
      return bytes === undefined ? undefined : parseLosslessDocument(bytes.toString('utf8'), { source: file });
    };
    parsed = await readBesideGit(dirname(file), read, {
      missing: (result) => result === undefined,
      unfinished: (error) => isStateError(error, ErrorCodes.CORRUPTED),
      exists: () => existsSync(file),
    });
    // Removed since the folder was listed: nothing to validate.
    if (parsed === undefined) return;
  } catch (error) {
    out.files++;
    const message = error instanceof Error ? error.message : String(error);
    out.errors.push(finding(isStateError(error, ErrorCodes.NOT_A_FILE) ? 'NOT_A_FILE' : 'NOT_JSON', message, { file }));
    return;
  }
  validateParsed({ ...parsed, document: parsed.value }, file, out);
}
