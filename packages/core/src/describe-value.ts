// A value as an error message names it: what the caller passed, short enough for one line.
import { isJsonNumber } from './json-number.js';

/** The most characters of a string an error message quotes. */
const QUOTED_MAX = 60;

/**
 * A string in quotes (the first 60 characters, never half an escape or of a character made of two
 * UTF-16 units), a number, bigint or boolean as written (a big integer literal from a file is a
 * bigint), null and undefined by name, an exact number literal (1.5, 1e3) as written, anything
 * else by its kind ("an array", "an object", "a function"). It never calls a value's own
 * `toString`: an object with one (a `Date`, `{ toString: 'x' }`, one without a prototype) is "an
 * object".
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= QUOTED_MAX) return JSON.stringify(value);
    const last = value.charCodeAt(QUOTED_MAX - 1);
    const cut = last >= 0xd800 && last <= 0xdbff ? QUOTED_MAX - 1 : QUOTED_MAX;
    return `${JSON.stringify(value.slice(0, cut)).slice(0, -1)}…"`;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  // An exact number literal (1.5, 1e3) is held as an object that prints as written.
  return isJsonNumber(value) ? value.text : 'an object';
}
