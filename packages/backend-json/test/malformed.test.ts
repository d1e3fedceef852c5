// Malformed state files, each named for what it is: a duplicated key, a byte-order mark, a folder
// or a link where the file belongs; and number literals no double holds, kept byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readlink, lstat, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, JsonNumber, MAX_RECORD_DEPTH, parseLossless, stringifyLossless } from '@deploystate/core';
import { acquireLock } from '../src/lock.js';
import { rec, storePerTest } from './helpers.js';

const setup = storePerTest();

const EXACT = ['0.1000000000000000055511151231257827', '1.5e-400', '1e400', '1.0', '18446744073709551617'];

/** A state file of chain 56 holding `A`, with `extra` spliced into A's record text. */
function fileText(extra = ''): string {
  const a = stringifyLossless({ ...rec(56, 'A') }, 2).replace(/\n/g, '\n    ');
  return `{\n  "schemaVersion": 1,\n  "network": "bscmainnet",\n  "chainId": 56,\n  "records": {\n    "A": ${a.slice(0, -6)}${extra}\n    }\n  }\n}\n`;
}

async function refused(promise: Promise<unknown>, code: string, file: string): Promise<{ position?: { line: number; column: number } }> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; file?: string; position?: { line: number; column: number } } | undefined;
  expect(error, `expected ${code}`).toBeDefined();
  expect(error).toMatchObject({ code, file });
  return error as { position?: { line: number; column: number } };
}

describe('exact number literals in a state file', () => {
  it('keeps each literal byte for byte through a read and a rewrite of the file', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    const args = `[${EXACT.join(', ')}]`;
    await writeFile(file, fileText(`,\n      "exact": ${args}`));
    const record = await store.get(56, 'A');
    expect((record?.exact as unknown[])[0]).toEqual(new JsonNumber(EXACT[0] as string));
    await store.put(rec(56, 'B'));
    const after = await readFile(file, 'utf8');
    expect(after).toContain(`"exact": [\n        ${EXACT.join(',\n        ')}\n      ]`);
    // A put of the record as read back changes nothing.
    await store.put(record as never);
    expect(await readFile(file, 'utf8')).toBe(after);
  });

  it('reads 1e400 in a state file as the literal it is, not as invalid JSON', async () => {
    const { store } = await setup();
    await writeFile(store.fileFor(56), fileText(',\n      "big": 1e400'));
    expect(((await store.get(56, 'A'))?.big as JsonNumber).text).toBe('1e400');
  });
});

describe('malformed state files', () => {
  it('reads a file with a duplicated key but refuses to rewrite it (DUPLICATE_KEY, line and column)', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    const text = fileText(',\n      "note": "first",\n      "note": "second"');
    await writeFile(file, text);
    expect((await store.get(56, 'A'))?.note).toBe('second');
    const error = await refused(store.put(rec(56, 'B')), ErrorCodes.DUPLICATE_KEY, file);
    const line = text.split('\n').findIndex((l) => l.includes('"second"')) + 1;
    expect(error.position).toMatchObject({ line, column: 7 });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('reads a file that starts with a byte-order mark and keeps the mark on rewrite', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    await writeFile(file, `\uFEFF${fileText()}`);
    expect((await store.get(56, 'A'))?.contractName).toBe('A');
    await store.put(rec(56, 'B'));
    const after = await readFile(file, 'utf8');
    expect(after.startsWith('\uFEFF{')).toBe(true);
    expect(Object.keys((parseLossless(after.slice(1)) as { records: object }).records)).toEqual(['A', 'B']);
  });

  it.each([
    ['what a script printed for nothing', 'undefined', 'NOT_JSON'],
    ['bytes that are not UTF-8', '\uFFFD\uFFFDbad', 'NOT_JSON'],
    ['nothing', '', 'EMPTY_FILE'],
    ['only whitespace', ' \n\n', 'EMPTY_FILE'],
  ])('names a file holding %s by what it holds (never EMPTY_FILE unless it is blank)', async (_label, text, code) => {
    const { store } = await setup();
    const file = store.fileFor(56);
    await writeFile(file, text);
    const findings: Array<{ code: string; file?: string; line?: number }> = [];
    for await (const entry of store.iterate({ onInvalid: (e) => findings.push(e.finding) })) void entry;
    expect(findings).toEqual([expect.objectContaining({ code, file })]);
    if (code === 'NOT_JSON') expect(findings[0]).toMatchObject({ line: 1, column: 1 });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('names a folder where the state file belongs (NOT_A_FILE), on read, iterate and write', async () => {
    const { store } = await setup();
    const file = store.fileFor(56);
    await mkdir(file);
    await refused(store.get(56, 'A'), ErrorCodes.NOT_A_FILE, file);
    await refused(store.put(rec(56, 'A')), ErrorCodes.NOT_A_FILE, file);
    const findings: string[] = [];
    for await (const entry of store.iterate({ onInvalid: (e) => findings.push(e.finding.code) })) void entry;
    expect(findings).toEqual(['NOT_A_FILE']);
    expect((await lstat(file)).isDirectory()).toBe(true);
  });

  it.runIf(process.platform !== 'win32')(
    'names a FIFO where the state file belongs (NOT_A_FILE) on iterate and in the folder listing, never waiting on it',
    async () => {
      const { store } = await setup();
      const file = store.fileFor(56);
      execFileSync('mkfifo', [file]);
      try {
        expect(await store.listStateFiles()).toEqual([{ chainId: 56, file }]);
        const findings: string[] = [];
        for await (const entry of store.iterate({ onInvalid: (e) => findings.push(e.finding.code) })) void entry;
        expect(findings).toEqual(['NOT_A_FILE']);
        await refused(store.put(rec(56, 'A')), ErrorCodes.NOT_A_FILE, file);
      } finally {
        await import('node:fs/promises').then((fs) => fs.rm(file, { force: true }));
      }
    },
  );

  it('never follows nor replaces a symbolic link at a state file path (NOT_A_FILE)', async () => {
    const { store, dir } = await setup();
    const file = store.fileFor(56);
    const outside = join(dir, '..', `outside-${process.pid}-${Date.now()}.json`);
    const original = fileText();
    await writeFile(outside, original);
    try {
      await symlink(outside, file);
      await refused(store.get(56, 'A'), ErrorCodes.NOT_A_FILE, file);
      await refused(store.put(rec(56, 'B')), ErrorCodes.NOT_A_FILE, file);
      const findings: string[] = [];
      for await (const entry of store.iterate({ onInvalid: (e) => findings.push(e.finding.code) })) void entry;
      expect(findings).toEqual(['NOT_A_FILE']);
      expect(await readlink(file)).toBe(outside);
      expect(await readFile(outside, 'utf8')).toBe(original);
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(outside, { force: true }));
    }
  });
});

describe("a file where the store's own .deploystate folder goes", () => {
  it('serves reads; a write fails WRITE_FAILED naming that file and what to do, and works once it is moved away', async () => {
    const { dir, store, open } = await setup();
    await store.put(rec(56, 'A'));
    await store.close();
    const own = join(dir, '.deploystate');
    await rm(own, { recursive: true });
    await writeFile(own, 'not a folder\n');
    const reopened = await open();
    expect((await reopened.get(56, 'A'))?.contractName).toBe('A');
    const error = await refused(reopened.put(rec(56, 'B')), ErrorCodes.WRITE_FAILED, own);
    expect((error as { message?: string }).message).toContain('is not a folder');
    expect((error as { hint?: string }).hint).toContain('move that file away');
    // Another writer's lock under it names the file too (the migrator's write turn takes one there).
    await refused(acquireLock(join(own, 'locks', 'turn.lock')), ErrorCodes.WRITE_FAILED, own);
    await rm(own);
    await reopened.put(rec(56, 'B'));
    expect((await reopened.get(56, 'B'))?.contractName).toBe('B');
  });
});

/** Arrays nested `levels` deep around one big integer (an exact number: the codec's restore walks it). */
function nested(levels: number): string {
  return `${'['.repeat(levels)}123456789012345678901234567890${']'.repeat(levels)}`;
}

/** An array value nested `levels` deep, as a record field (arrays of arrays around one bigint). */
function nestedValue(levels: number): unknown {
  let value: unknown = 123456789012345678901234567890n;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

// Before: a file nesting a few thousand levels deep threw a raw RangeError (Maximum call stack size
// exceeded) from the codec's walks, 1 of 1 runs, naming no file: a crash, not a reader's error.
describe('a state file nested deeper than the codec reads', () => {
  it.each([
    ['in a record, around an exact number', (levels: number) => fileText(`,\n      "deep": ${nested(levels)}`)],
    [
      'in a key the store does not own',
      (levels: number) =>
        fileText().replace('{\n  "schemaVersion"', `{\n  "other": ${nested(levels).replace(/\d+/, '1')},\n  "schemaVersion"`),
    ],
  ])('is CORRUPTED naming the file (%s)', async (_, text) => {
    const { store } = await setup();
    const file = store.fileFor(56);
    await writeFile(file, text(6_000));
    await refused(store.get(56, 'A'), ErrorCodes.CORRUPTED, file);
    await refused(store.put(rec(56, 'B')), ErrorCodes.CORRUPTED, file);
  });

  it('keeps a record nested as deep as MAX_RECORD_DEPTH, and refuses a deeper one (INVALID_RECORD) writing nothing', async () => {
    const { store } = await setup();
    // The record object is its first level.
    await store.put({ ...rec(56, 'A'), deep: nestedValue(MAX_RECORD_DEPTH - 1) });
    expect(await store.get(56, 'A')).toEqual({ ...rec(56, 'A'), deep: nestedValue(MAX_RECORD_DEPTH - 1) });
    const before = await readFile(store.fileFor(56), 'utf8');
    await expect(store.put({ ...rec(56, 'B'), deep: nestedValue(MAX_RECORD_DEPTH) })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_RECORD,
    });
    expect(await readFile(store.fileFor(56), 'utf8')).toBe(before);
  });
});
