// Where the bulk copy reads LevelDB: a consistent snapshot copy of the folder taken right after a
// quiet point of the fence, never the live database, which deploy scripts keep writing for the
// whole pass. A write after the snapshot reaches JSON through the outbox drainer and is journalled
// after the quiet point; the copy writes each chain's file holding the fence, so no drain lands
// between its look at the journal and its write, and it keeps what such a drain wrote.
import { openSnapshot, type LevelDbStore, type OpenedSnapshot } from '@deploystate/backend-leveldb';
import { snapshotWait, type MigrationContext } from './context.js';
import { underGateFence } from './fence.js';
import { pendingKeys } from './outbox-status.js';
import { quietPoint } from './written-since.js';

export interface CopySource {
  /** The snapshot the pass reads (read-only, opened once, kept open for the pass). */
  store: LevelDbStore;
  /** The snapshot's folder: the LevelDB backup of the copy is taken from it, so it holds what the pass read. */
  folder: string;
  /**
   * The journal's last seq at the quiet point before the snapshot: every write journalled up to it
   * is in the snapshot, and a write missing from it is journalled after it (drained, or still in
   * the outbox).
   */
  seq: number;
  /** Keys with a write still in the snapshot's outbox: JSON gets them from the drainer. */
  pending: Set<string>;
  /** Closes the snapshot and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * Takes the copy's source. `live`: the migration's LevelDB store, handed back at once after the
 * snapshot so a writer waiting for it gets its turn now, not after the idle delay. A dry run notes
 * the journal's position without the fence: it writes nothing, so nothing can land in between.
 */
export async function openCopySource(
  ctx: Pick<MigrationContext, 'files' | 'journal' | 'registry' | 'lockWait'>,
  live: LevelDbStore | undefined,
  dryRun: boolean,
): Promise<CopySource> {
  const seq = dryRun ? await ctx.journal.lastSeq() : await quietPoint(ctx, 'migrate');
  let snapshot: OpenedSnapshot | undefined = await openSnapshot(ctx.files.leveldb, { registry: ctx.registry, ...snapshotWait(ctx) });
  try {
    await live?.handBack();
    const pending = await pendingKeys(snapshot.store);
    const opened = snapshot;
    snapshot = undefined;
    return { store: opened.store, folder: opened.store.location, seq, pending, dispose: () => opened.dispose() };
  } finally {
    await snapshot?.dispose();
  }
}

/**
 * Runs one chain's work (its look at the journal and the JSON file, then its write) holding the
 * fence exclusively: drains hold it shared while they write and journal, so a drain lands wholly
 * before that look (and the copy keeps what it wrote) or wholly after the write. Deploy scripts'
 * puts in dual-write take no fence and never wait for it.
 */
export function underChainFence<T>(run: { ctx: Pick<MigrationContext, 'files'>; dryRun: boolean }, work: () => Promise<T>): Promise<T> {
  return run.dryRun ? work() : underGateFence(run.ctx.files, 'migrate', work);
}
