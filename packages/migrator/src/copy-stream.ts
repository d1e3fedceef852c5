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

/**
 * How a chain copied as read ended: in place, or to be copied again as a chain with a file (a file
 * appeared, a deploy script wrote one of its keys after the snapshot, or it had nothing to print).
 */
export type FreshChainOutcome = { placed: true; seqAtRead: number } | { placed: false };

/**
 * A chain with no state file, printed record by record as LevelDB's pass reads it. Its end looks
 * at the journal as a chain with a file does before its write; the rare chain a deploy script wrote
 * to meanwhile is dropped here and copied again with those keys kept (see copy.ts).
 */
export class FreshChainCopy {
  private file: NewChainFile | undefined;
  private written: WrittenFile | undefined;
  private added = 0;

  constructor(
    private readonly run: CopyRun,
    readonly chainId: number,
  ) {}

  /** The next records of the chain as read (key order), each with its digest from the pass (digests[i] is records[i]'s). */
  async add(records: readonly DeploymentRecord[], digests: readonly string[]): Promise<void> {
    const { run } = this;
    if (run.blocking.length > 0 || records.length === 0) return;
    this.added += records.length;
    if (run.dryRun) return;
    if (!this.file) {
      const target = run.json.fileFor(this.chainId);
      await run.backups.backUp(target);
      this.written = await run.writtenRecords?.begin(target, this.chainId);
      this.file = await NewChainFile.create(target, this.chainId, run.ctx.registry.get(this.chainId).name);
    }
    try {
      await this.file.addAll(records);
      await this.written?.spill.addRecords(records, digests);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Puts the file in place (the report counts it) unless the chain must be copied again. */
  async finish(): Promise<FreshChainOutcome> {
    const { run } = this;
    const seqAtRead = await run.ctx.journal.lastSeq();
    if (this.added === 0 || (await newerKeys(run, this.chainId)).size > 0) {
      await this.abort();
      return { placed: false };
    }
    if (this.file) {
      const file = this.file;
      this.file = undefined;
      const written = this.written;
      const placed = await file.commit({}, () => written?.placed());
      await written?.spill.close();
      if (!placed) {
        run.writtenRecords?.drop(file.target);
        return { placed: false };
      }
      run.report.files.push(file.target);
    }
    run.report.copied += this.added;
    run.changedChains++;
    return { placed: true, seqAtRead };
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
