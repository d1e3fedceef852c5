// `deploystate export <file>`: every chain of one side in one file (or on stdout, `-`), JSON or
// NDJSON, printed with core's lossless codec so big numbers keep every digit. Read-only on the store.
import { closeSync, linkSync, openSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  errnoCode,
  ErrorCodes,
  StateError,
  StoreDigest,
  stringifyLossless,
  type DeploymentRecord,
  type InvalidEntry,
  type StateStore,
} from '@deploystate/core';
import { kindOf } from '@deploystate/backend-json';
import { fsyncDir, writeFileDurable } from '@deploystate/backend-json/atomic';
import type { Context } from '../context.js';
import { commandLockWait, openSideForReading } from '../read-only.js';
import { readerGone, STD_STREAM_ARG } from '../std-streams.js';

export const EXPORT_FORMAT = 'deploystate-export';
export const EXPORT_VERSION = 1;
export type Side = 'leveldb' | 'json';

export function sideOption(value: unknown, flag: string): Side {
  const side = String(value ?? 'leveldb');
  if (side !== 'leveldb' && side !== 'json') throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${flag} ${side}: expected leveldb or json`);
  return side;
}

export function formatOf(file: string, option: unknown): 'json' | 'ndjson' {
  const format = option === undefined ? (/\.(ndjson|jsonl)$/i.test(file) ? 'ndjson' : 'json') : String(option);
  if (format !== 'json' && format !== 'ndjson')
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--format ${format}: expected json or ndjson`);
  return format;
}

/** One side's store, opened for the command; LevelDB read-only unless `write`. */
export async function openSide(ctx: Context, side: Side, write: boolean): Promise<StateStore> {
  const { sideStore } = await import('@deploystate/migrator');
  const lockWait = side === 'leveldb' ? await commandLockWait(ctx) : undefined;
  return sideStore(ctx.paths, side, { registry: ctx.registry(), write, ...(lockWait !== undefined && { lockWait }) });
}

/**
 * The path with its folders' links resolved: folders that do not exist yet (the export makes them)
 * are taken as given below the nearest one that does, resolved, so a link above them still counts.
 */
async function realFolderOf(path: string): Promise<string> {
  const missing = [basename(path)];
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const real = await realpath(folder).catch(() => undefined);
    if (real !== undefined) return join(real, ...missing);
    if (dirname(folder) === folder) return path;
    missing.unshift(basename(folder));
  }
}

// What link() says on a file system without hard links (FAT and exFAT drives, SMB shares, some FUSE mounts).
const NO_HARD_LINKS = new Set(['EPERM', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP', 'EXDEV', 'EMLINK']);

function appeared(file: string): StateError {
  return new StateError(ErrorCodes.INVALID_ARGUMENT, `export ${file}: a file appeared there while the export read the store; nothing was written`, {
    file,
    hint: 'pass --force to replace it, or name another file',
  });
}

/**
 * Places the finished temp file at `file` without replacing one that appeared there while the
 * store was read (checkTarget saw none): a hard link fails if a file exists, where a rename would
 * replace it. Returns false: the write keeps the link and removes the temp file. Where the file
 * system has no hard links, the name is taken with an exclusive create instead and the rename
 * replaces only that empty file (a crash in between leaves it empty, never a part of an export).
 */
async function linkWithoutReplacing(tmp: string, file: string): Promise<false | undefined> {
  try {
    linkSync(tmp, file);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw appeared(file);
    if (!NO_HARD_LINKS.has(errnoCode(error) ?? '')) throw error;
    try {
      closeSync(openSync(file, 'wx'));
    } catch (reserve) {
      if (errnoCode(reserve) === 'EEXIST') throw appeared(file);
      throw reserve;
    }
    return undefined;
  }
  await fsyncDir(dirname(file));
  return false;
}

const within = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
};

/**
 * Where an export may go: never into the LevelDB folder, the deployments folder or the migration's
 * state folder (each is the store or its state, which a file written past their locks and journal
 * would corrupt), never over anything but a regular file, and over one only with --force.
 */
async function checkTarget(ctx: Context, file: string, force: boolean): Promise<void> {
  const { resolvePaths } = await import('@deploystate/migrator');
  const paths = resolvePaths(ctx.migrationOptions());
  const target = await realFolderOf(file);
  for (const [what, folder] of [
    ['the LevelDB folder', paths.leveldb],
    ['the deployments folder', paths.deployments],
    ["the migration's state folder", paths.stateDir],
  ] as const) {
    const real = await realpath(folder).catch(() => folder);
    if (within(target, real) || within(file, folder))
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `export ${file}: it is inside ${what} (${folder}); an export never writes into the store`, {
        file,
        hint: 'export to a file outside the project\'s LevelDB, deployments and state folders',
      });
  }
  const existing = await lstat(file).catch(() => undefined);
  // Only a regular file is ever replaced: --force over a link would replace the link (one to
  // /dev/stdout included) with a file, never write through it.
  const kind = existing === undefined ? undefined : kindOf(existing);
  if (kind !== undefined)
    throw new StateError(ErrorCodes.NOT_A_FILE, `export ${file}: it is ${kind}; an export writes or replaces only a regular file`, {
      file,
      hint: kind === 'a symbolic link' ? 'name the file the link points to, or another file' : 'name a file to export to',
    });
  if (existing !== undefined && !force)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `export ${file}: the file exists; nothing was written`, {
      file,
      hint: 'pass --force to replace it, or name another file',
    });
}

/** `export -`: the export is stdout's one output, so `--json` cannot put its document there too. */
function checkStdoutTarget(ctx: Context): void {
  if (ctx.json)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'export -: stdout carries the export, so --json cannot put its document there too', {
      hint: 'drop --json (the summary goes to stderr), or name a file to export to',
    });
}

/** Writes the export to stdout; WRITE_FAILED when its reader went away before all of it was taken. */
async function writeToStdout(text: string): Promise<void> {
  await new Promise<void>((done) => process.stdout.write(text, () => done()));
  if (readerGone(process.stdout))
    throw new StateError(ErrorCodes.WRITE_FAILED, 'export -: the reader of stdout went away before the export was written whole; what it took is incomplete', {
      hint: 'read the whole output (a pipe to `head` stops early), or name a file to export to',
    });
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const toStdout = args[0] === STD_STREAM_ARG;
  const file = toStdout ? '-' : resolve(ctx.cwd, String(args[0]));
  const side = sideOption(options.from, '--from');
  const format = formatOf(toStdout ? '' : file, options.format);
  const force = options.force === true;
  if (toStdout) checkStdoutTarget(ctx);
  else await checkTarget(ctx, file, force);
  // A snapshot copy of LevelDB and a JSON store that never writes: a committed store stays byte-identical.
  const { store, location, dispose } = await openSideForReading(ctx, side);
  const records: Array<{ key: string; record: DeploymentRecord }> = [];
  const invalid: InvalidEntry[] = [];
  const digest = new StoreDigest();
  try {
    for await (const entry of store.iterate({ onInvalid: (e) => invalid.push(e) })) {
      records.push(entry);
      digest.add(entry.key, entry.record);
    }
  } finally {
    await dispose();
  }
  if (invalid.length > 0) {
    // An export that silently dropped a value would not be lossless.
    throw new StateError(
      ErrorCodes.CORRUPTED,
      `${invalid.length} stored values are not records (first: ${invalid[0]?.key}); nothing was exported`,
      {
        ...(invalid[0] !== undefined && { key: invalid[0].key }),
        file: invalid[0]?.finding.file ?? location,
        hint: 'run `deploystate check` to see them',
      },
    );
  }
  const header = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    source: { side, path: location },
    exportedAt: new Date().toISOString(),
    count: digest.size,
    digest: digest.digest(),
  };
  const text =
    format === 'json'
      ? `${stringifyLossless({ ...header, records: records.map((r) => r.record) }, 2)}\n`
      : `${[stringifyLossless(header), ...records.map((r) => stringifyLossless(r.record))].join('\n')}\n`;
  if (toStdout) {
    await writeToStdout(text);
    ctx.out.info(`✔ exported ${header.count} records from ${side} to stdout (${format}), digest ${header.digest}`);
    return;
  }
  await writeFileDurable(file, text, force ? {} : { beforeRename: (tmp: string) => linkWithoutReplacing(tmp, file) });
  ctx.out.result({ ...header, file, fileFormat: format }, () => [
    ctx.out.paint.green(`✔ exported ${header.count} records from ${side} to ${file} (${format})`),
    `digest ${header.digest}`,
  ]);
}
