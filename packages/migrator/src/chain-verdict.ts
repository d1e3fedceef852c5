// One chain as verify compares it, worked out where the chain's network file is parsed (a worker
// thread when one is available): the chain's LevelDB values against the file's records, name by
// name in key order. A value whose text is exactly the file's record printed compactly (what the
// copy and a dual-write put store) is that record: printing is exact and parsing its output gives
// the same value back, so decoding it would give an identical record, and one digest serves both
// sides. Any other value is decoded as the LevelDB store decodes it. The result is plain data, so
// it crosses threads as it is; the calling thread hands it to the comparison (verify-chains.ts).
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
// The narrow entry points: a worker thread loads neither store (nor `level`, the lock or backups).
import { parseStateFile, type StateFileModel } from '@deploystate/backend-json/state-file';
import { decodeEntry } from '@deploystate/backend-leveldb/decode';
import {
  canonicalDigest,
  compactTextsAndDigests,
  compareKeys,
  errnoCode,
  ErrorCodes,
  isStateError,
  readBesideGit,
  type DeploymentRecord,
  type Finding,
  type InvalidEntry,
} from '@deploystate/core';
import { validateParsed, type SchemaReport } from './file-validation.js';
import { fileSignature } from './file-digests.js';

/** One chain to compare: its LevelDB rows and the network file the JSON store reads for it. */
export interface ChainJob {
  chainId: number;
  /** The state file the store reads for the chain; undefined when the folder has none. */
  file?: string;
  /** The chain's LevelDB rows in key order: contract names and the values stored under them. */
  names: string[];
  raws: string[];
}

export interface ChainVerdict {
  chainId: number;
  file?: string;
  /** The file's stat signature before it was read. */
  before?: string;
  /** False when the file cannot be read or is not a state file of the chain: both sides are then read as the stores read them. */
  parsed: boolean;
  /** The schema validation of the parsed file (empty when there is no file or it did not parse). */
  schema: SchemaReport;
  /** Every name either side holds an entry under, in key order; absent when that is the job's names (the file holds no other). */
  names?: string[];
  /** Per name: the LevelDB record's canonical digest; '' when LevelDB holds none or its value does not decode. */
  left: string[];
  /** Per name: the file record's canonical digest; '' when the file holds no record of that name, null when it is `left`'s (one digest sent, not two). */
  right: Array<string | null>;
  /** Per name: the file record's timestamp in decimal ('' when none). */
  timestamps: string[];
  /** Per name: the file record printed compactly where the two digests differ (its details may be listed); else null. */
  rightTexts: Array<string | null>;
  /** Per name: where LevelDB's value is in the job's rows, -1 when LevelDB holds none; absent with `names` (then it is the name's own place). */
  leftAt?: number[];
  /** LevelDB values that do not decode, in key order. */
  leftInvalid: InvalidEntry[];
  /** The file's entries that are not records, in key order: name and why. */
  rightInvalid: Array<[string, Finding]>;
}

/** An empty verdict for the job (the file not yet read). */
function emptyVerdict(job: ChainJob): ChainVerdict {
  return {
    chainId: job.chainId,
    ...(job.file !== undefined && { file: job.file }),
    parsed: false,
    schema: { files: 0, errors: [], skipped: [] },
    left: [],
    right: [],
    timestamps: [],
    rightTexts: [],
    leftInvalid: [],
    rightInvalid: [],
  };
}

// Records printed and digested per run (the print itself goes a few hundred to a native call).
const PRINT_RUN = 512;

/** Reads and parses the chain's file once, then walks both sides' names in key order. */
export async function chainVerdict(job: ChainJob): Promise<ChainVerdict> {
  const verdict = emptyVerdict(job);
  let records: ReadonlyMap<string, DeploymentRecord> = new Map();
  let invalid: ReadonlyMap<string, { finding: Finding }> = new Map();
  if (job.file !== undefined) {
    // A folder or link in the file's place is read as the store reads it (which refuses it: NOT_A_FILE).
    if (!lstatSync(job.file, { throwIfNoEntry: false })?.isFile()) return verdict;
    const file = job.file;
    try {
      // Found empty, gone or not parsing while git rewrites the folder: read again once git is done
      // (the signature with it, so the co-owned check compares the file as it was read).
      const read = async (): Promise<StateFileModel> => {
        const before = fileSignature(file);
        if (before !== undefined) verdict.before = before;
        else delete verdict.before;
        return parseStateFile(await readFile(file, 'utf8'), file, job.chainId);
      };
      const model = await readBesideGit(dirname(file), read, {
        missing: () => false,
        unfinished: (error) => isStateError(error, ErrorCodes.CORRUPTED) || errnoCode(error) === 'ENOENT',
        exists: () => true,
      });
      records = model.records;
      invalid = model.invalid;
      validateParsed(model, job.file, verdict.schema);
    } catch {
      return verdict;
    }
  }
  verdict.parsed = true;
  const fileNames = [...records.keys(), ...invalid.keys()].sort(compareKeys);
  const fileRecords: DeploymentRecord[] = [];
  for (const name of fileNames) {
    const record = records.get(name);
    if (record !== undefined) fileRecords.push(record);
  }
  // Each record's compact text and digest, a run of records at a time as the walk reaches them (both
  // texts of a few hundred records in one native call): one run's texts are held, not the file's.
  let run: { texts: string[]; digests: string[] } = { texts: [], digests: [] };
  let runStart = 0;
  let printed = 0;
  const decodeLeft = (name: string, raw: string): string => {
    const decoded = decodeEntry(`${job.chainId}-${name}`, raw);
    if ('record' in decoded) return canonicalDigest(decoded.record);
    verdict.leftInvalid.push(decoded);
    return '';
  };
  const names: string[] = [];
  const leftAt: number[] = [];
  let l = 0;
  let r = 0;
  while (l < job.names.length || r < fileNames.length) {
    const leftName = job.names[l];
    const rightName = fileNames[r];
    const order = leftName === undefined ? 1 : rightName === undefined ? -1 : compareKeys(leftName, rightName);
    const name = (order <= 0 ? leftName : rightName) as string;
    const raw = order <= 0 ? (job.raws[l] as string) : undefined;
    const record = order >= 0 ? records.get(name) : undefined;
    if (order >= 0 && record === undefined) verdict.rightInvalid.push([name, (invalid.get(name) as { finding: Finding }).finding]);
    let left = '';
    let right = '';
    let rightText: string | null = null;
    if (record !== undefined) {
      if (printed - runStart === run.texts.length) {
        runStart = printed;
        run = compactTextsAndDigests(fileRecords.slice(printed, printed + PRINT_RUN));
      }
      const text = run.texts[printed - runStart] as string;
      right = run.digests[printed - runStart] as string;
      printed++;
      left = raw === undefined ? '' : raw === text ? right : decodeLeft(name, raw);
      if (left !== right) rightText = text;
    } else if (raw !== undefined) {
      left = decodeLeft(name, raw);
    }
    names.push(name);
    verdict.left.push(left);
    verdict.right.push(right !== '' && right === left ? null : right);
    verdict.timestamps.push(record === undefined ? '' : String(record.timestamp));
    verdict.rightTexts.push(rightText);
    leftAt.push(raw === undefined ? -1 : l);
    if (order <= 0) l++;
    if (order >= 0) r++;
  }
  // Most often the file holds no name LevelDB lacks: the job's names serve, and are not sent back.
  if (names.length !== job.names.length) {
    verdict.names = names;
    verdict.leftAt = leftAt;
  }
  return verdict;
}
