// written.json on disk, read and written one entry at a time: it holds an entry per record of the
// whole store (about 15 MB at 100k records), which a command that rewrites it never needs whole.
// Printed one entry a line; a file in any other layout (an older writer's) is read whole, once.
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename } from 'node:path';
import { AtomicFileWriter, sweepDeadTemps } from '@deploystate/backend-json/atomic';
import type { Baseline, WrittenEntry } from './coowned-baseline.js';

const CHUNK_CHARS = 64 * 1024;
const HEAD = /^\{\n {2}"version": 1,\n {2}"scannedSeq": (\d+),\n {2}"written": \{(\}?)$/;
const ENTRY = /^ {4}("(?:[^"\\]|\\.)*"): (\{.*\}),?$/;

/** One entry as the baseline file prints it, each on its own line, without the comma before it. */
export function printedEntry(key: string, entry: WrittenEntry): string {
  return `\n    ${JSON.stringify(key)}: ${JSON.stringify(entry)}`;
}

/**
 * printedEntry of `{ seq: 0, op: 'put', digest, timestamp }` (a write of the product's own), without
 * the object: the copy prints one per record it writes.
 */
export function printedPut(key: string, digest: string, timestamp: string): string {
  return `\n    ${jsonString(key)}: {"seq":0,"op":"put","digest":${jsonString(digest)},"timestamp":${jsonString(timestamp)}}`;
}

/**
 * printedPut of a record's own digest (sha256 hex) and timestamp (an integer's digits, or an exact
 * literal's): neither holds anything to escape, so only the key is looked at.
 */
export function printedRecordPut(key: string, digest: string, timestamp: string): string {
  return `\n    ${jsonString(key)}: {"seq":0,"op":"put","digest":"${digest}","timestamp":"${timestamp}"}`;
}

// What JSON.stringify escapes in a string: a quote, a backslash, a control character, a surrogate (paired or not).
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string, without the call for one that holds nothing to escape (most keys, every digest). */
function jsonString(text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** An entry's line as `printedEntry` prints it (a trailing comma allowed); undefined for any other line. */
export function parseEntryLine(line: string): [string, WrittenEntry] | undefined {
  const entry = ENTRY.exec(line);
  if (!entry) return undefined;
  try {
    return [JSON.parse(entry[1] as string) as string, JSON.parse(entry[2] as string) as WrittenEntry];
  } catch {
    return undefined;
  }
}

/** A baseline file that cannot be read as one: it is rebuilt from the whole journal (slower, never wrong). */
export class BaselineUnreadable extends Error {}

/** A written.json opened for reading its entries in file order. */
export interface BaselineReader {
  scannedSeq: number;
  entries(): AsyncIterable<[string, WrittenEntry]>;
}

const isBaseline = (parsed: Baseline | null): parsed is Baseline =>
  parsed?.version === 1 && typeof parsed.scannedSeq === 'number' && typeof parsed.written === 'object' && parsed.written !== null;

/**
 * The baseline at `file`: undefined when there is none; `BaselineUnreadable` thrown when its head
 * cannot be read (and later, from `entries()`, when its body cannot).
 */
export async function openBaseline(file: string): Promise<BaselineReader | undefined> {
  let head: string;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BaselineUnreadable(String(error));
  }
  const lines = head.split('\n');
  const match = HEAD.exec(lines.slice(0, 4).join('\n'));
  // The head alone does not tell this layout from a whole-file print of the same object: the first entry does.
  const firstEntry = lines.length > 5 ? (lines[4] as string) : undefined;
  if (!match || (firstEntry !== undefined && firstEntry !== '  }' && !ENTRY.test(firstEntry))) return wholeBaseline(file);
  const empty = match[2] === '}';
  return { scannedSeq: Number(match[1]), entries: () => lineEntries(file, empty) };
}

/** An older layout: parsed whole. */
async function wholeBaseline(file: string): Promise<BaselineReader> {
  let parsed: Baseline | null = null;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Baseline | null;
  } catch {
    // below
  }
  if (!isBaseline(parsed)) throw new BaselineUnreadable(file);
  const written = parsed.written;
  return {
    scannedSeq: parsed.scannedSeq,
    entries: async function* () {
      for (const key of Object.keys(written)) yield [key, written[key] as WrittenEntry];
    },
  };
}

async function* lineEntries(file: string, empty: boolean): AsyncGenerator<[string, WrittenEntry]> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let at = 0;
  let closed = empty;
  let ended = false;
  for await (const line of lines) {
    if (at++ < 4) continue;
    if (ended) {
      if (line.length > 0) throw new BaselineUnreadable(file);
      continue;
    }
    if (closed) {
      if (line !== '}') throw new BaselineUnreadable(file);
      ended = true;
      continue;
    }
    if (line === '  }') {
      closed = true;
      continue;
    }
    const parsed = parseEntryLine(line);
    if (!parsed) throw new BaselineUnreadable(file);
    yield parsed;
  }
  // A file cut short is not a baseline.
  if (!ended) throw new BaselineUnreadable(file);
}

/**
 * A new baseline file, written entry by entry through the atomic writer's temp file and put in
 * place by `commit()` (not synced: a baseline lost to a crash is rebuilt from the files and the journal).
 */
export class BaselineWriter {
  private pending: string;
  private first = true;

  private constructor(
    private readonly writer: AtomicFileWriter,
    scannedSeq: number,
  ) {
    this.pending = `{\n  "version": 1,\n  "scannedSeq": ${JSON.stringify(scannedSeq)},\n  "written": {`;
  }

  static async create(file: string, tmpDir: string, scannedSeq: number): Promise<BaselineWriter> {
    // A writer killed mid-write left its temp (several MB at 100k records): gone once its process is.
    sweepDeadTemps(tmpDir, basename(file));
    return new BaselineWriter(AtomicFileWriter.create(file, { tmpDir }), scannedSeq);
  }

  async add(key: string, entry: WrittenEntry): Promise<void> {
    this.pending += `${this.first ? '' : ','}${printedEntry(key, entry)}`;
    this.first = false;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  /**
   * Entries printed already, in order, each as `,` + printedEntry (what a RecordSpill holds): copied
   * as they are, without a parse or a print per entry. `text` may end or start anywhere in an entry.
   */
  async addPrinted(text: string): Promise<void> {
    if (text.length === 0) return;
    // The comma that would separate this run from an entry before it, when there is none.
    this.pending += this.first ? text.slice(1) : text;
    this.first = false;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    await this.writer.append(text);
  }

  async commit(): Promise<void> {
    try {
      await this.writer.append(`${this.pending}${this.first ? '}' : '\n  }'}\n}\n`);
    } catch (error) {
      await this.abort();
      throw error;
    }
    await this.writer.replace({ durable: false });
  }

  async abort(): Promise<void> {
    await this.writer.discard().catch(() => undefined);
  }
}

/** The whole baseline printed to `file` (a command that holds it whole already). */
export async function writeBaseline(file: string, baseline: Baseline, tmpDir: string): Promise<void> {
  const writer = await BaselineWriter.create(file, tmpDir, baseline.scannedSeq);
  try {
    for (const key of Object.keys(baseline.written)) await writer.add(key, baseline.written[key] as WrittenEntry);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit();
}
