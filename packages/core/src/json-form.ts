// A record as every store reads it back: what the codec's print, then its parse, make of it. A
// store that keeps what it was handed in memory (the JSON store, the memory store) would otherwise
// answer in the writing process with values a fresh process reads otherwise (a Date where the file
// holds its text, a number 2^60 where a reader gets a bigint), and the journal's digest of the write
// would not be the digest of what the file holds.
import { parseLossless, stringifyLossless } from './codec.js';
import { isJsonNumber, numberLiteralValue } from './json-number.js';
import { MAX_RECORD_DEPTH } from './json-depth.js';

/**
 * `value` as a print and a parse give it back: itself when it reads back as it is (one walk,
 * nothing made; records built of plain data, as parsed or as most scripts write them), else the
 * parse of its print. So a value with a `toJSON` (a Date, a Buffer, an ethers BigNumber) becomes
 * what that gives, an integer double beyond 2^53 a bigint, a bigint within it a number, an
 * undefined member is dropped and an undefined array item (or a hole) is null.
 */
export function inJsonForm<T>(value: T): T {
  if (typeof value !== 'object' || value === null || readsBackAsItIs(value, MAX_RECORD_DEPTH)) return value;
  return parseLossless(stringifyLossless(value)) as T;
}

/** Whether the print and parse of `value` give an equal value (not looked into past `levels`: refused as too deep before). */
function readsBackAsItIs(value: object, levels: number): boolean {
  // A literal the parse would read as a number or bigint (a JsonNumber made by hand of "5") does not.
  if (isJsonNumber(value)) return isJsonNumber(numberLiteralValue(value.text));
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !itemReadsBack(value[i], levels - 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const key in value) {
    if (!itemReadsBack((value as Record<string, unknown>)[key], levels - 1)) return false;
  }
  return true;
}

function itemReadsBack(item: unknown, levels: number): boolean {
  switch (typeof item) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isSafeInteger(item) || !Number.isInteger(item);
    case 'bigint':
      return item > MAX_SAFE || item < MIN_SAFE;
    case 'object':
      return item === null || readsBackAsItIs(item, levels);
    default:
      // undefined (dropped, or null in an array), a function or a symbol.
      return false;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
