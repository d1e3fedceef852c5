// The style of a committed JSON file (indent, line ends, the last line end) as a rewrite keeps it:
// read from a few bytes, and applied to text printed in two spaces and LF.
import { describe, expect, it } from 'vitest';
import { fileStyleOf, keepingFileStyle, restyle } from '../src/index.js';

describe('fileStyleOf', () => {
  it('tells a file in the store’s own style (two spaces, LF) from one in its own', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    expect(fileStyleOf(`${JSON.stringify(doc, null, 2)}\n`)).toBeUndefined();
    expect(fileStyleOf(`${JSON.stringify(doc, null, '\t')}\n`)).toEqual({ indent: '\t', eol: '\n', finalEol: true });
    expect(fileStyleOf(`${JSON.stringify(doc, null, 4)}\n`.replace(/\n/g, '\r\n'))).toEqual({ indent: '    ', eol: '\r\n', finalEol: true });
    expect(fileStyleOf(`${JSON.stringify(doc, null, 2)}\n`.replace(/\n/g, '\r\n'))).toEqual({ indent: '  ', eol: '\r\n', finalEol: true });
    expect(fileStyleOf(JSON.stringify(doc, null, 2))).toEqual({ indent: '  ', eol: '\n', finalEol: false });
    // One line, or an indent that mixes tabs and spaces: printed as the store prints.
    expect(fileStyleOf(JSON.stringify(doc))).toBeUndefined();
    expect(fileStyleOf('{\n \t"a": 1\n}\n')).toBeUndefined();
    expect(fileStyleOf(undefined)).toBeUndefined();
    // A text and its bytes read alike, however long the first line.
    const longFirst = `{"a": "${'x'.repeat(5000)}",\r\n\t"b": 1}`;
    expect(fileStyleOf(longFirst)).toEqual({ indent: '\t', eol: '\r\n', finalEol: false });
    expect(fileStyleOf(Buffer.from(longFirst))).toEqual(fileStyleOf(longFirst));
    expect(fileStyleOf(Buffer.from(`${JSON.stringify(doc, null, '\t')}`))).toEqual({ indent: '\t', eol: '\n', finalEol: false });
  });

  it('restyle() gives the text JSON.stringify prints with that indent, line ends as asked', () => {
    const doc = { records: { 'a b': { deep: [{ x: 'a  "b"' }, [], {}], n: null } }, s: '  two spaces inside' };
    const two = `${JSON.stringify(doc, null, 2)}\n`;
    expect(restyle(two, { indent: '\t', eol: '\n', finalEol: true })).toBe(`${JSON.stringify(doc, null, '\t')}\n`);
    expect(restyle(two, { indent: '    ', eol: '\r\n', finalEol: true })).toBe(`${JSON.stringify(doc, null, 4)}\n`.replace(/\n/g, '\r\n'));
    expect(restyle(two, { indent: '\t', eol: '\n', finalEol: false })).toBe(JSON.stringify(doc, null, '\t'));
    expect(restyle(two, { indent: '  ', eol: '\n', finalEol: false })).toBe(JSON.stringify(doc, null, 2));
    expect(JSON.parse(restyle(two, { indent: '\t', eol: '\r\n', finalEol: true }))).toEqual(doc);
  });
});

describe('keepingFileStyle', () => {
  it('gives the new text the old file\'s style and byte-order mark; a new file gets the text as it is', () => {
    const doc = { a: [1, { b: 'c' }] };
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    expect(keepingFileStyle(undefined, text)).toBe(text);
    expect(keepingFileStyle(null, text)).toBe(text);
    expect(keepingFileStyle(`${JSON.stringify({ old: 1 }, null, 2)}\n`, text)).toBe(text);
    const old = `\uFEFF${JSON.stringify({ old: 1 }, null, '\t')}`.replace(/\n/g, '\r\n');
    expect(keepingFileStyle(old, text)).toBe(`\uFEFF${JSON.stringify(doc, null, '\t')}`.replace(/\n/g, '\r\n'));
  });
});
