// The bulk copy's backups: taken once per copy, before its first write, and kept across a resume:
// the LevelDB folder (a consistent snapshot, with its digest) and each network file before its write.
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { snapshotLevelDb } from '@deploystate/backend-leveldb';
import { removeOnInterrupt, type StoreDigest } from '@deploystate/core';
import { isoNow, snapshotWait, type MigrationContext } from './context.js';
import { digestBackupFolder, readBackupDigest, recordBackupDigest } from './leveldb-backups.js';
import type { CopyReport } from './types.js';

/** Where the LevelDB backup is made before it is renamed into place (hidden: restore lists no such folder). */
const PARTIAL_LEVELDB = '.leveldb-partial';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export class CopyBackups {
  private readonly leveldbBackup: string;
  private leveldbBackedUp = false;
  // The LevelDB backup is copied from the snapshot the pass reads (nothing writes to it), so a
  // backup taken while the pass runs holds exactly what the pass reads: its digest comes from the pass.
  private passRunning = false;
  private backupDuringPass = false;
  private leveldbBackingUp: Promise<void> | undefined;

  private constructor(
    private readonly ctx: MigrationContext,
    private readonly backupRoot: string,
    private readonly report: CopyReport,
    private readonly leveldbSource: string,
  ) {
    this.leveldbBackup = join(backupRoot, 'leveldb');
  }

  /** The copy's backup folder (`copy-<start time>`), with a LevelDB backup an earlier run of this copy took. */
  static async open(
    ctx: MigrationContext,
    startedAt: string,
    report: CopyReport,
    dryRun: boolean,
    leveldbSource = ctx.files.leveldb,
  ): Promise<CopyBackups> {
    const backups = new CopyBackups(ctx, join(ctx.files.backups, `copy-${startedAt.replace(/[:.]/g, '-')}`), report, leveldbSource);
    // A backup is put in place whole (backUpLevelDb); one without CURRENT and without a recorded
    // digest was left half-made by an earlier version, and is taken again.
    if ((await exists(backups.leveldbBackup)) && !(await exists(join(backups.leveldbBackup, 'CURRENT'))) && (await readBackupDigest(backups.leveldbBackup)) === undefined)
      await rm(backups.leveldbBackup, { recursive: true, force: true });
    backups.leveldbBackedUp = await exists(backups.leveldbBackup);
    if (backups.leveldbBackedUp) report.backups.leveldb = backups.leveldbBackup;
    // A restore checks the backup against the digest recorded here. A run that stopped before
    // recording it gets it from the backup folder itself (LevelDB may have changed since).
    if (backups.leveldbBackedUp && !dryRun && (await readBackupDigest(backups.leveldbBackup)) === undefined) {
      await recordBackupDigest(backups.leveldbBackup, await digestBackupFolder(backups.leveldbBackup, ctx.registry), isoNow(ctx));
    }
    return backups;
  }

  /** Backs up LevelDB (first time only) and `file` as it is before the copy writes it; returns the file's backup path. */
  async backUp(file: string): Promise<string> {
    // One LevelDB backup, whoever asks first: a chain's end and the next chain's first record may ask at once.
    if (!this.leveldbBackedUp) await (this.leveldbBackingUp ??= this.backUpLevelDb());
    const dest = join(this.backupRoot, 'deployments', basename(file));
    if ((await exists(file)) && !(await exists(dest))) {
      await cp(file, dest);
      this.report.backups.files.push(dest);
    }
    return dest;
  }

  private async backUpLevelDb(): Promise<void> {
    await mkdir(join(this.backupRoot, 'deployments'), { recursive: true });
    // Made beside its place and renamed into it once whole: a copy stopped part-way (Ctrl-C, a
    // kill, a full disk) leaves no backup that a resume would take for one and then fail on.
    const partial = join(this.backupRoot, PARTIAL_LEVELDB);
    await rm(partial, { recursive: true, force: true });
    const dropCleanup = removeOnInterrupt(partial);
    try {
      await snapshotLevelDb(this.leveldbSource, partial, snapshotWait(this.ctx));
      await rename(partial, this.leveldbBackup);
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    } finally {
      dropCleanup();
    }
    if (this.passRunning) this.backupDuringPass = true;
    else await recordBackupDigest(this.leveldbBackup, await digestBackupFolder(this.leveldbBackup, this.ctx.registry), isoNow(this.ctx));
    this.report.backups.leveldb = this.leveldbBackup;
    this.leveldbBackedUp = true;
  }

  passStarted(): void {
    this.passRunning = true;
  }

  /** A LevelDB backup taken during the pass holds what the pass read: `passDigest` (exclusions included). */
  async passEnded(passDigest: StoreDigest, undecodable: string[]): Promise<void> {
    this.passRunning = false;
    if (this.backupDuringPass)
      await recordBackupDigest(this.leveldbBackup, { digest: passDigest.digest(), count: passDigest.size, undecodable }, isoNow(this.ctx));
  }
}
