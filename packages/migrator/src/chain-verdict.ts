// One chain as verify compares it: its network file read, parsed and printed where a thread is
// free (fileVerdict, a worker thread when one is available), then the chain's LevelDB values
// walked against the file's records, name by name in key order (walkChain). A value whose text is exactly the file's record printed compactly (what the
// copy and a dual-write put store) is that record: printing is exact and parsing its output gives
// the same value back, so decoding it would give an identical record, and one digest serves both
// sides. Any other value is decoded as the LevelDB store decodes it. The results are plain data, so
// they cross threads as they are; the calling thread hands them to the comparison (verify-chains.ts).
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

/** One chain's state file to read, parse, validate and print: what needs no LevelDB value (see fileVerdict). */
export interface FileJob {
  chainId: number;
  file: string;
}

/**
 * A chain's state file as verify needs it, worked out before the chain's LevelDB values are read:
 * a worker reads, parses, validates and prints files while this thread scans LevelDB.
 */
export interface FileVerdict {
  chainId: number;
  file: string;
  /** The file's stat signature before it was read. */
  before?: string;
  /** False when the file cannot be read or is not a state file of the chain (see ChainVerdict). */
  parsed: boolean;
  schema: SchemaReport;
  /** Every name the file holds an entry under, in key order. */
  names: string[];
  /** Per name: the record printed compactly; null for an entry that is not a record. */
  texts: Array<string | null>;
  /** Per name: the record's canonical digest; '' for an entry that is not a record. */
  digests: string[];
  /** Per name: the record's timestamp in decimal; '' for an entry that is not a record. */
  timestamps: string[];
  /** The entries that are not records, in key order: name and why. */
  invalid: Array<[string, Finding]>;
}

/** Reads and parses the chain's file once, and prints and digests each of its records. */
export async function fileVerdict(job: FileJob): Promise<FileVerdict> {
  const out: FileVerdict = {
    chainId: job.chainId,
    file: job.file,
    parsed: false,
    schema: { files: 0, errors: [], skipped: [] },
    names: [],
    texts: [],
    digests: [],
    timestamps: [],
    invalid: [],
  };
  // A folder or link in the file's place is read as the store reads it (which refuses it: NOT_A_FILE).
  if (!lstatSync(job.file, { throwIfNoEntry: false })?.isFile()) return out;
  const file = job.file;
  let model: StateFileModel;
  try {
    // Found empty, gone or not parsing while git rewrites the folder: read again once git is done
    // (the signature with it, so the co-owned check compares the file as it was read).
    const read = async (): Promise<StateFileModel> => {
      const before = fileSignature(file);
      if (before !== undefined) out.before = before;
      else delete out.before;
      return parseStateFile(await readFile(file, 'utf8'), file, job.chainId);
    };
    model = await readBesideGit(dirname(file), read, {
      missing: () => false,
      unfinished: (error) => isStateError(error, ErrorCodes.CORRUPTED) || errnoCode(error) === 'ENOENT',
      exists: () => true,
    });
    validateParsed(model, file, out.schema);
  } catch {
    return out;
  }
  out.parsed = true;
  const { records, invalid } = model;
  out.names = [...records.keys(), ...invalid.keys()].sort(compareKeys);
  const fileRecords: DeploymentRecord[] = [];
  for (const name of out.names) {
    const record = records.get(name);
    if (record !== undefined) fileRecords.push(record);
  }
  // Both texts of a few hundred records in one native call (compactTextsAndDigests), a run at a time.
  const texts: string[] = [];
  const digests: string[] = [];
  for (let i = 0; i < fileRecords.length; i += PRINT_RUN) {
    const run = compactTextsAndDigests(fileRecords.slice(i, i + PRINT_RUN));
    for (let k = 0; k < run.texts.length; k++) {
      texts.push(run.texts[k] as string);
      digests.push(run.digests[k] as string);
    }
  }
  let at = 0;
  for (const name of out.names) {
    const record = records.get(name);
    if (record === undefined) {
      out.invalid.push([name, (invalid.get(name) as { finding: Finding }).finding]);
      out.texts.push(null);
      out.digests.push('');
      out.timestamps.push('');
      continue;
    }
    out.texts.push(texts[at] as string);
    out.digests.push(digests[at] as string);
    out.timestamps.push(String(record.timestamp));
    at++;
  }
  return out;
}
// Records printed and digested per native call (the print itself goes a few hundred to a call).
const PRINT_RUN = 512;

/** Reads and parses the chain's file once (fileVerdict), then walks both sides' names in key order (walkChain). */
export async function chainVerdict(job: ChainJob): Promise<ChainVerdict> {
  return walkChain(job, job.file === undefined ? undefined : await fileVerdict({ chainId: job.chainId, file: job.file }));
}

/**
 * The chain's LevelDB values against its file's records, name by name in key order (`file`
 * undefined: the folder has no file for the chain). A value whose text is the record's compact
 * print is the record, and takes its digest; any other is decoded.
 */
export function walkChain(job: ChainJob, file: FileVerdict | undefined): ChainVerdict {
  const verdict = emptyVerdict(job);
  if (file !== undefined) {
    if (file.before !== undefined) verdict.before = file.before;
    if (!file.parsed) return verdict;
    verdict.schema = file.schema;
  }
  verdict.parsed = true;
  const fileNames = file?.names ?? [];
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
  // The next of the file's entries that are not records (in key order, as the walk reaches them).
  let notRecord = 0;
  while (l < job.names.length || r < fileNames.length) {
    const leftName = job.names[l];
    const rightName = fileNames[r];
    const order = leftName === undefined ? 1 : rightName === undefined ? -1 : compareKeys(leftName, rightName);
    const name = (order <= 0 ? leftName : rightName) as string;
    const raw = order <= 0 ? (job.raws[l] as string) : undefined;
    // The file's entry of this name: a record's text, or null for an entry that is not a record.
    const text = order >= 0 ? (file as FileVerdict).texts[r] : undefined;
    if (text === null) verdict.rightInvalid.push((file as FileVerdict).invalid[notRecord++] as [string, Finding]);
    let left = '';
    let right = '';
    let rightText: string | null = null;
    if (typeof text === 'string') {
      right = (file as FileVerdict).digests[r] as string;
      left = raw === undefined ? '' : raw === text ? right : decodeLeft(name, raw);
      if (left !== right) rightText = text;
    } else if (raw !== undefined) {
      left = decodeLeft(name, raw);
    }
    names.push(name);
    verdict.left.push(left);
    verdict.right.push(right !== '' && right === left ? null : right);
    verdict.timestamps.push(typeof text === 'string' ? ((file as FileVerdict).timestamps[r] as string) : '');
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

/** What verify hands a thread: a chain to compare, or a chain's file to read ahead of its LevelDB values. */
export type VerdictTask = { chain: ChainJob } | { file: FileJob };

/** A task's answer: a ChainVerdict for a chain, a FileVerdict for a file. */
export function runVerdictTask(task: VerdictTask): Promise<ChainVerdict | FileVerdict> {
  return 'chain' in task ? chainVerdict(task.chain) : fileVerdict(task.file);
}
