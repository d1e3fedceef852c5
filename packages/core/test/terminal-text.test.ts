// Text for a terminal (terminal-text.ts): one wrapping rule for the CLI and the bench. Every row
// fits the width; a value an operator copies stays whole where a row can hold it.
import { describe, expect, it } from 'vitest';
import { visibleLength, wrapIndented, wrapRows, wrapToWidth } from '../src/index.js';

describe('wrapping', () => {
  it('wraps at spaces, breaks a long path mid-word, keeps colour codes whole and uncounted', () => {
    const long = `file: /a/${'x'.repeat(100)}/bscmainnet.json and more words after it`;
    for (const row of wrapToWidth(long, 40)) expect([...row].length, row).toBeLessThanOrEqual(40);
    const coloured = `\u001b[31m${'word '.repeat(30)}\u001b[39m`;
    const rows = wrapToWidth(coloured, 30);
    for (const row of rows) expect(row.replace(/\u001b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(30);
    expect(rows.join('')).toContain('\u001b[31m');
    expect(wrapToWidth('short', 40)).toEqual(['short']);
  });
});

// A value an operator copies (a digest, a command in backticks) was broken inside at 70 columns
// because a break was taken only past the first third of a row (terminal hunt).
describe('wrapToWidth keeps a value whole where a row can hold it', () => {
  it('moves a digest to a row of its own, and breaks outside a quoted command before inside it', () => {
    const digest = 'ab'.repeat(32);
    const rows = wrapToWidth(`LevelDB digest ${digest}`, 70);
    expect(rows).toEqual(['LevelDB digest', `    ${digest}`]);
    const hint = 'next: run `deploystate cutover --acknowledge DEV_CHAIN` then `deploystate status` to see it';
    const wrapped = wrapToWidth(hint, 50);
    expect(wrapped.every((row) => row.length <= 50)).toBe(true);
    expect(wrapped.some((row) => row.includes('`deploystate cutover --acknowledge DEV_CHAIN`'))).toBe(true);
  });
});

describe('wrapIndented', () => {
  it('indents every row and counts the indent, at any width', () => {
    expect(wrapIndented('aaa bbb ccc', 9, '  ')).toEqual(['  aaa bbb', '  ccc']);
    expect(wrapIndented('', 40, '  ')).toEqual([]);
    expect(wrapIndented('one two', 8, '    ')).toEqual(['    one', '    two']);
  });

  // The bench kept a word wider than its 100 columns whole (a temp folder's path in a progress line):
  // the terminal then cut or wrapped it where it liked.
  it('breaks a path wider than a row after a slash, and the rows put back together are the path', () => {
    const path = `/tmp/deploystate-bench-migration-AbC123/${'deep/'.repeat(20)}deployments/bscmainnet.json`;
    const rows = wrapIndented(`saved ${path}`, 60, '    ');
    for (const row of rows) expect(visibleLength(row), row).toBeLessThanOrEqual(60);
    expect(rows.slice(1).every((row) => row.startsWith('    '))).toBe(true);
    expect(rows.map((row) => row.slice(4)).join('').replace('saved', 'saved ')).toBe(`saved ${path}`);
    expect(rows.slice(1, -1).every((row) => row.endsWith('/'))).toBe(true);
  });

  it('continues a first row that has its own indent under the next one', () => {
    expect(wrapRows('  PASS  reads take at most twice as long', 20, '        ')).toEqual(['  PASS  reads take', '        at most', '        twice as', '        long']);
  });
});
