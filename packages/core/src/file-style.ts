// A committed JSON file's own layout: its indent, its line ends and whether its last line ends, as
// the project's scripts, formatter or a Windows checkout left them. Every rewrite of a project's
// file keeps them (a network file, deploystate.config.json, phase.json, package.json), so `git
// diff` shows the lines a change made, not every line of the file (npm keeps package.json's so).
import { keepingByteOrderMark, withoutByteOrderMark } from './byte-order-mark.js';

/** How a file is indented and how its lines end, where that is not the store's own (two spaces, LF, a line end after the last line). */
export interface FileStyle {
  /** One level of indent: 1-8 spaces, or one tab. */
  indent: string;
  eol: '\n' | '\r\n';
  /** Whether the file ends with a line end (`JSON.stringify` output written as it is has none). */
  finalEol: boolean;
}

const DEFAULT_INDENT = '  ';
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * The style of a file's text, from its first line break, the indent of the line after it (the
 * top-level object's first key) and its last character; undefined where it is the store's own. An
 * indent it cannot tell (a file on one line, a first key indented with tabs and spaces mixed) is
 * taken as the store's 2 spaces; the line ends are still the file's. A few characters are looked
 * at, so every write can ask.
 */
export function fileStyleOf(text: Uint8Array | string | undefined): FileStyle | undefined {
  if (text === undefined || text.length === 0) return undefined;
  const at = typeof text === 'string' ? (i: number): number => text.charCodeAt(i) : (i: number): number | undefined => text[i];
  const lf = typeof text === 'string' ? text.indexOf('\n') : text.indexOf(LF);
  if (lf < 0) return undefined;
  const eol = lf > 0 && at(lf - 1) === CR ? '\r\n' : '\n';
  let end = lf + 1;
  while (at(end) === SPACE && end - lf <= 8) end++;
  const spaces = end - lf - 1;
  let indent = DEFAULT_INDENT;
  if (at(lf + 1) === TAB && at(lf + 2) !== SPACE && at(lf + 2) !== TAB) indent = '\t';
  else if (spaces >= 1 && at(end) !== SPACE && at(end) !== TAB) indent = ' '.repeat(spaces);
  const finalEol = at(text.length - 1) === LF;
  return indent === DEFAULT_INDENT && eol === '\n' && finalEol ? undefined : { indent, eol, finalEol };
}

/**
 * Text the store printed (two spaces a level, LF, a line end after the last line) in `style`. JSON
 * holds no raw line break inside a string, so every line's leading spaces are indent and every LF a
 * line end. Two passes over the bytes, a byte at a time (lines are short: a call per line cost
 * more): the size, then the text. Where only the last line end differs, a view of `bytes`.
 */
export function restyleBytes(bytes: Uint8Array, style: FileStyle): Buffer {
  const unit = style.indent.charCodeAt(0);
  const unitLength = style.indent.length;
  const crlf = style.eol === '\r\n';
  // The store's text ends with a line end: left off where the file had none.
  const end = !style.finalEol && bytes[bytes.length - 1] === LF ? bytes.length - 1 : bytes.length;
  if (style.indent === DEFAULT_INDENT && !crlf) return Buffer.from(bytes.buffer, bytes.byteOffset, end);
  let size = 0;
  for (let i = 0; i < end; ) {
    let spaces = 0;
    while (i < end && bytes[i] === SPACE) (spaces++, i++);
    size += (spaces >> 1) * unitLength + (spaces & 1);
    while (i < end) {
      size++;
      if (bytes[i++] === LF) {
        if (crlf) size++;
        break;
      }
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < end; ) {
    let spaces = 0;
    while (i < end && bytes[i] === SPACE) (spaces++, i++);
    for (let n = (spaces >> 1) * unitLength; n > 0; n--) out[at++] = unit;
    if (spaces & 1) out[at++] = SPACE;
    while (i < end) {
      const c = bytes[i++] as number;
      if (c === LF) {
        if (crlf) out[at++] = CR;
        out[at++] = LF;
        break;
      }
      out[at++] = c;
    }
  }
  return out;
}

/** restyleBytes() of a string. */
export function restyle(text: string, style: FileStyle): string {
  return restyleBytes(Buffer.from(text, 'utf8'), style).toString('utf8');
}

/**
 * `text` (printed in two spaces and LF, ending with a line end) to write over a file that held
 * `previous`: in the file's indent and line ends, with its byte-order mark when it had one. A new
 * file (no `previous`) gets `text` as it is.
 */
export function keepingFileStyle(previous: string | null | undefined, text: string): string {
  const style = previous === null || previous === undefined ? undefined : fileStyleOf(withoutByteOrderMark(previous));
  return keepingByteOrderMark(previous, style === undefined ? text : restyle(text, style));
}
