// How deep the codec reads: arrays and objects nested past MAX_JSON_DEPTH are CORRUPTED naming the
// source and the bracket that goes too deep, on every way through the codec (native parse alone,
// exact numbers restored, the duplicate-key count), never a RangeError from a walk over the value.
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MAX_JSON_DEPTH, parseLossless, parseLosslessDocument } from '../src/index.js';
import { thrown } from './thrown.js';

/** `levels` arrays of arrays, around `inner`, after `before`. */
function nested(levels: number, inner: string, before = ''): string {
  return `${before}${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;
}

const parsers = [
  ['parseLossless', (text: string) => parseLossless(text, { source: 'deep.json' })],
  ['parseLosslessDocument', (text: string) => parseLosslessDocument(text, { source: 'deep.json' }).value],
] as const;

// Short integers only (native parse alone), an exact number (restored by a walk), objects and arrays mixed.
const inners = [
  ['short integers', '1'],
  ['an exact number', '123456789012345678901234567890'],
  ['an object', '{"a":{"b":1.0}}'],
] as const;

describe.each(parsers)('%s', (_, parse) => {
  it.each(inners)('reads text nested exactly MAX_JSON_DEPTH deep (%s)', (_, inner) => {
    const levels = MAX_JSON_DEPTH - (inner.startsWith('{') ? 2 : 0);
    let value = parse(nested(levels, inner));
    for (let i = 0; i < levels; i++) value = (value as unknown[])[0];
    expect(value).toBeDefined();
  });

  it.each(inners)('refuses text nested one level deeper, and thousands deeper, as CORRUPTED naming the file and where (%s)', (_, inner) => {
    for (const levels of [MAX_JSON_DEPTH + 1, 6_000, 100_000]) {
      const error = thrown(() => parse(nested(levels, inner, '\n  ')));
      expect(error).toMatchObject({ code: ErrorCodes.CORRUPTED, file: 'deep.json', position: { line: 2, column: 3 + MAX_JSON_DEPTH } });
    }
  });

  it('counts brackets inside strings for nothing', () => {
    expect(parse(`{"a":${JSON.stringify('['.repeat(6_000))}}`)).toEqual({ a: '['.repeat(6_000) });
  });
});

// A long file of many arrays and objects (past MAX_JSON_DEPTH of them) is not walked when a bound
// its quick look keeps proves it shallow: every bracket that opens counts, and a closing one only
// when it is first on its line or right after one that opens. These texts make that bound exact, or
// would fool it if a closer inside a string counted; shorter ones of that many containers are walked.
describe('depth of files printed with indentation', () => {
  /** `levels` arrays, each holding `filler` and the next. */
  function deep(levels: number, filler: unknown): unknown {
    let value: unknown = [filler];
    for (let i = 1; i < levels; i++) value = [filler, value];
    return value;
  }

  it.each(parsers)('%s refuses one level too deep, closers inside its strings closing nothing', (_, parse) => {
    // Each level's string holds closers, some right before a comma (where the quick look goes back
    // through them): a bound that took them off would find this text shallow and read a value no
    // walk over it survives.
    for (const filler of [']]]],', '}}]},x', 'a],b', '[],', ']}]}', '{}']) {
      for (const newline of ['\n', '\r\n']) {
        const text = JSON.stringify(deep(MAX_JSON_DEPTH + 1, filler), null, 2).replaceAll('\n', newline);
        const error = thrown(() => parse(text));
        // Level k opens on line 2k - 1, indented by its parents.
        expect(error).toMatchObject({ code: ErrorCodes.CORRUPTED, file: 'deep.json', position: { line: 2 * MAX_JSON_DEPTH + 1, column: 2 * MAX_JSON_DEPTH + 1 } });
        expect(parse(JSON.stringify(deep(MAX_JSON_DEPTH, filler), null, 2).replaceAll('\n', newline))).toEqual(deep(MAX_JSON_DEPTH, filler));
      }
    }
  });

  it.each(parsers)('%s reads a shallow file of more arrays and objects than the limit, brackets in its strings, printed or compact', (_, parse) => {
    const records = Object.fromEntries(
      // Enough records that even the compact text is long enough for the bound (hundreds of kilobytes).
      Array.from({ length: 8 * MAX_JSON_DEPTH }, (_, i) => [`r${i}`, { args: ['[[[{{{', i, { nested: [']', '[]'] }], empty: [], none: {} }]),
    );
    for (const indent of [2, undefined, '\t']) {
      const text = JSON.stringify({ schemaVersion: 1, records }, null, indent);
      expect(text.length).toBeGreaterThan(256 * 1024);
      expect(parse(text)).toEqual({ schemaVersion: 1, records });
      // A short one of many containers too (walked).
      const short = JSON.stringify(Array.from({ length: 2 * MAX_JSON_DEPTH }, () => [['['], { a: [']'] }]), null, indent);
      expect(parse(short)).toEqual(JSON.parse(short));
    }
  });
});
