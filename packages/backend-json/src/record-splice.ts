// A write that costs the change, not the file: the store keeps each record's printed bytes beside
// the file it wrote, and a later write prints only the records it changes and splices them in.
// The bytes equal a full render of the same content (tested), so the file stays deterministic.
import { compareKeys, setOwnProperty } from '@deploystate/core';
import {
  mirroredEntries,
  NEXT_ENTRY,
  printEntriesBlock,
  printRecordsEntry,
  printModelEntry,
  renderSkeleton,
  renderStateFile,
  sortedEntryNames,
  withMirroredEntries,
  type MirroredEntry,
  type RenderOptions,
  type StateFileModel,
} from './file-format.js';

/**
 * How bytes this store printed are made: `head`, then the `records` object with each entry's
 * printed bytes in `names` order (as file-format's recordsBlock prints it), then `tail`.
 * `document` is the top-level object head and tail were printed from.
 */
export interface StateFileLayout {
  head: Buffer;
  tail: Buffer;
  document: Record<string, unknown>;
  names: readonly string[];
  /** Each entry's printed bytes: buffers of their own (or views into one of their own), never views into `bytes` (which a later write may reuse, see SpliceRoom). */
  entries: ReadonlyMap<string, Buffer>;
  /** The whole text these pieces make, when kept: a write that only replaces entries copies the runs around them from it. */
  bytes?: Buffer;
}

/**
 * What a write lends its splice, so a put does not pay for copies the size of the file: the buffer
 * the new text goes into, and the layout spliced into as its own to change (its entries are
 * updated in place; the caller drops it unless the write succeeds).
 */
export interface SpliceRoom {
  /** A buffer of exactly `size` bytes that nothing else holds. */
  allocate(size: number): Buffer;
}

/** `changed: false` when no entry and no other key would change: the file is left as it is. */
export type SplicedFile = { changed: false } | { changed: true; bytes: Buffer; layout: StateFileLayout };

/**
 * A new text as the pieces it is made of (runs of the text it replaces and the entries printed
 * anew), which a write can hand to the file as they are: only the file's bytes must exist before
 * the temp file's sync, and the one buffer the cache keeps, `bytes()`, is put together while it runs.
 * The pieces read the replaced version's bytes: they stay as they are until `bytes()` has run.
 */
export interface PendingText {
  readonly size: number;
  readonly pieces: readonly Uint8Array[];
  /** The whole text in one buffer (made on the first call; the layout returned with it then holds it too). */
  bytes(): Buffer;
}

/** A text already whole. */
export function wholeText(bytes: Buffer): PendingText {
  return { size: bytes.length, pieces: [bytes], bytes: () => bytes };
}

// recordsBlock's punctuation (2-space indent, `records` at depth 1).
const OPEN = Buffer.from('{\n    ');
const BETWEEN = Buffer.from(',\n    ');
const CLOSE = Buffer.from('\n  }');
const EMPTY = Buffer.from('{}');

/** A full render, kept as a layout for the writes that follow. */
export function renderWithLayout(model: StateFileModel, options: RenderOptions): { bytes: Buffer; layout: StateFileLayout } {
  return (options.recordTexts === undefined ? renderInOnePrint(model, options) : undefined) ?? renderByEntry(model, options);
}

/**
 * renderWithLayout from one print of every entry (printEntriesBlock): what a file's first write in
 * a process costs, as it renders the file whole. The entries are views into the block's own buffer,
 * which nothing else holds or reuses. Undefined where that print does not apply.
 */
function renderInOnePrint(model: StateFileModel, options: RenderOptions): { bytes: Buffer; layout: StateFileLayout } | undefined {
  const names = sortedEntryNames(model);
  const block = printEntriesBlock(model, names);
  if (block === undefined) return undefined;
  const skeleton = renderSkeleton(model, options);
  const entries = new Map<string, Buffer>();
  names.forEach((name, i) => entries.set(name, block.bytes.subarray(block.starts[i], block.ends[i])));
  const head = Buffer.from(skeleton.head);
  const tail = Buffer.from(skeleton.tail);
  const bytes = Buffer.concat([head, block.bytes, tail]);
  return { bytes, layout: { head, tail, document: skeleton.document, names, entries, bytes } };
}

/** renderWithLayout from a print per entry. */
function renderByEntry(model: StateFileModel, options: RenderOptions): { bytes: Buffer; layout: StateFileLayout } {
  const { text, skeleton, names, entries } = renderStateFile(model, options);
  const layout: StateFileLayout = {
    head: Buffer.from(skeleton.head),
    tail: Buffer.from(skeleton.tail),
    document: skeleton.document,
    names,
    entries: new Map([...entries].map(([name, entry]) => [name, Buffer.from(entry)])),
    bytes: Buffer.from(text),
  };
  return { bytes: layout.bytes as Buffer, layout };
}

function insertionPoint(names: readonly string[], name: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareKeys(names[mid] as string, name) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The file after a write, from the layout of the text it replaces. `model` is that file's model
 * with the write applied (its `document` the layout's: the keys this store does not own are the
 * file's as it is now); `touched` names every entry the write set. Entries that went away are
 * found by name. Only the touched entries are printed, and of the legacy `contracts` /
 * `implementationHashes` sections only the entries that follow a touched record (the other keys
 * are printed again only when those sections are not laid out as this store prints them).
 */
export function spliceStateFile(
  layout: StateFileLayout,
  model: StateFileModel,
  touched: Iterable<string>,
  options: RenderOptions,
  room?: SpliceRoom,
): SplicedFile {
  const spliced = spliceInPieces(layout, model, touched, options, room);
  return spliced.changed ? { changed: true, bytes: spliced.text.bytes(), layout: spliced.layout } : spliced;
}

/**
 * spliceStateFile with the new text left in pieces (see PendingText): a put that replaces entries
 * in place writes the runs around them as they are, and copies them into one buffer off its path.
 * The layout returned holds `bytes` once `text.bytes()` has run.
 */
export function spliceInPieces(
  layout: StateFileLayout,
  model: StateFileModel,
  touched: Iterable<string>,
  options: RenderOptions,
  room?: SpliceRoom,
): { changed: false } | { changed: true; text: PendingText; layout: StateFileLayout } {
  if (model.document !== layout.document) {
    // Not the document this layout was printed from: only a full render can be trusted.
    const full = renderWithLayout(model, options);
    return { changed: true, text: wholeText(full.bytes), layout: full.layout };
  }
  const changes = new Map<string, Buffer | undefined>();
  for (const name of touched) {
    const text = printModelEntry(model, name, options.recordTexts);
    changes.set(name, text === undefined ? undefined : Buffer.from(text));
  }
  if (layout.names.length > model.records.size + model.invalid.size - countNew(layout, changes)) {
    // Some listed entry is in neither map any more (a replaceChain that dropped names it did not touch).
    for (const name of layout.names) if (!model.records.has(name) && !model.invalid.has(name)) changes.set(name, undefined);
  }
  const differing = [...changes].filter(([name, bytes]) => !sameBytes(layout.entries.get(name), bytes));
  let { head, tail, document } = layout;
  const around = spliceMirrors(layout, model, changes.keys(), room !== undefined);
  if (around !== undefined) ({ head, tail, document } = around);
  else {
    const skeleton = renderSkeleton(model, { ...options, mirror: changes.keys() });
    const [newHead, newTail] = [Buffer.from(skeleton.head), Buffer.from(skeleton.tail)];
    if (!newHead.equals(head) || !newTail.equals(tail)) [head, tail, document] = [newHead, newTail, skeleton.document];
  }
  if (differing.length === 0 && document === layout.document) return { changed: false };
  if (layout.bytes && differing.every(([name, text]) => text !== undefined && layout.entries.has(name))) {
    // Only entries replaced in place (the common put, and an upgrade, whose legacy entries around
    // `records` change too): the names stay, and the text around them is copied in runs.
    const replaced = new Map(differing as Array<[string, Buffer]>);
    const { pieces, startsAfter } = replacedPieces(layout as StateFileLayout & { bytes: Buffer }, replaced, head, tail);
    // A layout lent with a room is changed in place: a copy of every entry costs more than the put's print.
    const entries = room ? (layout.entries as Map<string, Buffer>) : new Map(layout.entries);
    for (const [name, text] of replaced) entries.set(name, text);
    // `bytes` set once joined (in the literal already, so every layout has one shape).
    const next: StateFileLayout = { head, tail, document, names: layout.names, entries, bytes: undefined };
    return { changed: true, text: joinedLater(pieces, next, room, startsAfter), layout: next };
  }
  const names = [...layout.names];
  const entries = new Map(layout.entries);
  for (const [name, text] of differing) {
    const had = entries.has(name);
    if (text === undefined) {
      entries.delete(name);
      names.splice(insertionPoint(names, name), 1);
    } else {
      entries.set(name, text);
      if (!had) names.splice(insertionPoint(names, name), 0, name);
    }
  }
  const next: StateFileLayout = { head, tail, document, names, entries };
  next.bytes = bytesOf(next);
  return { changed: true, text: wholeText(next.bytes), layout: next };
}

/**
 * Where each entry starts in a layout's `bytes`, in `names` order, once known: a put finds the place
 * of the entry it replaces by a search of the names, not a walk through every entry before it. Kept
 * beside the layouts (a write derives the next layout's while its temp file syncs, see joinedLater).
 */
const entryStarts = new WeakMap<StateFileLayout, number[]>();

function startsOf(layout: StateFileLayout): number[] {
  let starts = entryStarts.get(layout);
  if (starts === undefined) {
    starts = [];
    let at = layout.head.length + OPEN.length;
    for (const name of layout.names) {
      starts.push(at);
      at += (layout.entries.get(name) as Buffer).length + BETWEEN.length;
    }
    entryStarts.set(layout, starts);
  }
  return starts;
}

/** The index of `name` among the layout's names (sorted as recordsBlock prints them). */
function indexOfName(names: readonly string[], name: string): number {
  const at = insertionPoint(names, name);
  return names[at] === name ? at : names.indexOf(name);
}

/**
 * The layout's bytes with some entries' texts replaced, and the text before and after `records`
 * replaced by `head` and `tail` where they are new, as pieces: the unchanged runs between them
 * (views into the layout's bytes) and the new texts, in order; and, for the layout of the new
 * text, where its entries start (derived later, off the write's path).
 */
function replacedPieces(
  layout: StateFileLayout & { bytes: Buffer },
  replaced: ReadonlyMap<string, Buffer>,
  head: Buffer,
  tail: Buffer,
): { pieces: Uint8Array[]; startsAfter: () => number[] } {
  const starts = startsOf(layout);
  const spans: Array<{ index: number; start: number; end: number; text: Buffer }> = [];
  for (const [name, text] of replaced) {
    const index = indexOfName(layout.names, name);
    const start = starts[index] as number;
    spans.push({ index, start, end: start + (layout.entries.get(name) as Buffer).length, text });
  }
  if (spans.length > 1) spans.sort((a, b) => a.index - b.index);
  const pieces: Uint8Array[] = [];
  const old = layout.bytes;
  // A new head or tail (the legacy entries that follow a record) takes the place of the old one.
  let from = 0;
  if (head !== layout.head) {
    pieces.push(head);
    from = layout.head.length;
  }
  for (const { start, end, text } of spans) {
    pieces.push(old.subarray(from, start), text);
    from = end;
  }
  if (tail !== layout.tail) pieces.push(old.subarray(from, old.length - layout.tail.length), tail);
  else pieces.push(old.subarray(from));
  const startsAfter = (): number[] => {
    const shifted = new Array<number>(starts.length);
    let shift = head.length - layout.head.length;
    let next = 0;
    for (let i = 0; i < starts.length; i++) {
      shifted[i] = (starts[i] as number) + shift;
      const span = spans[next];
      if (span?.index === i) {
        shift += span.text.length - (span.end - span.start);
        next++;
      }
    }
    return shifted;
  };
  return { pieces, startsAfter };
}

/**
 * The pieces as a PendingText: one copy of them into a buffer of the room (the file's size in one
 * copy plus the changed entries, not a piece per entry), made once, when asked, and kept in `layout`
 * (with where its entries start, `startsAfter`).
 */
function joinedLater(pieces: readonly Uint8Array[], layout: StateFileLayout, room: SpliceRoom | undefined, startsAfter: () => number[]): PendingText {
  let size = 0;
  for (const piece of pieces) size += piece.length;
  let joined: Buffer | undefined;
  return {
    size,
    pieces,
    bytes: () => {
      if (joined !== undefined) return joined;
      const out = room ? room.allocate(size) : Buffer.allocUnsafe(size);
      // set() rather than copy(): the same bytes moved, without copy()'s per-call cost in Node.
      let to = 0;
      for (const piece of pieces) {
        out.set(piece, to);
        to += piece.length;
      }
      joined = out;
      layout.bytes = out;
      entryStarts.set(layout, startsAfter());
      return out;
    },
  };
}

/** The whole file a layout describes. */
export function bytesOf(layout: StateFileLayout): Buffer {
  const pieces: Buffer[] = [layout.head];
  if (layout.names.length === 0) pieces.push(EMPTY);
  else {
    layout.names.forEach((name, i) => pieces.push(i === 0 ? OPEN : BETWEEN, layout.entries.get(name) as Buffer));
    pieces.push(CLOSE);
  }
  pieces.push(layout.tail);
  return Buffer.concat(pieces);
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Touched names the layout does not list yet (entries the write adds). */
function countNew(layout: StateFileLayout, changes: Map<string, Buffer | undefined>): number {
  let added = 0;
  for (const [name, text] of changes) if (text !== undefined && !layout.entries.has(name)) added++;
  return added;
}

// A top-level key's object as a 2-space print lays it out: `\n  "key": {\n` opens it (lines at an
// indent of two are top-level keys and their closing braces; strings hold no newline), `\n  }`
// closes it, and each entry starts a line at an indent of four.
const SECTION_CLOSE = Buffer.from('\n  }');

/**
 * The text around `records` once the legacy sections follow the touched records, with only the
 * section entries whose print changes printed, each alone, in place of the one it replaces: a
 * project's `contracts` lists a contract per record, and printing it whole cost a put at 100
 * records per network more than its own record did. Each section is searched once, its entries in
 * the order it lists them, and copied once: a search and a copy per entry made a putMany of many
 * records cost the records times the section. The head and tail (and document) are the layout's
 * own when no entry's print changes. Undefined when the text is not laid out as expected: the
 * caller renders it whole.
 */
function spliceMirrors(
  layout: StateFileLayout,
  model: StateFileModel,
  names: Iterable<string>,
  lent: boolean,
): { head: Buffer; tail: Buffer; document: Record<string, unknown> } | undefined {
  const changed: MirroredEntry[] = [];
  const wanted = mirroredEntries(layout.document, model.records, names);
  // Each text's replacements, in the order they lie in it, joined into one new text at the end.
  const edits: Record<'head' | 'tail', TextEdit[]> = { head: [], tail: [] };
  for (const section of ['contracts', 'implementationHashes'] as const) {
    const entries = wanted.filter((entry) => entry.section === section);
    if (entries.length === 0) continue;
    if (entries.length > 1) {
      // The order a print lists them in (Object.keys'), so each is searched for after the one before.
      const order = new Map(Object.keys(layout.document[section] as object).map((name, i) => [name, i]));
      entries.sort((a, b) => (order.get(a.name) as number) - (order.get(b.name) as number));
    }
    const inHead = sectionIn(layout.head, section);
    const where = inHead ? 'head' : 'tail';
    const text = layout[where];
    const span = inHead ?? sectionIn(text, section);
    if (span === undefined) return undefined;
    let from = span[0];
    for (const entry of entries) {
      const at = entrySpan(text, entry.name, from, span[1]);
      if (at === undefined) return undefined;
      from = at[1];
      const printed = Buffer.from(printRecordsEntry(entry.name, entry.value, undefined, false));
      if (text.subarray(at[0], at[1]).equals(printed)) continue;
      edits[where].push({ start: at[0], end: at[1], bytes: printed });
      changed.push(entry);
    }
  }
  const head = edits.head.length > 0 ? applyEdits(layout.head, edits.head) : layout.head;
  const tail = edits.tail.length > 0 ? applyEdits(layout.tail, edits.tail) : layout.tail;
  if (changed.length === 0) return { head, tail, document: layout.document };
  // The sections are top-level keys the document has: assigning them keeps its order.
  const document = lent ? withEntriesSet(layout.document, changed) : { ...layout.document, ...withMirroredEntries(layout.document, changed) };
  return { head, tail, document };
}

// The legacy sections a lent splice copied, by the document that holds them now: the next lent
// splice of that document sets their entries in place and hands them on to its own. Copying a
// project's `contracts` and `implementationHashes` (100 entries each at 100 records a network) cost
// every put about 20 µs before its write; a lent layout is the store's to change (see spliceInPieces).
const sectionOwners = new WeakMap<object, object>();

/** The document with the entries set, for a lent layout: the sections it owns changed in place, any other copied once. */
function withEntriesSet(source: Record<string, unknown>, entries: readonly MirroredEntry[]): Record<string, unknown> {
  const document = { ...source };
  const taken = new Set<string>();
  for (const { section, name, value } of entries) {
    let target = document[section] as Record<string, unknown>;
    if (!taken.has(section)) {
      taken.add(section);
      if (sectionOwners.get(target) !== source) {
        target = { ...target };
        document[section] = target;
      }
      sectionOwners.set(target, document);
    }
    setOwnProperty(target, name, value);
  }
  return document;
}

/** One entry's text replaced in a head or tail: `start`..`end` becomes `bytes`. */
interface TextEdit {
  start: number;
  end: number;
  bytes: Buffer;
}

// Where the legacy sections lie in each head and tail (never changed in place: a splice makes a new
// one), found once and carried to the next text by the edits' shifts: each put searched a project's
// `contracts` and `implementationHashes` whole for their ends, tens of KB at 100 records a network.
const spansOfText = new WeakMap<Buffer, Map<string, [number, number] | null>>();

function spansOf(text: Buffer): Map<string, [number, number] | null> {
  let spans = spansOfText.get(text);
  if (spans === undefined) spansOfText.set(text, (spans = new Map()));
  return spans;
}

/** sectionSpan, remembered for the text. */
function sectionIn(text: Buffer, section: string): [number, number] | undefined {
  const spans = spansOf(text);
  let found = spans.get(section);
  if (found === undefined) {
    found = sectionSpan(text, section) ?? null;
    spans.set(section, found);
  }
  return found ?? undefined;
}

/** The text with the edits (in the order they lie in it) made, in one copy; its spans, those of `text` moved by the edits. */
function applyEdits(text: Buffer, edits: TextEdit[]): Buffer {
  // Both sections may lie in one text, in either order; entries never overlap.
  edits.sort((a, b) => a.start - b.start);
  const pieces: Buffer[] = [];
  let copied = 0;
  for (const edit of edits) {
    pieces.push(text.subarray(copied, edit.start), edit.bytes);
    copied = edit.end;
  }
  pieces.push(text.subarray(copied));
  const out = Buffer.concat(pieces);
  // A position moves by what the edits that end at or before it added.
  const moved = (at: number): number => {
    let to = at;
    for (const edit of edits) if (edit.end <= at) to += edit.bytes.length - (edit.end - edit.start);
    return to;
  };
  const spans = new Map<string, [number, number] | null>();
  for (const [section, found] of spansOfText.get(text) ?? []) spans.set(section, found && [moved(found[0]), moved(found[1])]);
  spansOfText.set(out, spans);
  return out;
}

/** Where a top-level section's entries lie in a printed text (from the newline before the first to the one that closes it), if it is there as expected. */
function sectionSpan(text: Buffer, section: string): [number, number] | undefined {
  const open = Buffer.from(`\n  ${JSON.stringify(section)}: {\n`);
  const at = text.indexOf(open);
  if (at === -1) return undefined;
  const close = text.indexOf(SECTION_CLOSE, at + open.length - 1);
  return close === -1 ? undefined : [at + open.length - 1, close];
}

/** Where entry `name` (`"name": value`, no comma) lies in a section's span `from`..`close` of a printed text, if it is there as expected. */
function entrySpan(text: Buffer, name: string, from: number, close: number): [number, number] | undefined {
  const key = Buffer.from(`\n    ${JSON.stringify(name)}: `);
  const found = text.indexOf(key, from);
  if (found === -1 || found >= close) return undefined;
  const start = found + 5;
  const next = text.indexOf(NEXT_ENTRY, start);
  return [start, next === -1 || next > close ? close : next];
}
