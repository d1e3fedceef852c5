// How deep JSON may nest. Every walk over a parsed value recurses (the codec's restore, digests,
// printers, ajv), and a few thousand levels exhaust the stack: the codec refuses a deeper text at
// parse (CORRUPTED, naming its source), and a record is held a few levels under that, so whatever
// file or line wraps a record a store accepted is one it reads back.
import { isJsonNumber } from './json-number.js';

/** How deep arrays and objects may nest in a parsed text (its top level counts as 1). */
export const MAX_JSON_DEPTH = 512;

/**
 * How deep a record may nest (the record object counts as 1): the files around it add a few levels
 * (a network file 2, a journal line 1, an export 3), all within MAX_JSON_DEPTH. Deployment state
 * nests a few levels; a struct argument a few more.
 */
export const MAX_RECORD_DEPTH = MAX_JSON_DEPTH - 12;

/** Whether `value`'s arrays and objects nest more than `levels` deep; recurses at most `levels` + 1 frames, however deep the value. */
export function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null || isJsonNumber(value)) return false;
  if (levels === 0) return true;
  // Only containers are looked into (a call per string or number would cost a record read more than the rest of its check).
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && nestsDeeperThan(item, levels - 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null && nestsDeeperThan(item, levels - 1)) return true;
  }
  return false;
}
