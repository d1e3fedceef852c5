// Verify reads each network file once for both of its sides: the JSON side yields the file's
// records, and the LevelDB side takes the file's record for a stored value whose text is exactly
// that record as printed (what the copy and a dual-write put store), instead of parsing it again.
import { readFile } from 'node:fs/promises';
import { parseStateFile, type StateFileModel } from '@deploystate/backend-json';
import { decodeEntry, type LevelDbStore } from '@deploystate/backend-leveldb';
import { compareKeys, stringifyLossless, tryParseKey, type DeploymentRecord, type InvalidEntry, type StoreEntry } from '@deploystate/core';
import { fileSignature, type PairedDigests } from './file-digests.js';

/** One chain's network file as read: `model` is undefined when it cannot be read or is not a state file of the chain. */
export interface ReadChainFile {
  /** The file read: the one the store reads for the chain. */
  file: string;
  /** Its stat signature before the read. */
  before: string | undefined;
  model?: StateFileModel;
}

const chainOrder = (a: number, b: number): number => compareKeys(`${a}-`, `${b}-`);

/**
 * The network file of each chain, read and parsed once however many sides ask. Both sides walk
 * the chains in key order and stay within one entry of each other, so only the chains at or after
 * the one asked last are kept: at most two parsed files at a time.
 */
export class ChainFiles {
  private readonly reads = new Map<number, Promise<ReadChainFile>>();

  /** `fileOf`: the file the comparison reads for a chain, undefined when the folder has none. */
  constructor(private readonly fileOf: (chainId: number) => string | undefined) {}

  read(chainId: number): Promise<ReadChainFile> | undefined {
    const file = this.fileOf(chainId);
    if (file === undefined) return undefined;
    for (const earlier of this.reads.keys()) if (chainOrder(earlier, chainId) < 0) this.reads.delete(earlier);
    let read = this.reads.get(chainId);
    if (!read) this.reads.set(chainId, (read = readChainFile(file, chainId)));
    return read;
  }
}

async function readChainFile(file: string, chainId: number): Promise<ReadChainFile> {
  const before = fileSignature(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { file, before };
  }
  try {
    return { file, before, model: parseStateFile(text, file, chainId) };
  } catch {
    return { file, before };
  }
}

/**
 * The file's record for a stored value whose text is exactly that record printed compactly, else
 * undefined. Printing is exact and parsing its output gives the same value back (lossless), so such
 * a value would decode to a record identical to the file's: the file's record stands for it, and
 * the comparison (by canonical digest) and the LevelDB digest are what decoding would give. The
 * key names the same chain and contract as the file's place, which the file's parse checked.
 */
export function sameAsFile(raw: string, record: DeploymentRecord | undefined): DeploymentRecord | undefined {
  return record !== undefined && raw === stringifyLossless(record) ? record : undefined;
}

/**
 * The LevelDB side for verify: raw values in key order; a value that is its file's record as
 * printed is that record (not parsed), any other is decoded as the store decodes it, and one that
 * does not decode goes to `onInvalid`.
 */
export async function* leveldbSide(
  leveldb: LevelDbStore,
  files: ChainFiles,
  paired: PairedDigests,
  onInvalid: (entry: InvalidEntry) => void,
): AsyncGenerator<StoreEntry> {
  let chainId: number | undefined;
  let records: ReadonlyMap<string, DeploymentRecord> | undefined;
  for await (const rows of leveldb.iterateRaw()) {
    for (const [key, raw] of rows) {
      const place = tryParseKey(key);
      if (place && place.chainId !== chainId) {
        chainId = place.chainId;
        records = (await files.read(chainId))?.model?.records;
      }
      const known = place && sameAsFile(raw, records?.get(place.contractName));
      if (known) {
        yield paired.left({ key, record: known });
        continue;
      }
      const decoded = decodeEntry(key, raw);
      if ('record' in decoded) yield paired.left({ key, record: decoded.record });
      else onInvalid(decoded);
    }
  }
}
