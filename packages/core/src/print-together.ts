// Printing many small values: most of a native print's cost for one record is the call itself.
// Values JSON.stringify prints as wanted are printed a few hundred in one call, a marker string
// between each two, and the text is cut at the markers (canonicalEncodeAll, stringifyLosslessAll).
// The canonical print gives the engine the keys in canonical order, so no value is copied to order them.
// One call for thousands is slower again: the text it builds grows past what stays cheap to copy.

// A string no value holds by chance or design (a NUL, then a random part), printed between commas
// as only this string prints.
export const SEPARATOR = `\u0000print-together-${Math.random().toString(36).slice(2)}#`;
const PRINTED_SEPARATOR = `,${JSON.stringify(SEPARATOR)},`;

// How many values one call prints.
const RUN = 256;

/**
 * JSON.stringify of each object, in order, each printed as in an array (so as its own call prints
 * it; with `keys`, as JSON.stringify prints it given that key list). Undefined for each value of a
 * run in which a value holds the marker itself and cuts the text once more: print those alone.
 */
function stringifyTogether(values: readonly object[], keys?: readonly string[]): Array<string | undefined> {
  const out = new Array<string | undefined>(values.length);
  const list = keys as string[] | undefined;
  for (let start = 0; start < values.length; start += RUN) {
    const end = Math.min(values.length, start + RUN);
    const batch: unknown[] = new Array((end - start) * 2 - 1);
    for (let i = start; i < end; i++) {
      if (i > start) batch[2 * (i - start) - 1] = SEPARATOR;
      batch[2 * (i - start)] = values[i];
    }
    const parts = JSON.stringify(batch, list).slice(1, -1).split(PRINTED_SEPARATOR);
    if (parts.length === end - start) for (let i = start; i < end; i++) out[i] = parts[i - start];
  }
  return out;
}

/**
 * `print` of each value, in order. `native(value)` is the object JSON.stringify prints exactly as
 * `print` prints the value, or undefined for a value printed alone: those objects are printed
 * together (stringifyTogether).
 */
export function printEach(values: readonly unknown[], native: (value: unknown) => object | undefined, print: (value: unknown) => string): string[] {
  const out = new Array<string>(values.length);
  const batch: object[] = [];
  const at: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const printed = native(values[i]);
    if (printed === undefined) {
      out[i] = print(values[i]);
      continue;
    }
    batch.push(printed);
    at.push(i);
  }
  // A value holding the marker itself cuts the text once more: the values printed with it are printed alone.
  const parts = stringifyTogether(batch);
  for (let k = 0; k < at.length; k++) {
    const i = at[k] as number;
    out[i] = parts[k] ?? print(values[i]);
  }
  return out;
}

/**
 * `print` of each value, in order. `keysOf(value)` is the key list in whose order JSON.stringify,
 * given it, prints the value exactly as `print` does (its keys in the wanted order, values printed
 * natively, no object inside whose keys the list would filter), or undefined for a value printed
 * alone. Those values are printed a run at a time, given the union of their lists: the engine
 * prints each in that order, skipping the keys a value lacks, and no copy of a value is made.
 */
export function printEachByKeys(
  values: readonly unknown[],
  keysOf: (value: unknown) => readonly string[] | undefined,
  compare: (a: string, b: string) => number,
  print: (value: unknown) => string,
): string[] {
  const out = new Array<string>(values.length);
  const batch: object[] = [];
  const lists: Array<readonly string[]> = [];
  const at: number[] = [];
  let union: readonly string[] = [];
  const flush = (): void => {
    const parts = stringifyTogether(batch, union);
    for (let k = 0; k < at.length; k++) {
      const i = at[k] as number;
      // A key not in the value's own list that it still reaches would be printed: alone.
      out[i] = (lists[k] as readonly string[]).length === union.length || !reachesUnlisted(batch[k] as object, union) ? (parts[k] ?? print(values[i])) : print(values[i]);
    }
    batch.length = 0;
    lists.length = 0;
    at.length = 0;
    union = [];
  };
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const keys = keysOf(value);
    if (keys === undefined) {
      out[i] = print(value);
      continue;
    }
    // Values from one source share one list (most often the very same array): the union is theirs.
    if (batch.length === 0) union = keys;
    else if (keys !== union && !sameKeys(keys, union)) union = unionOf(union, keys, compare);
    batch.push(value as object);
    lists.push(keys);
    at.push(i);
    if (batch.length === RUN) flush();
  }
  if (batch.length > 0) flush();
  return out;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The keys of two lists sorted by `compare`, each once, in that order. */
function unionOf(a: readonly string[], b: readonly string[], compare: (a: string, b: string) => number): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const order = i === a.length ? 1 : j === b.length ? -1 : compare(a[i] as string, b[j] as string);
    out.push((order <= 0 ? a[i] : b[j]) as string);
    if (order <= 0) i++;
    if (order >= 0) j++;
  }
  return out;
}

/**
 * Whether the object reaches one of `keys` that Object.keys does not list: one it inherits
 * (`__proto__`, a polluted prototype's) or an own one that is not enumerable. JSON.stringify given
 * a key list prints every key of it the object reaches; canonicalEncode prints its listed keys only.
 */
function reachesUnlisted(value: object, keys: readonly string[]): boolean {
  for (const key of keys) if (!propertyIsEnumerable.call(value, key) && key in value) return true;
  return false;
}

const { propertyIsEnumerable } = Object.prototype;
