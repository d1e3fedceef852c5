// A chain that has no state file yet, copied as the pass over LevelDB reads it: each record is
// printed to the new file (and its digest to the baseline's spill) as it arrives, so the copy holds
// no chain's records, whatever the size of the chain or of the store.
import { NewChainFile } from '@deploystate/backend-json';
import { parseKey, type DeploymentRecord } from '@deploystate/core';
import type { CopyRun } from './copy-plan.js';
import { streamJournalledKeys } from './journal-queries.js';
import type { WrittenFile } from './written-records.js';

export const chainOfKey = (key: string): number | undefined => {
  try {
    return parseKey(key).chainId;
  } catch {
    return undefined;
  }
};

/**
 * Keys of the chain a deploy script wrote after the copy's snapshot began (journalled, or in the
 * outbox before the pass): the copy keeps the value JSON has for them, never LevelDB's as read.
 */
export async function newerKeys(run: CopyRun, chainId: number): Promise<Set<string>> {
  const inChain = (key: string): boolean => chainOfKey(key) === chainId;
  return new Set([
    ...[...run.pending].filter(inChain),
    ...(await streamJournalledKeys(run.ctx.journal.entries({ sinceSeq: run.snapshotSeq }), inChain)),
  ]);
}

/** How a chain copied as read ended: in place, nothing to write, or a file there by now (copied as a chain with a file). */
export type FreshChainOutcome = 'placed' | 'nothing' | 'unplaced';

export class FreshChainCopy {
  private file: NewChainFile | undefined;
  private written: WrittenFile | undefined;
  private added = 0;

  private constructor(
    private readonly run: CopyRun,
    readonly chainId: number,
    /** The journal's last seq before the chain's first record was read: writes after it are re-applied. */
    readonly seqAtRead: number,
    private readonly newer: ReadonlySet<string>,
  ) {}

  static async start(run: CopyRun, chainId: number): Promise<FreshChainCopy> {
    const seqAtRead = await run.ctx.journal.lastSeq();
    return new FreshChainCopy(run, chainId, seqAtRead, await newerKeys(run, chainId));
  }

  /** The next record of the chain as read (key order), with its digest from the pass. */
  async add(key: string, record: DeploymentRecord, digest: string): Promise<void> {
    const { run } = this;
    if (this.newer.has(key) || run.blocking.length > 0) return;
    this.added++;
    if (run.dryRun) return;
    if (!this.file) {
      const target = run.json.fileFor(this.chainId);
      await run.backups.backUp(target);
      this.written = await run.writtenRecords?.begin(target);
      this.file = await NewChainFile.create(target, this.chainId, run.ctx.registry.get(this.chainId).name);
    }
    try {
      await this.file.add(record);
      await this.written?.spill.add(record.contractName, digest, String(record.timestamp));
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Puts the file in place (the report counts it); 'unplaced' when a file for the chain is there by now. */
  async finish(): Promise<FreshChainOutcome> {
    const { run } = this;
    if (this.file) {
      const file = this.file;
      this.file = undefined;
      const written = this.written;
      const placed = await file.commit({}, () => written?.placed());
      await written?.spill.close();
      if (!placed) {
        run.writtenRecords?.drop(file.target);
        return 'unplaced';
      }
      run.report.files.push(file.target);
    }
    for (const key of this.newer) run.report.skippedNewer.push(key);
    if (this.added === 0) return 'nothing';
    run.report.copied += this.added;
    run.changedChains++;
    return 'placed';
  }

  /** Drops what was written: no file is put in place. */
  async abort(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    await file.abort();
    await this.written?.spill.close();
    this.run.writtenRecords?.drop(file.target);
  }
}
