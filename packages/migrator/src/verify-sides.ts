// Verify reads each network file once for both of its sides: the JSON side yields the file's
// records, and the LevelDB side takes the file's record for a stored value whose text is exactly
// that record as printed (what the copy and a dual-write put store), instead of parsing it again.
import { decodeEntry, type LevelDbStore } from '@deploystate/backend-leveldb';
import { compareKeys, parseLossless, tryParseKey, type DeploymentRecord, type InvalidEntry, type StoreEntry } from '@deploystate/core';
import { chainFileFacts, type ChainFileFacts } from './chain-file-facts.js';
import type { ChainFileReader } from './chain-file-reader.js';

const chainOrder = (a: number, b: number): number => compareKeys(`${a}-`, `${b}-`);

/** One chain's file facts with each record's index by name. */
export interface ReadChainFile extends ChainFileFacts {
  index: ReadonlyMap<string, number>;
}

/** How many chains ahead of the one compared a reader on another thread is asked for. */
const READ_AHEAD = 2;

/**
 * The network file of each chain, read and parsed once however many sides ask. Both sides walk
 * the chains in key order and stay within one entry of each other, so only the chains at or after
 * the one asked last are kept. A reader on another thread is asked for the next READ_AHEAD chains'
 * files, which it parses while this thread compares; a file not asked for ahead (the first chain's)
 * is read on this thread, so both threads work from the start.
 */
export class ChainFiles {
  private readonly reads = new Map<number, Promise<ReadChainFile>>();

  /**
   * `fileOf`: the file the comparison reads for a chain, undefined when the folder has none;
   * `after`: the chain compared after this one, if any.
   */
  constructor(
    private readonly fileOf: (chainId: number) => string | undefined,
    private readonly reader: ChainFileReader,
    private readonly after: (chainId: number) => number | undefined = () => undefined,
  ) {}

  read(chainId: number): Promise<ReadChainFile> | undefined {
    if (this.fileOf(chainId) === undefined) return undefined;
    for (const earlier of this.reads.keys()) if (chainOrder(earlier, chainId) < 0) this.reads.delete(earlier);
    let next: number | undefined = chainId;
    for (let ahead = 0; this.reader.parallel && ahead < READ_AHEAD; ahead++) {
      next = this.after(next);
      if (next === undefined) break;
      this.start(next, (file, id) => this.reader.read(file, id));
    }
    return this.start(chainId, chainFileFacts);
  }

  /** The chain's read, started by `read` if none has been. */
  private start(chainId: number, read: (file: string, chainId: number) => Promise<ChainFileFacts>): Promise<ReadChainFile> | undefined {
    const file = this.fileOf(chainId);
    if (file === undefined) return undefined;
    let started = this.reads.get(chainId);
    if (!started) this.reads.set(chainId, (started = read(file, chainId).then(indexed)));
    return started;
  }
}

function indexed(facts: ChainFileFacts): ReadChainFile {
  const index = new Map<string, number>();
  facts.names.forEach((name, i) => {
    if (facts.texts[i] !== null) index.set(name, i);
  });
  return { ...facts, index };
}

/**
 * An entry for the file's record at `i`: its digest as computed from the parsed record, and the
 * record itself parsed from its compact text only when asked for (a difference's details). Printing
 * is exact and parsing its output gives the same value back (lossless), so that is the file's record.
 */
export function fileEntry(key: string, facts: ChainFileFacts, i: number): StoreEntry {
  const text = facts.texts[i] as string;
  let record: DeploymentRecord | undefined;
  return {
    key,
    digest: facts.digests[i] as string,
    get record(): DeploymentRecord {
      record ??= parseLossless(text) as DeploymentRecord;
      return record;
    },
  };
}

/**
 * The file's record index for a stored value whose text is exactly that record printed compactly,
 * else undefined. Such a value would decode to a record identical to the file's (printing is exact
 * and parsing its output gives the same value back), so the comparison (by canonical digest) and the
 * LevelDB digest are what decoding would give. The key names the same chain and contract as the
 * file's place, which the file's parse checked.
 */
export function sameAsFile(raw: string, facts: ReadChainFile, name: string): number | undefined {
  const i = facts.index.get(name);
  return i !== undefined && raw === facts.texts[i] ? i : undefined;
}

/**
 * The LevelDB side for verify: raw values in key order; a value that is its file's record as
 * printed is that record (not parsed), any other is decoded as the store decodes it, and one that
 * does not decode goes to `onInvalid`.
 */
export async function* leveldbSide(leveldb: LevelDbStore, files: ChainFiles, onInvalid: (entry: InvalidEntry) => void): AsyncGenerator<StoreEntry> {
  let chainId: number | undefined;
  let facts: ReadChainFile | undefined;
  for await (const rows of leveldb.iterateRaw()) {
    for (const [key, raw] of rows) {
      const place = tryParseKey(key);
      if (place && place.chainId !== chainId) {
        chainId = place.chainId;
        facts = await files.read(chainId);
      }
      const i = place && facts?.parsed ? sameAsFile(raw, facts, place.contractName) : undefined;
      if (i !== undefined) {
        yield fileEntry(key, facts as ReadChainFile, i);
        continue;
      }
      const decoded = decodeEntry(key, raw);
      if ('record' in decoded) yield { key, record: decoded.record };
      else onInvalid(decoded);
    }
  }
}
