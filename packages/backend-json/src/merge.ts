// Three-way merge of one network's state file, for git's merge driver: records by name (and a
// record changed on both sides by field), every other top-level key by the same rules, the legacy
// `contracts` / `implementationHashes` sections by entry. A true conflict keeps both versions in a
// `$conflicts` section of a file that still parses; no record is ever a mix of two records.
import {
  ErrorCodes,
  NetworkRegistry,
  StateError,
  assertDeploymentRecord,
  canonicalEncode,
  compareKeys,
  duplicateKeyError,
  keepingFileStyle,
  parseLossless,
  parseLosslessDocument,
  setOwnProperty,
  stringifyLossless,
  withoutByteOrderMark,
  type DuplicateKey,
} from '@deploystate/core';
import { CONFLICTS_KEY, JSON_ONLY_STAMP, parseStateFile, renderStateFile } from './file-format.js';

export { CONFLICTS_KEY };

/** Sections merged entry by entry (records by name; the legacy mirrors of records by name). */
const SECTIONS = ['records', 'contracts', 'implementationHashes'] as const;
export type ConflictSection = (typeof SECTIONS)[number] | 'keys';

export type Side = 'base' | 'ours' | 'theirs';

/** One conflict: where it is and each side's value (a side without the entry has no property). */
export interface MergeConflict {
  section: ConflictSection;
  /** The record's contractName, the legacy entry's name, or the top-level key. */
  name: string;
  base?: unknown;
  ours?: unknown;
  theirs?: unknown;
}

export interface MergeResult {
  /** The merged file in the store's format; with conflicts, ours in place and both versions in `$conflicts`. */
  text: string;
  chainId: number;
  conflicts: MergeConflict[];
  /** Names of records taken from theirs, merged by field, or conflicting: what the merge decided. */
  records: { fromTheirs: string[]; mergedByField: string[]; conflicting: string[] };
}

export interface MergeOptions {
  /** The file's path in the repository (git's %P): names it in errors and gives the chain when no side does. */
  file: string;
  registry?: NetworkRegistry;
}

type Doc = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);
const same = (a: unknown, b: unknown): boolean =>
  a === undefined || b === undefined ? a === b : canonicalEncode(a) === canonicalEncode(b);
const own = (doc: Doc | undefined, key: string): unknown => (doc && Object.hasOwn(doc, key) ? doc[key] : undefined);

type Pick3 = { value: unknown; from: 'ours' | 'theirs' } | { conflict: true };

/** The three-way rule: unchanged on one side takes the other; the same change on both is kept. */
function pick3(base: unknown, ours: unknown, theirs: unknown): Pick3 {
  if (same(ours, theirs)) return { value: ours, from: 'ours' };
  if (same(base, ours)) return { value: theirs, from: 'theirs' };
  if (same(base, theirs)) return { value: ours, from: 'ours' };
  return { conflict: true };
}

/** One side as read, and the first key it names twice in an object (mergeStateFiles refuses it). */
function readSide(text: string, side: Side, file: string): { doc: Doc | undefined; duplicate?: DuplicateKey } {
  // git gives an empty ancestor when both sides added the file.
  if (text.trim() === '') return { doc: undefined };
  // A byte-order mark (a Windows editor's) is read past, as the store reads it; the merge keeps ours'.
  const { value: parsed, duplicate } = parseLosslessDocument(withoutByteOrderMark(text), { source: `${file} (${side})` });
  if (!isPlainObject(parsed)) throw new StateError(ErrorCodes.CORRUPTED, `${file} (${side}): top level is not a JSON object`, { file });
  if (Object.hasOwn(parsed, CONFLICTS_KEY))
    throw new StateError(ErrorCodes.CORRUPTED, `${file} (${side}) still holds unresolved merge conflicts`, {
      file,
      hint: `finish that merge first: deploystate merge-resolve ${file}`,
    });
  return { doc: parsed, ...(duplicate && { duplicate }) };
}

/**
 * A side with a key named twice would lose one of its values in any merge: DUPLICATE_KEY, naming
 * the file, the side, the key and its line (the CLI's driver then merges by line and stops).
 */
function parseSide(text: string, side: Side, file: string): Doc | undefined {
  const { doc, duplicate } = readSide(text, side, file);
  if (duplicate)
    throw duplicateKeyError(file, duplicate, {
      source: `${file} (${side})`,
      outcome: 'not merged by record, as that would drop one value',
      hint: 'remove one of the two entries by hand on that side (or, in a git merge, in the file the driver left merged by line)',
    });
  return doc;
}

/** The chain of a state file: the chainId any side declares, else the one its name gives; undefined when it is not a state file. */
function chainOf(docs: Array<Doc | undefined>, file: string, registry: NetworkRegistry): number | undefined {
  const declared = new Set(
    docs
      .map((d) => own(d, 'chainId'))
      .filter((c) => c !== undefined)
      .map((c) => canonicalEncode(c)),
  );
  if (declared.size > 1) throw new StateError(ErrorCodes.CHAIN_MISMATCH, `${file}: the sides declare different chainIds`, { file });
  const first = docs.map((d) => own(d, 'chainId')).find((c) => c !== undefined);
  const byName = registry.chainIdOfFile(file.slice(file.lastIndexOf('/') + 1));
  const ownsRecords = docs.some((d) => own(d, 'records') !== undefined || own(d, 'schemaVersion') !== undefined);
  if (ownsRecords) return typeof first === 'number' && Number.isSafeInteger(first) ? first : byName;
  // A file without records is a (legacy) state file only under its chain's registry name.
  return byName !== undefined && (first === undefined || first === byName) ? byName : undefined;
}

/** Whether three texts are a state file this merge understands (else the caller falls back to a line merge). */
export function isStateFileMerge(texts: { base: string; ours: string; theirs: string }, options: MergeOptions): boolean {
  try {
    // A side naming a key twice is still a state file here: mergeStateFiles then says DUPLICATE_KEY.
    const docs = (['base', 'ours', 'theirs'] as const).map((side) => readSide(texts[side], side, options.file).doc);
    return chainOf(docs, options.file, options.registry ?? new NetworkRegistry()) !== undefined;
  } catch {
    return false;
  }
}

/** A record changed on both sides: field by field, kept only if the result is still a record. */
function mergeRecordFields(name: string, base: unknown, ours: unknown, theirs: unknown, chainId: number): Doc | undefined {
  if (!isPlainObject(base) || !isPlainObject(ours) || !isPlainObject(theirs)) return undefined;
  const out: Doc = {};
  const fields = [...Object.keys(ours), ...Object.keys(theirs).filter((f) => !Object.hasOwn(ours, f))];
  for (const field of new Set([...fields, ...Object.keys(base)])) {
    const picked = pick3(own(base, field), own(ours, field), own(theirs, field));
    if ('conflict' in picked) return undefined;
    if (picked.value !== undefined) setOwnProperty(out, field, picked.value);
  }
  try {
    const record = assertDeploymentRecord(out, `${chainId}-${name}`);
    return record.contractName === name && record.chainId === chainId ? out : undefined;
  } catch {
    return undefined;
  }
}

function conflictOf(section: ConflictSection, name: string, base: unknown, ours: unknown, theirs: unknown): MergeConflict {
  return {
    section,
    name,
    ...(base !== undefined && { base }),
    ...(ours !== undefined && { ours }),
    ...(theirs !== undefined && { theirs }),
  };
}

/** Names of an object section in the order ours, then theirs, then base lists them. */
function namesOf(...sections: unknown[]): string[] {
  const names = new Set<string>();
  for (const section of sections) if (isPlainObject(section)) for (const name of Object.keys(section)) names.add(name);
  return [...names];
}

/**
 * Merges base, ours and theirs of one state file. Throws CORRUPTED when a side does not parse or
 * holds unresolved conflicts, DUPLICATE_KEY when a side names a key twice (no value is ever dropped),
 * CHAIN_MISMATCH when the sides disagree on the chain, INVALID_ARGUMENT when it is not a state file
 * (see isStateFileMerge).
 */
export function mergeStateFiles(texts: { base: string; ours: string; theirs: string }, options: MergeOptions): MergeResult {
  const registry = options.registry ?? new NetworkRegistry();
  const file = options.file;
  const base = parseSide(texts.base, 'base', file);
  const ours = parseSide(texts.ours, 'ours', file);
  const theirs = parseSide(texts.theirs, 'theirs', file);
  const chainId = chainOf([base, ours, theirs], file, registry);
  if (chainId === undefined)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${file} is not a deployment state file; merge it as text`, { file });

  const conflicts: MergeConflict[] = [];
  const decided = { fromTheirs: [] as string[], mergedByField: [] as string[], conflicting: [] as string[] };
  const merged: Doc = {};
  const sections: Record<string, Doc> = {};
  for (const section of SECTIONS) {
    const [b, o, t] = [own(base, section), own(ours, section), own(theirs, section)];
    if (!isPlainObject(o) && !isPlainObject(t)) continue;
    const out: Doc = {};
    for (const name of namesOf(o, t, b)) {
      const [bv, ov, tv] = [own(b as Doc, name), own(o as Doc, name), own(t as Doc, name)];
      const picked = pick3(bv, ov, tv);
      let value: unknown;
      if (!('conflict' in picked)) {
        value = picked.value;
        if (section === 'records' && picked.from === 'theirs' && !same(ov, tv)) decided.fromTheirs.push(name);
      } else {
        const byField = section === 'records' ? mergeRecordFields(name, bv, ov, tv, chainId) : undefined;
        if (byField) {
          value = byField;
          decided.mergedByField.push(name);
        } else {
          // Ours stays in place, whole; both versions go to the conflict section.
          value = ov;
          conflicts.push(conflictOf(section, name, bv, ov, tv));
          if (section === 'records') decided.conflicting.push(name);
        }
      }
      if (value !== undefined) setOwnProperty(out, name, value);
    }
    sections[section] = out;
  }

  // Every other top-level key, by the same rules, in ours' order then theirs'.
  for (const key of namesOf(ours, theirs, base)) {
    if ((SECTIONS as readonly string[]).includes(key) && Object.hasOwn(sections, key)) {
      setOwnProperty(merged, key, sections[key]);
      continue;
    }
    const [bv, ov, tv] = [own(base, key), own(ours, key), own(theirs, key)];
    // Each side's json-only writes follow its cut-over: the merged file holds both, so the later one.
    const picked = key === JSON_ONLY_STAMP && typeof ov === 'number' && typeof tv === 'number' ? { value: Math.max(ov, tv) } : pick3(bv, ov, tv);
    if ('conflict' in picked) {
      conflicts.push(conflictOf('keys', key, bv, ov, tv));
      if (ov !== undefined) setOwnProperty(merged, key, ov);
    } else if (picked.value !== undefined) setOwnProperty(merged, key, picked.value);
  }

  return {
    text: render(merged, chainId, file, registry, [...decided.fromTheirs, ...decided.mergedByField], conflicts, texts.ours),
    chainId,
    conflicts,
    records: decided,
  };
}

/** The conflict section as stored: by section, then name, each side's value. */
function conflictSection(conflicts: readonly MergeConflict[]): Doc {
  const out: Doc = {};
  for (const c of [...conflicts].sort((a, b) => compareKeys(a.section, b.section) || compareKeys(a.name, b.name))) {
    const section = (Object.hasOwn(out, c.section) ? out[c.section] : (out[c.section] = {})) as Doc;
    const sides: Doc = {};
    for (const side of ['base', 'ours', 'theirs'] as const) if (Object.hasOwn(c, side)) sides[side] = c[side];
    setOwnProperty(section, c.name, sides);
  }
  return out;
}

/** Prints a merged document in the store's format, in the style of `previous` (our side's file: indent, line ends, byte-order mark), `$conflicts` first when there are any. */
function render(
  document: Doc,
  chainId: number,
  file: string,
  registry: NetworkRegistry,
  mirror: readonly string[],
  conflicts: readonly MergeConflict[],
  previous: string,
): string {
  const doc: Doc = {};
  if (conflicts.length > 0) doc[CONFLICTS_KEY] = conflictSection(conflicts);
  for (const key of Object.keys(document)) setOwnProperty(doc, key, document[key]);
  // parseStateFile refuses a conflict section: parse without it, then put it back in front.
  const { [CONFLICTS_KEY]: section, ...rest } = doc;
  const model = parseStateFile(stringifyLossless(rest), file, chainId);
  const printed = renderStateFile(model, { network: registry.get(chainId).name, mirror }).text;
  const body = section === undefined ? undefined : stringifyLossless(section, 2).replace(/\n/g, '\n  ');
  const text = body === undefined ? printed : printed.replace(/^\{\n/, () => `{\n  ${JSON.stringify(CONFLICTS_KEY)}: ${body},\n`);
  return keepingFileStyle(previous, text);
}

/** The unresolved conflicts of a merged file (none when it has no conflict section). */
export function readConflicts(text: string, file: string): MergeConflict[] {
  const parsed = parseLossless(withoutByteOrderMark(text), { source: file });
  const section = isPlainObject(parsed) ? own(parsed, CONFLICTS_KEY) : undefined;
  if (section === undefined) return [];
  if (!isPlainObject(section)) throw new StateError(ErrorCodes.CORRUPTED, `${file}: "${CONFLICTS_KEY}" is not an object`, { file });
  const out: MergeConflict[] = [];
  for (const [sectionName, entries] of Object.entries(section)) {
    if (!isPlainObject(entries)) continue;
    for (const [name, sides] of Object.entries(entries)) {
      if (!isPlainObject(sides)) continue;
      out.push(conflictOf(sectionName as ConflictSection, name, own(sides, 'base'), own(sides, 'ours'), own(sides, 'theirs')));
    }
  }
  return out;
}

/**
 * Resolves conflicts of a merged file by taking one side per conflict: `picks` maps a record or key
 * name to a side (a record's pick also settles its legacy mirror entries), `all` is the side for the
 * rest. Returns the new text and the conflicts still open.
 */
export function resolveConflicts(
  text: string,
  options: MergeOptions & { picks?: ReadonlyMap<string, Side>; all?: Side },
): { text: string; resolved: Array<MergeConflict & { took: Side }>; open: MergeConflict[] } {
  const registry = options.registry ?? new NetworkRegistry();
  const file = options.file;
  const { value: parsed, duplicate } = parseLosslessDocument(withoutByteOrderMark(text), { source: file });
  if (duplicate) throw duplicateKeyError(file, duplicate);
  if (!isPlainObject(parsed)) throw new StateError(ErrorCodes.CORRUPTED, `${file}: top level is not a JSON object`, { file });
  const conflicts = readConflicts(text, file);
  const { [CONFLICTS_KEY]: _section, ...document } = parsed;
  const chainId = chainOf([document], file, registry);
  if (chainId === undefined) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${file} is not a deployment state file`, { file });
  for (const [name] of options.picks ?? [])
    if (!conflicts.some((c) => c.name === name))
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${file} has no conflict named ${name}`, {
        file,
        hint: `conflicts: ${conflicts.map((c) => c.name).join(', ') || 'none'}`,
      });
  const resolved: Array<MergeConflict & { took: Side }> = [];
  const open: MergeConflict[] = [];
  const mirror: string[] = [];
  for (const c of conflicts) {
    const took = options.picks?.get(c.name) ?? options.all;
    if (took === undefined) {
      open.push(c);
      continue;
    }
    const value = c[took];
    if (c.section === 'keys') {
      if (value === undefined) delete document[c.name];
      else setOwnProperty(document, c.name, value);
    } else {
      const section = isPlainObject(document[c.section]) ? (document[c.section] as Doc) : ((document[c.section] = {}) as Doc);
      if (value === undefined) delete section[c.name];
      else setOwnProperty(section, c.name, value);
      if (c.section === 'records') mirror.push(c.name);
    }
    resolved.push({ ...c, took });
  }
  return { text: render(document, chainId, file, registry, mirror, open, text), resolved, open };
}
