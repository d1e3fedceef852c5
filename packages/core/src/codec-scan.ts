// Finding the number literals a double would change, for the codec's parser (codec.ts). Two
// passes of different cost: a quick look at where each literal could end, which proves most texts
// hold none, and the full scan, which finds and values each one.
import { MAX_JSON_DEPTH } from './json-depth.js';
import { isJsonNumberLiteral, JsonNumber, numberLiteralValue } from './json-number.js';

// U+0000 cannot appear raw inside a JSON string, so a decoded string starting with it was written
// as an escape; the random part rules out that any text holds the mark by chance or design.
export const MARK = `\\u0000exact-${Math.random().toString(36).slice(2)}#`;
export const DECODED_MARK = JSON.parse(`"${MARK}"`) as string;

export interface Scan {
  /** Start and end offsets of each literal to replace, and its exact value. */
  starts: number[];
  ends: number[];
  values: Array<bigint | JsonNumber>;
}

const isDelimiterBefore = (c: number): boolean => c === 91 || c === 58 || c === 44; // [ : ,
const isDelimiterAfter = (c: number): boolean => c === 44 || c === 93 || c === 125; // , ] }
const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

// One sticky regular expression skips, in a single native pass, everything that needs no exact
// handling: whitespace and punctuation, whole strings, and plain integers of up to 15 digits (safe,
// and printed back as written). It stops only at a literal that may not print back as written (or
// at an unterminated string), which is looked at closely; most texts have none, so the whole scan
// is one call. A loop in JavaScript over strings costs one call per string (several times more).
const SKIP = /[^"0-9-]*(?:(?:"[^"\\]*(?:\\[^][^"\\]*)*"|-?[0-9]{1,15}(?![0-9.eE]))[^"0-9-]*)*/y;
// The same for a text without a backslash (most state files): no string can hold an escaped quote,
// so a string is a quote, anything but a quote, a quote. One test less per character of every
// string, where a scan spends most of its time: about a sixth of the scan, measured.
const SKIP_UNESCAPED = /[^"0-9-]*(?:(?:"[^"]*"|-?[0-9]{1,15}(?![0-9.eE]))[^"0-9-]*)*/y;

export function scan(text: string): Scan {
  const result: Scan = { starts: [], ends: [], values: [] };
  const n = text.length;
  // indexOf over a whole text costs next to nothing (a native search for one character).
  const skip = text.indexOf('\\') === -1 ? SKIP_UNESCAPED : SKIP;
  for (let k = 0; ; ) {
    skip.lastIndex = k;
    skip.test(text);
    k = skip.lastIndex;
    if (k >= n || text.charCodeAt(k) === 34) break; // the end, or an unterminated string: JSON.parse names the error
    let j = k + 1;
    let plain = true;
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (d >= 48 && d <= 57) continue;
      if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) plain = false; // . e E + -
      else break;
    }
    // Plain digits up to 15 (16 with a sign) are safe integers that print back as written.
    if (!plain || j - k > (text.charCodeAt(k) === 45 ? 16 : 15)) check(text, k, j, result, plain);
    k = j;
  }
  return result;
}

function check(text: string, start: number, end: number, result: Scan, plain: boolean): void {
  const literal = text.slice(start, end);
  // Only a whole literal in a value position is replaced, so the replacement never turns invalid
  // text into valid text; anything else is left for JSON.parse to judge.
  if (plain) {
    // Digits only, more than 15 of them: valid unless a zero leads.
    const first = literal.charCodeAt(0) === 45 ? 1 : 0;
    if (literal.charCodeAt(first) === 48 || literal.length === first) return;
  } else if (!isJsonNumberLiteral(literal)) return;
  let before = start - 1;
  while (before >= 0 && isSpace(text.charCodeAt(before))) before--;
  let after = end;
  while (after < text.length && isSpace(text.charCodeAt(after))) after++;
  if (before >= 0 && !isDelimiterBefore(text.charCodeAt(before))) return;
  if (after < text.length && !isDelimiterAfter(text.charCodeAt(after))) return;
  const value = numberLiteralValue(literal);
  if (typeof value === 'number') return;
  result.starts.push(start);
  result.ends.push(end);
  result.values.push(value);
}

export function patch(text: string, found: Scan): string {
  const parts: string[] = [];
  let copied = 0;
  for (let k = 0; k < found.starts.length; k++) {
    parts.push(text.slice(copied, found.starts[k]), `"${MARK}${k}"`);
    copied = found.ends[k] as number;
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

// Every number literal of a valid text (but a bare top-level one) is followed by optional
// whitespace and then a comma, a closing bracket or a closing brace; and every closing bracket or
// brace is itself followed by optional whitespace and then a comma, another closer or the end. So
// looking back from each comma and from the end, and on through each closer met on the way, finds
// every literal (and a few more inside strings) without a search for the closers: each closer is
// reached from the one comma or closer after it. When each literal found is a plain integer of at
// most 15 digits, native JSON.parse reads every literal exactly (safe, and printed back as
// written), and the full scan has nothing to find. A native search per comma (most follow a
// string's quote and cost one comparison) is about a tenth of a native parse, measured on state
// files; the look-backs about as much again.
export function onlySafeShortIntegers(text: string): boolean {
  closersReached = 0;
  bounded = text.length >= BOUNDED_LENGTH;
  if (bounded) {
    depthBound = 0;
    square = nextAt(text, '[', 0);
    curly = nextAt(text, '{', 0);
  }
  if (endsInDigit(text)) return false; // a bare number: the full scan judges it
  for (let at = text.indexOf(','); at !== -1; at = text.indexOf(',', at + 1)) {
    if (text.charCodeAt(at - 1) === 34) continue; // after a string's "
    if (bounded) countOpenersBefore(text, at);
    if (!safeShortEndingAt(text, at)) return false;
  }
  // The end last, so that closers are reached in the order of the commas after them.
  if (bounded) countOpenersBefore(text, text.length);
  return safeShortEndingAt(text, text.length);
}

/**
 * onlySafeShortIntegers for a caller that walks the parsed value itself, checking its depth (the
 * duplicate-key count): it keeps no depth bound (a sixth of a long file's look, never read then)
 * and counts every comma on its way (lastLookCommas). A loop of its own, so that the look for
 * parseLossless pays nothing for the count (about 1% of a parse, measured).
 */
export function onlySafeShortIntegersCountingCommas(text: string): boolean {
  closersReached = 0;
  bounded = false;
  if (endsInDigit(text)) return false;
  let commas = 0;
  for (let at = text.indexOf(','); at !== -1; at = text.indexOf(',', at + 1)) {
    commas++;
    if (text.charCodeAt(at - 1) === 34) continue;
    if (!safeShortEndingAt(text, at)) return false;
  }
  commasMet = commas;
  return safeShortEndingAt(text, text.length);
}

function endsInDigit(text: string): boolean {
  let last = text.length - 1;
  while (last >= 0 && isSpace(text.charCodeAt(last))) last--;
  return last >= 0 && isDigit(text.charCodeAt(last));
}

// The commas the last onlySafeShortIntegersCountingCommas met: every comma of a text it passed,
// inside strings too (it searches for each one), for the duplicate-key check (codec.ts), which
// then needs no search of its own.
let commasMet = 0;

/** Every comma of the text the last onlySafeShortIntegersCountingCommas passed, counted on its way. */
export function lastLookCommas(): number {
  return commasMet;
}

// The closers the last onlySafeShortIntegers reached. A valid text has one per array and object,
// each reached once, so after a look that passed, the count bounds how deep the text can nest, for
// nothing (a count kept aside costs less than one returned through every look-back).
let closersReached = 0;

// A long text (a state file of thousands of records: hundreds of kilobytes) holds thousands of
// arrays and objects, so its look also keeps an upper bound on its depth: every bracket that opens
// counts (inside strings too: that only raises it), up to the comma where the look goes back, and
// each closer reached takes one off when it surely closes: the first on its line (no string holds
// a raw newline, so a line starts outside any string) or right after a bracket that opens (the two
// inside one string, or neither). It is the depth of a file printed with indentation, give or take
// a level, for a native search per opener, where a walk over the parsed value costs a fifth of the
// parse. A shorter text with that many containers (rare: compact, or deeply nested) is walked. A
// caller that walks every value anyway (the duplicate-key count) looks without the bound.
const BOUNDED_LENGTH = 192 * 1024;
let bounded = false;
let depthBound = 0;
// The next [ and { not yet counted (the text's length when none is left).
let square = 0;
let curly = 0;

/** Whether the valid text the last onlySafeShortIntegers passed may nest past MAX_JSON_DEPTH: only when the caller must walk it to know. */
export function lastLookMayNestTooDeep(): boolean {
  return closersReached > MAX_JSON_DEPTH && (!bounded || depthBound > MAX_JSON_DEPTH);
}

function nextAt(text: string, bracket: string, from: number): number {
  const at = text.indexOf(bracket, from);
  return at === -1 ? text.length : at;
}

function countOpenersBefore(text: string, at: number): void {
  while (square < at || curly < at) {
    if (++depthBound > MAX_JSON_DEPTH) {
      // Past the limit for good (no closer takes it back): the walk decides.
      depthBound = Infinity;
      square = curly = text.length;
      return;
    }
    if (square < curly) square = nextAt(text, '[', square + 1);
    else curly = nextAt(text, '{', curly + 1);
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

// Whether what ends just before `at` (whitespace aside) is no literal, or -?[0-9]{1,15}; through a
// closer, what ends just before it, and so on. Reading before the text's start gives NaN, which
// matches nothing, so the loops need no bounds test. Any character up to a space counts as
// whitespace (one comparison): a valid text has no other outside its strings, and none raw inside
// them, and an invalid one fails in JSON.parse whatever this look says.
function safeShortEndingAt(text: string, at: number): boolean {
  for (let afterCloser = false; ; afterCloser = true) {
    let end = at - 1;
    let c = text.charCodeAt(end);
    while (c <= 32) c = text.charCodeAt(--end);
    // The closer at `at` surely closes after a newline (\n or \r\n right after what ends before it) or an opener.
    if (afterCloser && bounded && (c === 91 || c === 123 || (end + 1 < at && text.charCodeAt(end + 1) === 10) || (end + 2 < at && text.charCodeAt(end + 2) === 10))) depthBound--;
    if (c === 125 || c === 93) {
      closersReached++;
      at = end; // } or ]: the value it closes ends before it
      continue;
    }
    if (!isDigit(c)) return true;
    let before = end - 1;
    let b = text.charCodeAt(before);
    while (isDigit(b)) b = text.charCodeAt(--before);
    // A sign may lead; any other literal character (. e E +) makes it not plain.
    if (b === 46 || b === 101 || b === 69 || b === 43) return false;
    if (b === 45 && isLiteralPart(text.charCodeAt(before - 1))) return false; // an exponent's minus
    return end - before <= 15;
  }
}

const isLiteralPart = (c: number): boolean => isDigit(c) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
