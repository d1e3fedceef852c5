// The repository README's performance table is what a reader takes our figures from: each row's
// verdict must say what its figures say. An edit that moved the "Now" figures and verdicts one row
// up (copy + verify shown as 7.25x and PASS: the copy's memory figure) went unnoticed for four rounds.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const README = new URL('../../../README.md', import.meta.url);

interface Row {
  what: string;
  limit: string;
  now: string;
  verdict: string;
}

/** The rows of the first table in the README's "## Performance" section. */
function performanceRows(markdown: string): Row[] {
  const section = markdown.split(/^## Performance$/m)[1]?.split(/^## /m)[0] ?? '';
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| '));
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('| ')) break;
    const cells = line.slice(2, -2).split(' | ');
    expect(cells, `a row of five cells: ${line}`).toHaveLength(5);
    const [what = '', limit = '', , now = '', verdict = ''] = cells;
    rows.push({ what, limit, now, verdict });
  }
  return rows;
}

/** The ratios a cell states (`0.81x`, `2.85-2.97x`: both ends), leaving out what it says in parentheses. */
function ratiosIn(cell: string): number[] {
  const outside = cell.replace(/\([^()]*\)/g, '');
  return [...outside.matchAll(/(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?x/g)].flatMap((m) => [m[1], m[2]].filter((v) => v !== undefined).map(Number));
}

/** Whether a ratio keeps to a limit such as `≤ 3x` or `≥ 0.8x native`; undefined for a row with none. */
function keepsTo(limit: string): ((ratio: number) => boolean) | undefined {
  const match = /^([≤≥]) (\d+(?:\.\d+)?)x/.exec(limit);
  if (!match) return undefined;
  const bound = Number(match[2]);
  return match[1] === '≤' ? (ratio) => ratio <= bound : (ratio) => ratio >= bound;
}

describe('ratiosIn', () => {
  it('reads single ratios and both ends of a range, not what parentheses hold', () => {
    expect(ratiosIn('0.81x / 0.77-0.84x / 0.78-0.82x')).toEqual([0.81, 0.77, 0.84, 0.78, 0.82]);
    expect(ratiosIn('2.85-2.97x / 3.33-3.68x (1473-1860 µs against 511-636 µs, 1.2x)')).toEqual([2.85, 2.97, 3.33, 3.68]);
    expect(ratiosIn('-')).toEqual([]);
  });
});

describe('the README performance table', () => {
  it("has a verdict in every row with a limit that its figures bear out, and none where there is no limit", async () => {
    const rows = performanceRows(await readFile(README, 'utf8'));
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      const keeps = keepsTo(row.limit);
      const label = `${row.what} (${row.limit}; now ${row.now}; ${row.verdict})`;
      if (keeps === undefined) {
        expect(['INFO', '-'], label).toContain(row.verdict);
        continue;
      }
      const ratios = ratiosIn(row.now);
      expect(ratios.length, label).toBeGreaterThan(0);
      const within = ratios.filter(keeps).length;
      const beyond = ratios.length - within;
      if (row.verdict.startsWith('PASS in every run')) expect(beyond, label).toBe(0);
      else if (row.verdict.startsWith('FAIL in every run')) expect(beyond, label).toBeGreaterThan(0);
      else if (/^FAIL in \d+ of \d+/.test(row.verdict)) expect(within > 0 && beyond > 0, label).toBe(true);
      else expect.fail(`a verdict of the form "PASS in every run", "FAIL in every run" or "FAIL in k of n": ${label}`);
    }
  });
});
