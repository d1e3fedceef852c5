// Printing many small values: most of a native print's cost for one record is the call itself.
// Values JSON.stringify prints as wanted are printed a few hundred in one call, a marker string
// between each two, and the text is cut at the markers (canonicalEncodeAll, stringifyLosslessAll).
// One call for thousands is slower again: the text it builds grows past what stays cheap to copy.

// A string no value holds by chance or design (a NUL, then a random part), printed between commas
// as only this string prints.
export const SEPARATOR = `\u0000print-together-${Math.random().toString(36).slice(2)}#`;
const PRINTED_SEPARATOR = `,${JSON.stringify(SEPARATOR)},`;

// How many values one call prints.
const RUN = 256;

/**
 * JSON.stringify of each object, in order, each printed as in an array (so as its own call prints
 * it). Undefined for each value of a run in which a value holds the marker itself and cuts the text
 * once more: print those alone.
 */
function stringifyTogether(values: readonly object[]): Array<string | undefined> {
  const out = new Array<string | undefined>(values.length);
  for (let start = 0; start < values.length; start += RUN) {
    const end = Math.min(values.length, start + RUN);
    const batch: unknown[] = new Array((end - start) * 2 - 1);
    for (let i = start; i < end; i++) {
      if (i > start) batch[2 * (i - start) - 1] = SEPARATOR;
      batch[2 * (i - start)] = values[i];
    }
    const parts = JSON.stringify(batch).slice(1, -1).split(PRINTED_SEPARATOR);
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
 * Two prints of each value, `firstAll` and `second`, as printEach gives each. `native(value)` is
 * the object JSON.stringify prints exactly as `second` prints the value, given only where
 * JSON.stringify prints the value itself exactly as `firstAll` does; both objects of such a value
 * are printed in the same call, one call for a run of values (half the calls of two printEach).
 * The other values get their first print from `firstAll` (which may batch them its own way) and
 * their second one by one.
 */
export function printEachTwice(
  values: readonly unknown[],
  native: (value: unknown) => object | undefined,
  firstAll: (values: readonly unknown[]) => string[],
  second: (value: unknown) => string,
): [string[], string[]] {
  const firsts = new Array<string>(values.length);
  const seconds = new Array<string>(values.length);
  const batch: object[] = [];
  const at: number[] = [];
  const alone: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const printed = native(value);
    if (printed === undefined) {
      alone.push(i);
      seconds[i] = second(value);
      continue;
    }
    batch.push(value as object, printed);
    at.push(i);
  }
  const parts = stringifyTogether(batch);
  for (let k = 0; k < at.length; k++) {
    const i = at[k] as number;
    const first = parts[2 * k];
    if (first === undefined) alone.push(i);
    else firsts[i] = first;
    seconds[i] = parts[2 * k + 1] ?? second(values[i]);
  }
  const rest = firstAll(alone.map((i) => values[i]));
  for (let k = 0; k < alone.length; k++) firsts[alone[k] as number] = rest[k] as string;
  return [firsts, seconds];
}
