// A write that costs the change, not the file: the store keeps each record's printed text beside
// the file's text it wrote, and a later write prints only the records it changes and splices them
// in. The bytes equal a full render of the same content (tested), so the file stays deterministic.
import { compareKeys } from '@deploystate/core';
import {
  printModelEntry,
  recordsBlock,
  renderSkeleton,
  renderStateFile,
  type RenderOptions,
  type StateFileModel,
  type StateFileSkeleton,
} from './file-format.js';

/** How a text this store printed is made: `skeleton.head + recordsBlock(entries in names order) + skeleton.tail`. */
export interface StateFileLayout {
  skeleton: StateFileSkeleton;
  names: readonly string[];
  entries: ReadonlyMap<string, string>;
}

/** `changed: false` when no entry and no other key would change: the file is left as it is. */
export type SplicedFile = { changed: false } | { changed: true; text: string; layout: StateFileLayout };

/** A full render, kept as a layout for the writes that follow. */
export function renderWithLayout(model: StateFileModel, options: RenderOptions): { text: string; layout: StateFileLayout } {
  const { text, skeleton, names, entries } = renderStateFile(model, options);
  return { text, layout: { skeleton, names, entries } };
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
 * found by name. Only the touched entries are printed; the other keys are printed again only when
 * the legacy `contracts` / `implementationHashes` sections follow a touched record.
 */
export function spliceStateFile(
  layout: StateFileLayout,
  model: StateFileModel,
  touched: Iterable<string>,
  options: RenderOptions,
): SplicedFile {
  if (model.document !== layout.skeleton.document) {
    // Not the document this layout was printed from: only a full render can be trusted.
    const full = renderWithLayout(model, options);
    return { changed: true, ...full };
  }
  const changes = new Map<string, string | undefined>();
  for (const name of touched) changes.set(name, printModelEntry(model, name, options.recordTexts));
  if (layout.names.length > model.records.size + model.invalid.size - countNew(layout, changes)) {
    // Some listed entry is in neither map any more (a replaceChain that dropped names it did not touch).
    for (const name of layout.names) if (!model.records.has(name) && !model.invalid.has(name)) changes.set(name, undefined);
  }
  const differing = [...changes].filter(([name, text]) => layout.entries.get(name) !== text);
  const skeleton = mirrorsTouched(model, changes.keys()) ? renderSkeleton(model, { ...options, mirror: changes.keys() }) : layout.skeleton;
  const sameSkeleton = skeleton === layout.skeleton || (skeleton.head === layout.skeleton.head && skeleton.tail === layout.skeleton.tail);
  if (differing.length === 0 && sameSkeleton) return { changed: false };
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
  const next: StateFileLayout = { skeleton: sameSkeleton ? layout.skeleton : skeleton, names, entries };
  return { changed: true, text: textOf(next), layout: next };
}

/** The whole text a layout describes. */
export function textOf(layout: StateFileLayout): string {
  return layout.skeleton.head + recordsBlock(layout.names.map((name) => layout.entries.get(name) as string)) + layout.skeleton.tail;
}

/** Touched names the layout does not list yet (entries the write adds). */
function countNew(layout: StateFileLayout, changes: Map<string, string | undefined>): number {
  let added = 0;
  for (const [name, text] of changes) if (text !== undefined && !layout.entries.has(name)) added++;
  return added;
}

/** Whether the file's legacy sections list a touched name, so the keys around `records` may change too. */
function mirrorsTouched(model: StateFileModel, names: Iterable<string>): boolean {
  const contracts = model.document.contracts;
  const hashes = model.document.implementationHashes;
  const lists = (section: unknown, name: string): boolean =>
    typeof section === 'object' && section !== null && !Array.isArray(section) && Object.hasOwn(section, name);
  for (const name of names) if (lists(contracts, name) || lists(hashes, name)) return true;
  return false;
}
