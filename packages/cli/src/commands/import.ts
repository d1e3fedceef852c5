// `deploystate import <file>`: loads an export into one side. Direct writes to a store bypass the
// migration journal, so import runs only while nothing journals (leveldb-only); it refuses to
// overwrite a differing record unless --force, and keeps what it overwrites in a backup file.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  assertDeploymentRecord,
  canonicalDigest,
  ErrorCodes,
  keyOf,
  parseLossless,
  StateError,
  stringifyLossless,
  type DeploymentRecord,
} from '@deploystate/core';
import type { Context } from '../context.js';
import { stateDirOf } from '../migration.js';
import { EXPORT_FORMAT, openSide, sideOption } from './export.js';

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
  if (lines.length > 1 && isHeader(first) && !Array.isArray((first as { records?: unknown }).records)) {
    raw = lines
      .slice(1)
      .filter((line) => line.trim() !== '')
      .map((line, i) => parseLossless(line, { source: `${file} line ${i + 2}` }));
  } else {
    const doc = parseLossless(text, { source: file });
    if (!isHeader(doc) || !Array.isArray((doc as { records?: unknown }).records)) {
      throw new StateError(ErrorCodes.CORRUPTED, `${file} is not a deploystate export (no "format": "${EXPORT_FORMAT}" with records)`, {
        file,
      });
    }
    raw = (doc as { records: unknown[] }).records;
  }
  return raw.map((value, i) => {
    try {
      return assertDeploymentRecord(value);
    } catch (error) {
      throw new StateError(ErrorCodes.INVALID_RECORD, `${file}: record ${i + 1} is not a deployment record: ${(error as Error).message}`, {
        file,
        cause: error,
      });
    }
  });
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
