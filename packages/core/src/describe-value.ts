// A value as an error message names it: what the caller passed, short enough for one line.

/** The longest string an error message quotes whole. */
const QUOTED_MAX = 60;

/**
 * A string in quotes (cut at 60 characters), a number, bigint or boolean as written, null and
 * undefined by name, an exact number literal (1.5, 1e3) as written, anything else by its kind
 * ("an array", "an object", "a function").
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value);
    if (quoted.length <= QUOTED_MAX) return quoted;
    // Never half a surrogate pair at the cut.
    const last = quoted.charCodeAt(QUOTED_MAX - 3);
    const cut = last >= 0xd800 && last <= 0xdbff ? QUOTED_MAX - 3 : QUOTED_MAX - 2;
    return `${quoted.slice(0, cut)}…"`;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  // An exact number literal (1.5, 1e3) is held as an object that prints as written.
  const printed = String(value);
  return printed.startsWith('[object') ? 'an object' : printed;
}
