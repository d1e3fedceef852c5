// One network's state file in memory: the whole top-level document (key order kept, keys this
// package does not own kept verbatim) and its records. Reading checks version and chain; writing
// prints deterministic bytes and keeps a legacy file's contracts/implementationHashes in step.
import {
  ErrorCodes,
  StateError,
  assertDeploymentRecord,
  compareKeys,
  duplicateKeyError,
  finding,
  loneSurrogateAt,
  invalidValueFinding,
  orderRecordFields,
  RECORD_FIELDS,
  parseLosslessDocument,
  setOwnProperty,
  stringifyLossless,
  type DeploymentRecord,
  type DuplicateKey,
  type Finding,
} from '@deploystate/core';
import { SCHEMA_URL, SCHEMA_VERSION } from './schema.js';

export interface InvalidRecordEntry {
  /** The key under `records`. */
  name: string;
  /** The entry as read, written back verbatim while it stays. */
  value: unknown;
  finding: Finding;
}

export interface StateFileModel {
  chainId: number;
  /** The version the file declared when read: 0 legacy, 1 current, SCHEMA_VERSION for a new file. */
  version: number;
  /** The top-level document as read (records excluded from ownership: see `records`). */
  document: Record<string, unknown>;
  /** Valid records by contractName. */
  records: Map<string, DeploymentRecord>;
  /** Entries of `records` that are not records of this chain under their own name. */
  invalid: Map<string, InvalidRecordEntry>;
  /** The file started with a UTF-8 byte-order mark: read past, and written again on rewrite. */
  bom?: boolean;
  /** The first key written twice in one object: the file is read (the last value wins) but never rewritten. */
  duplicate?: DuplicateKey;
  /** True when the file as read held no number exactly (no bigint, no JsonNumber anywhere in `document`). */
  plain?: boolean;
}

const BOM = '\uFEFF';

/**
 * Throws DUPLICATE_KEY (with the file, line and column) when the file names a key twice in one
 * object: a rewrite would keep only the last value and drop the other for good.
 */
export function assertRewritable(model: StateFileModel, file: string): void {
  if (model.duplicate) throw duplicateKeyError(file, model.duplicate);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A model for a chain that has no file yet. */
export function emptyStateFile(chainId: number, network: string): StateFileModel {
  const document: Record<string, unknown> = { $schema: SCHEMA_URL, schemaVersion: SCHEMA_VERSION, network, chainId, records: {} };
  return { chainId, version: SCHEMA_VERSION, document, records: new Map(), invalid: new Map() };
}

/** The top-level key where a merge keeps the versions of a conflict; a file with it is not read until resolved. */
export const CONFLICTS_KEY = '$conflicts';

/**
 * The top-level key of a network file the migrator's store wrote in json-only: the number of the
 * cut-over those writes follow (phase.json counts cut-overs). Such writes are in JSON alone until a
 * rollback carries them back, so a phase that reads LevelDB while a file holds a cut-over no
 * rollback has ended is refused. A merge keeps the larger of two.
 */
export const JSON_ONLY_STAMP = 'jsonOnlyAfterCutover';

/** git's line-conflict markers at the start of a line. */
export const GIT_CONFLICT_MARKER = /^(<{7}|>{7})( |$)/m;

/** parseLossless, naming an unfinished git merge when the text holds its markers. */
function parseUnmerged(text: string, file: string): ReturnType<typeof parseLosslessDocument> {
  try {
    return parseLosslessDocument(text, { source: file });
  } catch (error) {
    if (!GIT_CONFLICT_MARKER.test(text)) throw error;
    throw new StateError(ErrorCodes.CORRUPTED, `${file} holds git conflict markers: a merge was left unfinished`, {
      file,
      cause: error,
      data: { unmerged: true },
      hint: `redo its merge by record: git checkout --merge -- ${file} (with the deploystate merge driver configured)`,
    });
  }
}

function corrupted(file: string, message: string): StateError {
  return new StateError(ErrorCodes.CORRUPTED, `${file}: ${message}`, {
    file,
    hint: 'fix the file by hand or restore a backup (JsonFileStore.restore)',
  });
}

/** The JSON pointer of a record's entry: named only in findings, so made only for one. */
const recordPointer = (name: string): string => `/records/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * Reads a state file's text. Throws CORRUPTED (with line and column) for text that is not a JSON
 * object, UNSUPPORTED_SCHEMA_VERSION for a newer version, CHAIN_MISMATCH when its chainId is not
 * the chain the file name belongs to. Entries of `records` that are not records are kept aside.
 */
export function parseStateFile(text: string, file: string, chainId: number): StateFileModel {
  const bom = text.startsWith(BOM);
  const { value: parsed, duplicate, plain } = parseUnmerged(bom ? text.slice(1) : text, file);
  if (!isPlainObject(parsed))
    throw corrupted(file, `top level must be a JSON object, got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  if (Object.hasOwn(parsed, CONFLICTS_KEY)) {
    throw new StateError(ErrorCodes.CORRUPTED, `${file} holds unresolved merge conflicts ("${CONFLICTS_KEY}")`, {
      file,
      data: { unmerged: true },
      hint: `finish the merge: deploystate merge-resolve ${file}`,
    });
  }
  let version = 0;
  if (Object.hasOwn(parsed, 'schemaVersion')) {
    const declared = parsed.schemaVersion;
    if (typeof declared !== 'number' || !Number.isSafeInteger(declared) || declared < 0) {
      throw corrupted(file, `schemaVersion must be a non-negative integer, got ${stringifyLossless(declared)}`);
    }
    if (declared > SCHEMA_VERSION) {
      throw new StateError(
        ErrorCodes.UNSUPPORTED_SCHEMA_VERSION,
        `${file}: schemaVersion ${declared} is newer than ${SCHEMA_VERSION}, the newest this version understands`,
        {
          file,
          hint: 'upgrade @deploystate/backend-json',
        },
      );
    }
    version = declared;
  }
  if (Object.hasOwn(parsed, 'chainId') && parsed.chainId !== chainId) {
    throw new StateError(
      ErrorCodes.CHAIN_MISMATCH,
      `${file}: chainId ${stringifyLossless(parsed.chainId)} disagrees with the file name, which belongs to chain ${chainId}`,
      { file },
    );
  }
  const records = new Map<string, DeploymentRecord>();
  const invalid = new Map<string, InvalidRecordEntry>();
  const section = Object.hasOwn(parsed, 'records') ? parsed.records : undefined;
  if (section !== undefined) {
    if (!isPlainObject(section)) throw corrupted(file, '"records" must be an object of records keyed by contractName');
    for (const name of Object.keys(section)) {
      const key = `${chainId}-${name}`;
      const value = section[name];
      // A name no store can key (a lone surrogate): an entry that is not a record, reported as such.
      const lone = loneSurrogateAt(name);
      if (lone !== -1) {
        invalid.set(name, {
          name,
          value,
          finding: finding('INVALID_KEY', `${file}: records[${JSON.stringify(name)}]: the name holds a lone UTF-16 surrogate at index ${lone}`, {
            key,
            file,
            chainId,
            contractName: name,
            pointer: recordPointer(name),
          }),
        });
        continue;
      }
      try {
        const record = assertDeploymentRecord(value, key);
        if (record.chainId !== chainId || record.contractName !== name) {
          invalid.set(name, {
            name,
            value,
            finding: finding('PLACE_MISMATCH', `${file}: records[${JSON.stringify(name)}] holds ${record.chainId}-${record.contractName}`, {
              key,
              file,
              chainId,
              contractName: name,
              pointer: recordPointer(name),
            }),
          });
        } else {
          records.set(name, record);
        }
      } catch (error) {
        invalid.set(name, {
          name,
          value,
          finding: { ...invalidValueFinding(key, error, 'INVALID_RECORD'), file, chainId, contractName: name },
        });
      }
    }
  }
  return { chainId, version, document: parsed, records, invalid, ...(bom && { bom }), ...(duplicate && { duplicate }), ...(plain && { plain }) };
}

export interface RenderOptions {
  network: string;
  /** Names whose legacy `contracts` / `implementationHashes` entries follow their record. */
  mirror?: Iterable<string>;
  /**
   * Printed text of records already rendered, keyed by the (never mutated) record object: a write
   * of one record to a file of many prints only that record. The bytes are the same either way.
   */
  recordTexts?: WeakMap<object, string>;
}

// Where `records` goes in the printed document; replaced by the records block printed entry by entry.
const RECORDS_PLACEHOLDER = `\u0000deploystate-records-${Math.random().toString(36).slice(2)}`;
// `records` sits at depth 1, so each entry's lines are indented by two levels of two spaces.
const ENTRY_INDENT = '    ';

/** `"name": <value>` as printed inside `records`; a record's (always under its own contractName) is cached. */
export function printRecordsEntry(name: string, value: unknown, cache: WeakMap<object, string> | undefined, isRecord: boolean): string {
  const cacheable = isRecord && cache !== undefined && (value as DeploymentRecord).contractName === name;
  const cached = cacheable ? cache.get(value as object) : undefined;
  if (cached !== undefined) return cached;
  const ordered = isRecord && !inRecordOrder(value as DeploymentRecord) ? orderRecordFields(value as DeploymentRecord) : value;
  // Printed where it sits in a file, two levels deep, so its lines come indented from the print itself.
  const wrapped = stringifyLossless({ a: { [name]: ordered } }, 2);
  const text =
    wrapped.startsWith(ENTRY_HEAD) && wrapped.endsWith(ENTRY_TAIL)
      ? wrapped.slice(ENTRY_HEAD.length, wrapped.length - ENTRY_TAIL.length)
      : // JSON strings hold no raw newline, so indenting after each newline indents exactly the lines.
        `${JSON.stringify(name)}: ${stringifyLossless(ordered, 2).replace(/\n/g, `\n${ENTRY_INDENT}`)}`;
  if (cacheable) cache.set(value as object, text);
  return text;
}

// How JSON.stringify, 2-space indent, prints `{ a: { [name]: value } }` around the entry.
const ENTRY_HEAD = `{\n  "a": {\n${ENTRY_INDENT}`;
const ENTRY_TAIL = '\n  }\n}';

/** The printed `records` object from its entries' texts, in order. */
export function recordsBlock(entries: readonly string[]): string {
  return entries.length === 0 ? '{}' : `{\n${ENTRY_INDENT}${entries.join(`,\n${ENTRY_INDENT}`)}\n  }`;
}

// How JSON.stringify, 2-space indent, prints `{ a: [...records] }`: each record at depth 2, as a
// state file's records block holds its entries (see recordsBlock), less each entry's name.
const ITEMS_HEAD = `{\n  "a": [\n${ENTRY_INDENT}`;
const ITEMS_TAIL = '\n  ]\n}';
const ITEM_SEPARATOR = `,\n${ENTRY_INDENT}`;
// A record's closing brace: the only line at an entry's indent that starts with one (strings hold no newline).
const ITEM_END = `\n${ENTRY_INDENT}}`;

/**
 * The entries of `records` (each under its contractName, in the order given) printed and joined as
 * recordsBlock joins them: the text of printRecordsEntry for each, joined, from one print of them
 * all (about half the cost of a print per record). A print it cannot take apart as expected is
 * printed record by record instead.
 */
export function printRecordEntries(records: readonly DeploymentRecord[]): string {
  const byRecord = (): string => records.map((r) => printRecordsEntry(r.contractName, r, undefined, true)).join(ITEM_SEPARATOR);
  if (records.length === 0) return '';
  const text = stringifyLossless({ a: records.map((r) => (inRecordOrder(r) ? r : orderRecordFields(r))) }, 2);
  let out = '';
  let at = ITEMS_HEAD.length;
  for (let i = 0; i < records.length; i++) {
    if (i > 0) {
      if (!text.startsWith(ITEM_SEPARATOR, at)) return byRecord();
      at += ITEM_SEPARATOR.length;
    }
    let end = at + 2;
    if (!text.startsWith('{}', at)) {
      const close = text.indexOf(ITEM_END, at);
      if (text.charCodeAt(at) !== 123 || close === -1) return byRecord();
      end = close + ITEM_END.length;
    }
    out += `${i > 0 ? ITEM_SEPARATOR : ''}${JSON.stringify((records[i] as DeploymentRecord).contractName)}: ${text.slice(at, end)}`;
    at = end;
  }
  return at === text.length - ITEMS_TAIL.length ? out : byRecord();
}

// How JSON.stringify, 2-space indent, prints `{ a: {...entries} }`: the entries object at depth 1,
// as `records` sits in a state file, so what lies between is recordsBlock of their texts.
const BLOCK_HEAD = Buffer.from('{\n  "a": {\n    ');
const BLOCK_TAIL = Buffer.from('\n  }\n}');
// Where the next entry begins: the only comma that ends a line at an entry's indent (deeper lines
// are indented further, and strings hold no newline), before the next name.
export const NEXT_ENTRY = Buffer.from(`,\n${ENTRY_INDENT}"`);
const QUOTE = 0x22;

/**
 * The model's entries under `names` (in that order) as recordsBlock prints their printModelEntry
 * texts, from one print of them all: `bytes` (the block, a buffer nothing else holds) and where
 * each entry's text lies in it (`starts[i]` to `ends[i]`). On a file's first write, which prints
 * every entry, a print per entry costs about twice as much. Undefined when the print cannot be
 * taken apart as expected (a name that could be an array index, which an object lists first, or
 * an entry a print leaves out): the caller prints entry by entry.
 */
export function printEntriesBlock(
  model: Pick<StateFileModel, 'records' | 'invalid'>,
  names: readonly string[],
): { bytes: Buffer; starts: number[]; ends: number[] } | undefined {
  if (names.length === 0) return undefined;
  const entries: Record<string, unknown> = {};
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code >= 0x30 && code <= 0x39) return undefined;
    const record = model.records.get(name);
    setOwnProperty(entries, name, record ? (inRecordOrder(record) ? record : orderRecordFields(record)) : model.invalid.get(name)?.value);
  }
  const printed = Buffer.from(stringifyLossless({ a: entries }, 2));
  const first = BLOCK_HEAD.length;
  const last = printed.length - BLOCK_TAIL.length;
  if (last < first || !printed.subarray(0, first).equals(BLOCK_HEAD) || !printed.subarray(last).equals(BLOCK_TAIL)) return undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  let at = first;
  for (let i = 0; i < names.length; i++) {
    const next = printed.indexOf(NEXT_ENTRY, at);
    const end = next === -1 || next > last ? last : next;
    if (printed[at] !== QUOTE || (end === last) !== (i === names.length - 1)) return undefined;
    starts.push(at - first + BLOCK_OPEN_LENGTH);
    ends.push(end - first + BLOCK_OPEN_LENGTH);
    at = end + NEXT_ENTRY.length - 1;
  }
  // The block as recordsBlock prints it: from the brace that opens the entries to the one that closes them.
  const open = first - BLOCK_OPEN_LENGTH;
  return { bytes: printed.subarray(open, last + BLOCK_CLOSE_LENGTH), starts, ends };
}

// recordsBlock's `{\n    ` before the first entry and `\n  }` after the last.
const BLOCK_OPEN_LENGTH = 1 + 1 + ENTRY_INDENT.length;
const BLOCK_CLOSE_LENGTH = 4;

/** Whether a plain record's keys are known fields in RECORD_FIELDS order and nothing else: orderRecordFields would give the same print. */
function inRecordOrder(record: DeploymentRecord): boolean {
  if (Object.getPrototypeOf(record) !== Object.prototype) return false;
  let at = 0;
  for (const key of Object.keys(record)) {
    while (at < RECORD_FIELDS.length && RECORD_FIELDS[at] !== key) at++;
    if (at === RECORD_FIELDS.length) return false;
    at++;
  }
  return true;
}

/**
 * The document around `records`: the file's text is `head + recordsBlock(entries) + tail`.
 * `document` is the top-level object these were printed from (owned keys set, legacy sections
 * mirrored); its `records` value is not kept here (the model's records map is the truth).
 */
export interface StateFileSkeleton {
  head: string;
  tail: string;
  document: Record<string, unknown>;
}

/** Prints every top-level key but `records`, whose place is marked; see StateFileSkeleton. */
export function renderSkeleton(model: StateFileModel, options: RenderOptions): StateFileSkeleton {
  const source = model.document;
  const out: Record<string, unknown> = {};
  if (!Object.hasOwn(source, '$schema')) out.$schema = SCHEMA_URL;
  if (!Object.hasOwn(source, 'schemaVersion')) out.schemaVersion = SCHEMA_VERSION;
  const mirrored = mirrorLegacySections(source, model.records, options.mirror ?? []);
  for (const key of Object.keys(source)) {
    switch (key) {
      case '$schema':
        out.$schema = SCHEMA_URL;
        break;
      case 'schemaVersion':
        out.schemaVersion = SCHEMA_VERSION;
        break;
      case 'network': {
        // A file moved from chain-<id>.json takes the registry's name; any other value is the user's.
        const value = source.network;
        out.network = value === `chain-${model.chainId}` ? options.network : value;
        break;
      }
      case 'records':
        out.records = RECORDS_PLACEHOLDER;
        break;
      default:
        setOwnProperty(out, key, Object.hasOwn(mirrored, key) ? mirrored[key] : source[key]);
    }
  }
  if (!Object.hasOwn(out, 'network')) out.network = options.network;
  if (!Object.hasOwn(out, 'chainId')) out.chainId = model.chainId;
  if (!Object.hasOwn(out, 'records')) out.records = RECORDS_PLACEHOLDER;
  const printed = `${model.bom ? BOM : ''}${stringifyLossless(out, 2)}\n`;
  // The placeholder is a string no JSON value of the document can print (it holds a NUL and a random part).
  const at = printed.indexOf(JSON.stringify(RECORDS_PLACEHOLDER));
  out.records = null;
  return { head: printed.slice(0, at), tail: printed.slice(at + JSON.stringify(RECORDS_PLACEHOLDER).length), document: out };
}

/** Names of records and of entries that are not records, in the order the file lists them. */
export function sortedEntryNames(model: Pick<StateFileModel, 'records' | 'invalid'>): string[] {
  return [...model.records.keys(), ...model.invalid.keys()].sort(compareKeys);
}

/** The printed entry of one name of the model, or undefined when the model has no entry by that name. */
export function printModelEntry(model: Pick<StateFileModel, 'records' | 'invalid'>, name: string, cache?: WeakMap<object, string>): string | undefined {
  const record = model.records.get(name);
  if (record) return printRecordsEntry(name, record, cache, true);
  const invalid = model.invalid.get(name);
  return invalid ? printRecordsEntry(name, invalid.value, cache, false) : undefined;
}

/** A rendered file, with what a later write needs to change it by the record (see record-splice.ts). */
export interface RenderedStateFile {
  text: string;
  document: Record<string, unknown>;
  skeleton: StateFileSkeleton;
  /** Entry names in file order. */
  names: string[];
  /** Each name's printed entry. */
  entries: Map<string, string>;
}

/**
 * The file's bytes: owned keys set, records sorted by name with fields in record order, 2-space
 * indent and a trailing newline. A legacy file gains `$schema` and `schemaVersion` in front and
 * `records` at the end; every other key keeps its place and value.
 */
export function renderStateFile(model: StateFileModel, options: RenderOptions): RenderedStateFile {
  const skeleton = renderSkeleton(model, options);
  const records: Record<string, unknown> = {};
  const names = sortedEntryNames(model);
  const entries = new Map<string, string>();
  const texts: string[] = [];
  for (const name of names) {
    setOwnProperty(records, name, model.records.get(name) ?? model.invalid.get(name)?.value);
    const text = printModelEntry(model, name, options.recordTexts) as string;
    entries.set(name, text);
    texts.push(text);
  }
  const text = skeleton.head + recordsBlock(texts) + skeleton.tail;
  const document: Record<string, unknown> = {};
  for (const key of Object.keys(skeleton.document)) setOwnProperty(document, key, key === 'records' ? records : skeleton.document[key]);
  return { text, document, skeleton, names, entries };
}

/** A legacy section entry that follows a record: `section[name]` becomes `value`. */
export interface MirroredEntry {
  section: 'contracts' | 'implementationHashes';
  name: string;
  value: unknown;
}

/**
 * The legacy `contracts` / `implementationHashes` entries that follow the named records, for the
 * names those sections already list only (the sections themselves are not copied).
 */
export function mirroredEntries(source: Record<string, unknown>, records: Map<string, DeploymentRecord>, names: Iterable<string>): MirroredEntry[] {
  const contracts = isPlainObject(source.contracts) ? source.contracts : undefined;
  const hashes = isPlainObject(source.implementationHashes) ? source.implementationHashes : undefined;
  const out: MirroredEntry[] = [];
  if (!contracts && !hashes) return out;
  for (const name of names) {
    const record = records.get(name);
    if (!record) continue;
    const entry = contracts && Object.hasOwn(contracts, name) ? contracts[name] : undefined;
    if (isPlainObject(entry)) {
      const next: Record<string, unknown> = { ...entry };
      if (typeof record.proxyAddress === 'string' && record.proxyAddress !== '') next.proxy = record.proxyAddress;
      next.implementation = record.address;
      out.push({ section: 'contracts', name, value: next });
    }
    if (hashes && Object.hasOwn(hashes, name) && typeof record.implementationHash === 'string' && record.implementationHash !== '') {
      out.push({ section: 'implementationHashes', name, value: record.implementationHash });
    }
  }
  return out;
}

/** New sections (copies of the source's, which are left as they are) with the entries set. */
export function withMirroredEntries(source: Record<string, unknown>, entries: readonly MirroredEntry[]): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { section, name, value } of entries) {
    // A spread defines own properties (a `__proto__` key stays a key), in the source's order.
    out[section] ??= { ...(source[section] as Record<string, unknown>) };
    setOwnProperty(out[section], name, value);
  }
  return out;
}

/** New `contracts` / `implementationHashes` sections, for the names they already list only. */
function mirrorLegacySections(source: Record<string, unknown>, records: Map<string, DeploymentRecord>, names: Iterable<string>): Record<string, unknown> {
  return withMirroredEntries(source, mirroredEntries(source, records, names));
}

/**
 * What a state file that cannot be read at all is, as a finding (the store's `iterate` reports it
 * so, `status` and the rollback name it so): UNSUPPORTED_SCHEMA_VERSION, CHAIN_MISMATCH, NOT_A_FILE,
 * EMPTY_FILE, MERGE_CONFLICT (git's markers or the merge driver's conflicts: finished, not
 * repaired), NOT_JSON (with its line and column), else SCHEMA_VIOLATION (the document's shape).
 * `error` is what reading or parsing the file threw.
 */
/**
 * The codes a state file's read throws for what the file holds or is (stateFileProblem's findings).
 * Anything else (PERMISSION_DENIED, an I/O error) says nothing of the file: it may be sound, and a
 * finding would send the operator to restore a file that needs no restore.
 */
const CONTENT_PROBLEMS: ReadonlySet<string> = new Set([
  ErrorCodes.CORRUPTED,
  ErrorCodes.DUPLICATE_KEY,
  ErrorCodes.UNSUPPORTED_SCHEMA_VERSION,
  ErrorCodes.CHAIN_MISMATCH,
  ErrorCodes.NOT_A_FILE,
]);

/** Whether a state file's read failed on what the file holds (a finding), not on reaching it (an error to pass on). */
export function isFileContentProblem(error: StateError): boolean {
  return CONTENT_PROBLEMS.has(error.code);
}

export function stateFileProblem(error: StateError, chainId: number, file: string): Finding {
  const where = { file, chainId };
  if (error.code === ErrorCodes.UNSUPPORTED_SCHEMA_VERSION) return finding('UNSUPPORTED_SCHEMA_VERSION', error.message, where);
  if (error.code === ErrorCodes.CHAIN_MISMATCH) return finding('CHAIN_MISMATCH', error.message, where);
  if (error.code === ErrorCodes.NOT_A_FILE) return finding('NOT_A_FILE', error.message, where);
  if (error.data?.['empty'] === true) return finding('EMPTY_FILE', error.message, where);
  if (error.data?.['unmerged'] === true) return finding('MERGE_CONFLICT', error.message, where);
  if (error.position) return finding('NOT_JSON', error.message, { ...where, line: error.position.line, column: error.position.column });
  return finding('SCHEMA_VIOLATION', error.message, where);
}
