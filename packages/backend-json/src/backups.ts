// Backups of replaced state files, in `<dir>/.deploystate/backups/<file>/`, newest first by name,
// and the restore that brings back the newest one that still parses.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCodes, NetworkRegistry, StateError, isStateError, errnoCode } from '@deploystate/core';
import { STATE_DIR, writeFileAtomic } from './atomic.js';
import { parseStateFile } from './file-format.js';
import { withFileLock, type LockOptions } from './lock.js';

let sequence = 0;

export function backupDirFor(dir: string, fileName: string): string {
  return join(dir, STATE_DIR, 'backups', fileName);
}

/** A name that sorts by time: ISO stamp, then pid and a per-process sequence for ties. */
export function backupName(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  sequence = (sequence + 1) % 1_000_000;
  return `${stamp}-${process.pid}-${String(sequence).padStart(6, '0')}.json`;
}

async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).filter((n) => n.endsWith('.json'));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** Backups of the given state file names (a chain's file under its name and as chain-<id>.json), newest first. */
export async function listBackupFiles(dir: string, fileNames: readonly string[]): Promise<string[]> {
  const all: Array<{ name: string; path: string }> = [];
  for (const fileName of new Set(fileNames)) {
    const folder = backupDirFor(dir, fileName);
    for (const name of await namesIn(folder)) all.push({ name, path: join(folder, name) });
  }
  return all.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0)).map((b) => b.path);
}

/** Keeps the newest `keep` backups of one file. */
export async function pruneBackups(dir: string, fileName: string, keep: number): Promise<void> {
  const folder = backupDirFor(dir, fileName);
  const names = (await namesIn(folder)).sort().reverse();
  for (const name of names.slice(keep)) await unlink(join(folder, name)).catch(() => undefined);
}

/**
 * One state file's backups as this process knows them, oldest first, so a write needs no folder
 * listing: the list is read again only when the folder's mtime is not the one this process's own
 * last change left (another process added or removed a backup). The bound is kept by handing the
 * oldest backup beyond it to the next write to reuse as its temp file (see writeFileAtomic's
 * `recycle`), and by removing any further excess in the background.
 */
export class BackupShelf {
  private names: string[] | undefined;
  private seenMtimeNs: bigint | undefined;
  readonly folder: string;

  constructor(
    dir: string,
    fileName: string,
    private readonly keep: number,
  ) {
    this.folder = backupDirFor(dir, fileName);
  }

  private current(): string[] {
    let mtimeNs: bigint;
    try {
      mtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    } catch {
      mkdirSync(this.folder, { recursive: true });
      mtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    }
    if (!this.names || mtimeNs !== this.seenMtimeNs) {
      this.names = readdirSync(this.folder)
        .filter((n) => n.endsWith('.json'))
        .sort();
      this.seenMtimeNs = mtimeNs;
    }
    return this.names;
  }

  /**
   * Prepares one more backup: its path, and the oldest backup that adding it pushes past the bound
   * (the write may take that file as its temp file; it leaves this list either way).
   */
  next(): { path: string; recyclable?: string } {
    const names = this.current();
    const name = backupName();
    const oldest = names.length + 1 > this.keep ? names.shift() : undefined;
    return { path: join(this.folder, name), ...(oldest !== undefined && { recyclable: join(this.folder, oldest) }) };
  }

  /** Records the backup just linked, and removes any excess beyond the bound off the write path. */
  added(path: string): void {
    const names = this.names ?? this.current();
    if (!names.includes(basename(path))) names.push(basename(path));
    names.sort();
    const excess = names.splice(0, Math.max(0, names.length - this.keep));
    try {
      this.seenMtimeNs = statSync(this.folder, { bigint: true }).mtimeNs;
    } catch {
      this.names = undefined;
    }
    for (const name of excess) void unlink(join(this.folder, name)).catch(() => undefined);
  }

  /** Forget what is known (after a failed write, or a restore by another path). */
  reset(): void {
    this.names = undefined;
  }
}

export async function ensureBackupDir(dir: string, fileName: string): Promise<string> {
  const folder = backupDirFor(dir, fileName);
  await mkdir(folder, { recursive: true });
  return folder;
}

export interface RestoreOptions {
  registry?: NetworkRegistry;
  /** A specific backup file; default the newest that parses. */
  backup?: string;
  durable?: boolean;
  lockWait?: Pick<LockOptions, 'timeoutMs'>;
}

/**
 * Replaces a chain's state file with a backup: the given one, or the newest that parses as a state
 * file of this chain. The file it replaces is itself backed up first. Throws BACKUP_NOT_FOUND when
 * there is none.
 */
export async function restoreStateFile(dir: string, chainId: number, options: RestoreOptions = {}): Promise<{ restored: string }> {
  const registry = options.registry ?? new NetworkRegistry();
  const fileName = registry.fileName(chainId);
  const target = join(dir, fileName);
  const names = [fileName, ...(registry.isKnown(chainId) ? [`chain-${chainId}.json`] : [])];
  return withFileLock(
    target,
    async (lock) => {
      const candidates = options.backup !== undefined ? [options.backup] : await listBackupFiles(dir, names);
      for (const candidate of candidates) {
        let text: string;
        try {
          text = await readFile(candidate, 'utf8');
          parseStateFile(text, candidate, chainId);
        } catch (error) {
          if (isStateError(error) || errnoCode(error) === 'ENOENT') continue;
          throw error;
        }
        const folder = await ensureBackupDir(dir, fileName);
        await writeFileAtomic(target, text, {
          durable: options.durable ?? true,
          beforeRename: async () => {
            lock.assertHeld();
            // Keep what is being replaced, parseable or not, so the restore can itself be undone.
            const current = await readFile(target).catch(() => undefined);
            if (current !== undefined)
              await writeFileAtomic(join(folder, backupName()), current, { durable: false, tmpDir: join(dir, STATE_DIR, 'tmp') });
          },
        });
        // A chain restored to its registry name no longer lives in chain-<id>.json: keep that file as a backup, then retire it.
        if (registry.isKnown(chainId)) {
          const stray = join(dir, `chain-${chainId}.json`);
          const strayText = await readFile(stray).catch(() => undefined);
          if (strayText !== undefined) {
            const strayFolder = await ensureBackupDir(dir, basename(stray));
            await writeFileAtomic(join(strayFolder, backupName()), strayText, { durable: false, tmpDir: join(dir, STATE_DIR, 'tmp') });
            await unlink(stray);
          }
        }
        return { restored: candidate };
      }
      throw new StateError(ErrorCodes.BACKUP_NOT_FOUND, `no backup of ${basename(target)} parses as a state file of chain ${chainId}`, {
        file: target,
      });
    },
    options.lockWait,
  );
}
