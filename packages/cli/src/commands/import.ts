// `deploystate import <file>`: loads an export into one side. Direct writes to a store bypass the
// migration journal, so import runs only while nothing journals (leveldb-only); it refuses to
// overwrite a differing record unless --force, and keeps what it overwrites in a backup file.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  assertDeploymentRecord,
  canonicalDigest,
  duplicateKeyError,
  ErrorCodes,
  keyOf,
  parseLossless,
  parseLosslessDocument,
  StateError,
  stringifyLossless,
  type DeploymentRecord,
} from '@deploystate/core';
import type { Context } from '../context.js';
import { stateDirOf } from '../migration.js';
import { EXPORT_FORMAT, openSide, sideOption } from './export.js';

/**
 * The records of an export (its JSON document or NDJSON lines). A key named twice in one object, or
 * two different records under one record key, is DUPLICATE_KEY: an import would keep one value and
 * drop the other without a word. A record listed twice as the same value is taken once.
 */
export function parseExport(text: string, file: string): DeploymentRecord[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new StateError(ErrorCodes.CORRUPTED, `${file} is empty`, { file });
  const lines = trimmed.split('\n');
  // NDJSON starts with a one-line header; a pretty-printed JSON export's first line is only `{`.
  let first: unknown;
  try {
    first = parseLossless(lines[0] as string, { source: file });
  } catch {
    first = undefined;
  }
  const isHeader = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && (value as { format?: unknown }).format === EXPORT_FORMAT;
  let raw: unknown[];
  // Where each record was read, for the errors: its line (NDJSON) or its place in `records`.
  let placeOf: (i: number) => string;
  if (lines.length > 1 && isHeader(first) && !Array.isArray((first as { records?: unknown }).records)) {
    const numbers: number[] = [];
    raw = [];
    // Each line's offset in the file, so a key named twice is placed at its line and column there.
    let offset = text.length - text.trimStart().length;
    lines.forEach((line, i) => {
      const at = { line: i + 1, offset };
      offset += line.length + 1;
      if (i === 0 || line.trim() === '') return;
      numbers.push(i + 1);
      raw.push(parseExportText(line, file, `${file} line ${i + 1}`, at));
    });
    placeOf = (i) => `line ${numbers[i]}`;
  } else {
    const doc = parseExportText(text, file, file);
    if (!isHeader(doc) || !Array.isArray((doc as { records?: unknown }).records)) {
      throw new StateError(ErrorCodes.CORRUPTED, `${file} is not a deploystate export (no "format": "${EXPORT_FORMAT}" with records)`, {
        file,
      });
    }
    raw = (doc as { records: unknown[] }).records;
    placeOf = (i) => `record ${i + 1}`;
  }
  const records: DeploymentRecord[] = [];
  const seen = new Map<string, { record: DeploymentRecord; at: number }>();
  raw.forEach((value, i) => {
    let record: DeploymentRecord;
    try {
      record = assertDeploymentRecord(value);
    } catch (error) {
      throw new StateError(ErrorCodes.INVALID_RECORD, `${file}: ${placeOf(i)} is not a deployment record: ${(error as Error).message}`, {
        file,
        cause: error,
      });
    }
    const key = keyOf(record);
    const before = seen.get(key);
    if (before === undefined) {
      seen.set(key, { record, at: i });
      records.push(record);
    } else if (canonicalDigest(before.record) !== canonicalDigest(record)) {
      throw new StateError(
        ErrorCodes.DUPLICATE_KEY,
        `${file}: ${placeOf(before.at)} and ${placeOf(i)} are two different records for ${key}; an import would keep only one, so nothing was imported`,
        { file, key, hint: 'keep the record that is right for the key (compare them with the store first), then import again' },
      );
    }
  });
  return records;
}

/**
 * One JSON text of an export (`at`: the line it is in the file, for an NDJSON line); a key named
 * twice in one object is DUPLICATE_KEY (a plain parse keeps the last value).
 */
function parseExportText(text: string, file: string, source: string, at?: { line: number; offset: number }): unknown {
  const { value, duplicate } = parseLosslessDocument(text, { source });
  if (duplicate !== undefined) {
    const { position } = duplicate;
    const inFile = at === undefined ? position : { line: at.line, column: position.column, offset: at.offset + position.offset };
    throw duplicateKeyError(file, { ...duplicate, position: inFile }, {
      source: file,
      outcome: 'an import would keep only the last value, so nothing was imported',
      hint: 'remove one of the two entries from the export, then import again',
    });
  }
  return value;
}

/** The phase as every command reads it: the shared phase file (committed) over this clone's state. */
async function currentPhase(ctx: Context): Promise<string> {
  const { readState, stateFiles, resolvePaths } = await import('@deploystate/migrator');
  return (await readState(stateFiles(resolvePaths(ctx.migrationOptions())))).phase;
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const file = resolve(ctx.cwd, String(args[0]));
  const side = sideOption(options.to, '--to');
  if (!existsSync(file)) throw new StateError(ErrorCodes.STORE_NOT_FOUND, `import file ${file} does not exist`, { file });
  const records = parseExport(await readFile(file, 'utf8'), file);
  const phase = await currentPhase(ctx);
  if (phase !== 'leveldb-only') {
    throw new StateError(
      ErrorCodes.TRANSITION_REFUSED,
      `import writes straight into the ${side} store, which would bypass the journal in phase ${phase}`,
      {
        hint: 'import before `dual-write enable`, or after `rollback`; during the migration, deploy scripts write through the factory store',
      },
    );
  }
  const store = await openSide(ctx, side, true);
  await store.open();
  try {
    const fresh: DeploymentRecord[] = [];
    const differing: Array<{ key: string; old: DeploymentRecord; next: DeploymentRecord }> = [];
    let identical = 0;
    for (const record of records) {
      const old = await store.get(record.chainId, record.contractName);
      if (old === null) fresh.push(record);
      else if (canonicalDigest(old) === canonicalDigest(record)) identical++;
      else differing.push({ key: keyOf(record), old, next: record });
    }
    if (differing.length > 0 && options.force !== true) {
      throw new StateError(
        ErrorCodes.STORES_DIFFER,
        `${differing.length} records in ${file} differ from the ${side} store (first: ${differing[0]?.key}); nothing was imported`,
        {
          ...(differing[0] !== undefined && { key: differing[0].key }),
          file,
          hint: 'compare them first; --force overwrites them (their old values are kept in a backup file)',
        },
      );
    }
    if (fresh.length === 0 && differing.length === 0) {
      ctx.out.result(
        { file, side, added: 0, overwritten: 0, identical, backup: null },
        () => `nothing to import: all ${identical} records are already in the ${side} store`,
      );
      return;
    }
    await ctx.confirm('import', [
      `add ${fresh.length} records to the ${side} store (${store.location ?? ''})`,
      ...(differing.length > 0
        ? [
            `overwrite ${differing.length} differing records (--force): ${differing
              .slice(0, 5)
              .map((d) => d.key)
              .join(', ')}${differing.length > 5 ? ', ...' : ''}`,
          ]
        : []),
      `leave ${identical} identical records as they are`,
    ]);
    let backup: string | null = null;
    if (differing.length > 0) {
      const dir = join(stateDirOf(ctx), 'backups');
      await mkdir(dir, { recursive: true });
      backup = join(dir, `import-${side}-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`);
      await writeFile(backup, `${differing.map((d) => stringifyLossless(d.old)).join('\n')}\n`);
    }
    await store.putMany([...fresh, ...differing.map((d) => d.next)]);
    // [coowned] An import into JSON is the product's own write: the files as imported are the new baseline.
    if (side === 'json') await (await import('@deploystate/migrator')).acceptNetworkFiles(ctx.migrationOptions());
    ctx.out.result({ file, side, added: fresh.length, overwritten: differing.length, identical, backup }, () => [
      ctx.out.paint.green(`✔ imported into ${side}: ${fresh.length} added, ${differing.length} overwritten, ${identical} identical`),
      ...(backup ? [`overwritten values kept in ${backup}`] : []),
    ]);
  } finally {
    await store.close();
  }
}
