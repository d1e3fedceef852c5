// How a scan reads LevelDB: in batches, the next one read (on level's thread pool) while the reader
// works on this one, so a scan takes about the longer of the two, not their sum.
import type { Db } from './level-open.js';

/**
 * A scan's batches: up to this many rows, cut at about this many bytes of keys and values. level's
 * own cut (16 KiB) makes a full scan of 100k records about 3,000 round trips to its thread pool,
 * each a wait on a loaded machine; at 64 KiB about 800, each read while the last is worked on.
 * Larger batches save little more and raise a long scan's peak RSS well beyond their size.
 */
const SCAN_BATCH_ROWS = 1000;
const SCAN_BATCH_BYTES = 64 * 1024;

type Row = [string, string];

/**
 * The rows of `range` in key order, a batch at a time, until none are left. `stopped` is asked
 * before each batch and its error thrown when it returns one (the database was taken away);
 * `mapError` turns a failed read into the store's error.
 */
export async function* batchesReadAhead(
  db: Db,
  range: object,
  stopped: () => Error | undefined,
  mapError: (error: unknown) => Error,
): AsyncGenerator<Row[]> {
  const iterator = db.iterator({ ...range, highWaterMarkBytes: SCAN_BATCH_BYTES, fillCache: false });
  let ahead: Promise<Row[]> | undefined;
  const readAhead = (): Promise<Row[]> => {
    const read = iterator.nextv(SCAN_BATCH_ROWS);
    // Awaited below, or settled in the finally when the reader stops early: never unhandled.
    read.catch(() => undefined);
    return read;
  };
  try {
    for (;;) {
      const stop = stopped();
      if (stop) throw stop;
      let rows: Row[];
      try {
        rows = await (ahead ?? readAhead());
      } catch (error) {
        throw stopped() ?? mapError(error);
      } finally {
        ahead = undefined;
      }
      if (rows.length === 0) return;
      ahead = readAhead();
      yield rows;
    }
  } finally {
    // A read still in flight ends before its iterator closes.
    if (ahead) await ahead.catch(() => undefined);
    await iterator.close().catch(() => undefined);
  }
}
