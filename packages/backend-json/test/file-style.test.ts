// A network file keeps its own indent and line ends through the store's writes, the project's own
// updates and a merge: a put shows in `git diff` as the lines it changed. Before, the first write
// printed a CRLF or tab-indented file whole in two spaces and LF, so every line changed.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLossless, restyle, stringifyLossless, type FileStyle } from '@deploystate/core';
import { isStateFileMerge, mergeStateFiles, resolveConflicts, updateDeploymentFile } from '../src/index.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();
const FILE = 'bscmainnet.json';

const STYLES: Array<{ name: string; style: FileStyle }> = [
  { name: 'CRLF line ends (a Windows checkout)', style: { indent: '  ', eol: '\r\n', finalEol: true } },
  { name: 'tabs', style: { indent: '\t', eol: '\n', finalEol: true } },
  { name: 'four spaces and CRLF', style: { indent: '    ', eol: '\r\n', finalEol: true } },
  { name: 'a last line with no line end (JSON.stringify written as it is)', style: { indent: '  ', eol: '\n', finalEol: false } },
];

/** Every line break of `text` is `eol`, and every indented line starts with whole units of `indent`. */
function expectStyle(text: string, { indent, eol, finalEol }: FileStyle): void {
  const lines = text.split(eol);
  expect(lines.at(-1) === '').toBe(finalEol);
  for (const line of lines) {
    expect(line.includes('\n') || line.includes('\r')).toBe(false);
    const lead = /^[ \t]*/.exec(line)?.[0] ?? '';
    expect(lead.split(indent).join('')).toBe('');
  }
}

/** How many lines of `before` a line diff removes to reach `after` (its length less their longest common subsequence). */
function linesRemoved(before: string, after: string, eol: string): number {
  const a = before.split(eol);
  const b = after.split(eol);
  let row = new Array<number>(b.length + 1).fill(0);
  for (const line of a) {
    const next = [0];
    for (let j = 0; j < b.length; j++)
      next.push(line === b[j] ? (row[j] as number) + 1 : Math.max(row[j + 1] as number, next[j] as number));
    row = next;
  }
  return a.length - (row[b.length] as number);
}

/** The three sides of a merge as the store writes them: Base in all, Ours added on ours, Theirs (not Ours) on theirs. */
async function mergeSides(): Promise<{ base: string; ours: string; theirs: string }> {
  const { dir, store } = await setup();
  const read = (): Promise<string> => readFile(join(dir, FILE), 'utf8');
  await store.put(rec(56, 'Base'));
  const base = await read();
  await store.put(rec(56, 'Ours'));
  const ours = await read();
  await store.delete(56, 'Ours');
  await store.put(rec(56, 'Theirs'));
  return { base, ours, theirs: await read() };
}

async function backupsOf(dir: string): Promise<string[]> {
  return readdir(join(dir, '.deploystate', 'backups', FILE)).catch(() => []);
}

describe('a network file in its own style', () => {
  for (const { name, style } of STYLES) {
    it(`keeps ${name} through puts, and a put changes only its record's lines`, async () => {
      const { dir, store, open } = await setup();
      await store.put(rec(56, 'Alpha'));
      await store.put(rec(56, 'Gamma'));
      await store.close();
      const file = join(dir, FILE);
      const styled = restyle(await readFile(file, 'utf8'), style);
      await writeFile(file, styled);

      // A store that reads the file first, then the same store again (its second write starts
      // from what it wrote itself).
      const writer = await open();
      await writer.put(rec(56, 'Beta'));
      const afterFirst = await readFile(file, 'utf8');
      expectStyle(afterFirst, style);
      expect(linesRemoved(styled, afterFirst, style.eol)).toBe(0);
      await writer.put(rec(56, 'Alpha', { timestamp: 1_900_000_000_000 }));
      const afterSecond = await readFile(file, 'utf8');
      expectStyle(afterSecond, style);
      expect(linesRemoved(afterFirst, afterSecond, style.eol)).toBe(1);

      // What was written reads back exactly, in this store and a fresh one.
      const reader = await open();
      for (const s of [writer, reader]) {
        expect(await s.get(56, 'Beta')).toEqual(rec(56, 'Beta'));
        expect((await s.get(56, 'Alpha'))?.timestamp).toBe(1_900_000_000_000);
        expect(await s.get(56, 'Gamma')).toEqual(rec(56, 'Gamma'));
      }
      // A put that changes nothing writes nothing: same bytes, same file, no backup rotated in.
      const before = await stat(file);
      const backups = await backupsOf(dir);
      await reader.put(rec(56, 'Beta'));
      expect(await readFile(file, 'utf8')).toBe(afterSecond);
      expect((await stat(file)).ino).toBe(before.ino);
      expect(await backupsOf(dir)).toEqual(backups);
    });
  }

  it('updateDeploymentFile keeps the file’s style', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'Token'));
    const style: FileStyle = { indent: '\t', eol: '\r\n', finalEol: true };
    const file = join(dir, FILE);
    await writeFile(file, restyle(await readFile(file, 'utf8'), style));
    const result = await updateDeploymentFile('bscmainnet', (doc) => void (doc.config = { fee: 1 }), { dir });
    expect(result.changed).toBe(true);
    const text = await readFile(file, 'utf8');
    expectStyle(text, style);
    expect((parseLossless(text) as { config: unknown }).config).toEqual({ fee: 1 });
    expect(await store.get(56, 'Token')).toEqual(rec(56, 'Token'));
  });

  it('a merge keeps the style of our side', async () => {
    const { base, ours, theirs } = await mergeSides();
    const style: FileStyle = { indent: '    ', eol: '\r\n', finalEol: false };
    const merged = mergeStateFiles({ base, ours: restyle(ours, style), theirs }, { file: `deployments/${FILE}` });
    expect(merged.conflicts).toEqual([]);
    expectStyle(merged.text, style);
    const records = (parseLossless(merged.text) as { records: Record<string, unknown> }).records;
    expect(Object.keys(records).sort()).toEqual(['Base', 'Ours', 'Theirs']);
    expect(stringifyLossless(records.Ours)).toBe(stringifyLossless(rec(56, 'Ours')));
  });

  it("a merge and its resolution keep our side's byte-order mark, and add none from theirs", async () => {
    const { base, ours, theirs } = await mergeSides();
    const file = `deployments/${FILE}`;
    // Before, a side with the mark did not parse: git's merge driver fell back to a line merge.
    expect(isStateFileMerge({ base: `\uFEFF${base}`, ours: `\uFEFF${ours}`, theirs }, { file })).toBe(true);
    const merged = mergeStateFiles({ base, ours: `\uFEFF${ours}`, theirs }, { file });
    expect(merged.text.startsWith('\uFEFF{')).toBe(true);
    expect(Object.keys((parseLossless(merged.text.slice(1)) as { records: object }).records).sort()).toEqual(['Base', 'Ours', 'Theirs']);
    expect(mergeStateFiles({ base, ours, theirs: `\uFEFF${theirs}` }, { file }).text.startsWith('{')).toBe(true);
    // A conflict, resolved later: the resolution keeps the mark too.
    const changed = (text: string, address: string): string => text.replace(/"address": "0x[0-9a-fA-F]{40}"/, `"address": "${address}"`);
    const conflicted = mergeStateFiles(
      { base, ours: `\uFEFF${changed(base, `0x${'1'.repeat(40)}`)}`, theirs: changed(base, `0x${'2'.repeat(40)}`) },
      { file },
    );
    expect(conflicted.conflicts.length).toBeGreaterThan(0);
    expect(conflicted.text.startsWith('\uFEFF{')).toBe(true);
    expect(resolveConflicts(conflicted.text, { file, all: 'ours' }).text.startsWith('\uFEFF{')).toBe(true);
  });
});
