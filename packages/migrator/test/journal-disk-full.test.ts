// A disk that fills (here: the process's file-size limit, which fails a write() part-way as a full
// disk does) in the middle of a journal append. Before: a putMany's intents, appended in one write,
// were cut there; those written so far stayed in the journal with no outcome, and status named them
// as writes cut off, "not landed" (1 of 1 runs on a full tmpfs, 2 of 2 here), though the batch wrote
// nothing and its script got the error. Real processes, real limit.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, sampleRecord } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { Migration, stateFiles } from '../src/index.js';
import { APPEND_UNDONE, Journal } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';
import { emptyProjectIn, fixture, putThroughStore, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-journal-disk-full-');
const run = promisify(execFile);

/** The fixture's one putMany in a child whose files may not grow past `limitKb`. */
async function putManyLimited(dir: string, count: number, limitKb: number): Promise<{ ok?: boolean; code?: string; file?: string }> {
  const { stdout } = await run('bash', ['-c', `ulimit -S -f ${limitKb} && exec "$0" "$@"`, process.execPath, fixture('put-many-once.mjs'), dir, String(count), 'Cut', '97', 'bsctestnet']);
  return JSON.parse(stdout) as { ok?: boolean; code?: string; file?: string };
}

/** status names no write as cut off: nothing of a batch that could not be journalled reads as begun. */
async function expectNoCutOffWrites(dir: string): Promise<void> {
  const migration = await Migration.open({ cwd: dir });
  try {
    expect((await migration.status()).cutOffWrites).toBeUndefined();
  } finally {
    await migration.close();
  }
}

async function journalOf(dir: string): Promise<{ entries: Awaited<ReturnType<Journal['read']>>['entries']; torn: number }> {
  const { entries, torn } = await new Journal(stateFiles(resolvePaths({ cwd: dir })).journal).read();
  return { entries, torn };
}

describe('a journal append the disk cuts off', () => {
  // 40 records: one synchronous write(); 600: the intents go to the thread pool in several writes.
  it.skipIf(process.platform !== 'linux').each([40, 600])(
    'leaves none of a %i-record putMany in the journal, writes nothing, and the next write reads whole',
    async (count) => {
      const dir = tempDir();
      const { paths, files } = await emptyProjectIn(dir, 'json-only');
      await putThroughStore(dir, sampleRecord(97, 'Before', 'bsctestnet', 1));
      const file = join(paths.deployments, 'bsctestnet.json');
      const fileBefore = await readFile(file, 'utf8');
      const journalBefore = await journalOf(dir);

      // 8 KiB: past the journal's two lines, well short of the batch's intents.
      expect(await putManyLimited(dir, count, 8)).toEqual({ code: ErrorCodes.WRITE_FAILED, file: files.journal });

      const after = await journalOf(dir);
      expect(after.torn).toBe(0);
      expect(after.entries.slice(0, journalBefore.entries.length)).toEqual(journalBefore.entries);
      const added = after.entries.slice(journalBefore.entries.length);
      expect(added.length).toBeGreaterThan(0);
      expect(added.every((e) => e.type === 'event' && e.event === APPEND_UNDONE)).toBe(true);
      expect(await readFile(file, 'utf8')).toBe(fileBefore);
      await expectNoCutOffWrites(dir);

      // With room again, the same batch lands, each record journalled as a put of its own.
      expect(await putManyLimited(dir, count, 1024 * 1024)).toEqual({ ok: true });
      const again = await journalOf(dir);
      expect(again.torn).toBe(0);
      const since = again.entries.slice(after.entries.length);
      expect(since.filter((e) => e.type === 'intent')).toHaveLength(count);
      expect(since.filter((e) => e.type === 'outcome' && e.outcome === 'ok')).toHaveLength(count);
      expect(since.map((e) => e.seq)).toEqual(since.map((_, i) => after.entries.length + i + 1));
    },
  );
});

// The same disk, full a moment later: the intents are in the journal, the network file's write fails,
// and the journal cannot take the writes' `primary-failed` either. Before: the intents stayed open and
// status named each as a write cut off, "not landed" (1 of 1 runs on a full tmpfs), and the script got
// the journal's error instead of the file's.
describe('a write whose failure the journal cannot take', () => {
  // The limit lets the intents in (826 bytes a record) and cuts off their outcomes (about 400 each);
  // the network file, larger than it, cannot be written at all.
  it.skipIf(process.platform !== 'linux').each([
    [1, 1],
    [8, 8],
  ])('withdraws the intents of a %i-record write that changed nothing; the error names the network file', async (count, limitKb) => {
    const dir = tempDir();
    const { paths } = await emptyProjectIn(dir, 'json-only');
    const json = new JsonFileStore({ dir: paths.deployments });
    await json.open();
    await json.putMany(Array.from({ length: 20 }, (_, i) => ({ ...sampleRecord(97, `Before-${i}`, 'bsctestnet', i), deploymentArgs: ['y'.repeat(400)] })));
    await json.close();
    const file = join(paths.deployments, 'bsctestnet.json');
    const fileBefore = await readFile(file, 'utf8');

    expect(await putManyLimited(dir, count, limitKb)).toEqual({ code: ErrorCodes.WRITE_FAILED, file });

    const after = await journalOf(dir);
    expect(after.torn).toBe(0);
    expect(after.entries.filter((e) => e.type === 'intent')).toEqual([]);
    expect(after.entries.filter((e) => e.type === 'event' && e.event === APPEND_UNDONE && e.detail?.startsWith('intent '))).toHaveLength(count);
    expect(await readFile(file, 'utf8')).toBe(fileBefore);
    await expectNoCutOffWrites(dir);
    expect(await putManyLimited(dir, count, 1024 * 1024)).toEqual({ ok: true });
  });
});

// The disk full once the write is done: its intents and its file are written, and the journal cannot
// take its `ok` lines. Before (1 of 1 runs, the failure injected with strace): the script got the
// journal's DISK_FULL for a write that was stored, and would take it for one that did not happen.
describe('a write whose ok the journal cannot take', () => {
  it.skipIf(process.platform !== 'linux').each([1, 3])('succeeds for %i record(s), stored; status names them cut off, landed', async (count) => {
    // How many bytes the intents take: the same write once, with room, in a project of its own.
    const measured = join(tempDir(), 'measured');
    await emptyProjectIn(measured, 'json-only');
    expect(await putManyLimited(measured, count, 1024 * 1024)).toEqual({ ok: true });
    const lines = (await readFile(stateFiles(resolvePaths({ cwd: measured })).journal, 'utf8')).split('\n');
    const intentBytes = lines.slice(0, count).reduce((n, line) => n + Buffer.byteLength(line) + 1, 0);

    // The journal padded to end 100 bytes short of the limit once the intents are in: no ok line fits.
    const dir = join(tempDir(), 'project');
    const { paths, files } = await emptyProjectIn(dir, 'json-only');
    const limit = 16 * 1024;
    const pad = (detail: string): string => `{"type":"event","event":"padding","detail":"${detail}","time":"2026-01-01T00:00:00.000Z","pid":1,"phase":"json-only","id":"pad.1"}\n`;
    await writeFile(files.journal, pad('x'.repeat(limit - intentBytes - 100 - pad('').length)));

    expect(await putManyLimited(dir, count, limit / 1024)).toEqual({ ok: true });
    const stored = JSON.parse(await readFile(join(paths.deployments, 'bsctestnet.json'), 'utf8')) as { records: Record<string, unknown> };
    expect(Object.keys(stored.records)).toHaveLength(count);
    const migration = await Migration.open({ cwd: dir });
    try {
      expect((await migration.status()).cutOffWrites).toEqual(
        Array.from({ length: count }, (_, i) => expect.objectContaining({ key: `97-Cut-${i}`, landed: true })),
      );
    } finally {
      await migration.close();
    }
  });
});

// The journal moved aside and a new one started while a deploy script kept its append descriptor
// (the old file's), then that script's append cut off part-way. Before: the undo, finding the cut
// bytes through the old descriptor, overwrote the same offset in the file now at the journal's
// name, blanking other processes' entries there (8 of them, 4 of 4 runs). The undo now writes only
// to the file it appended to.
describe('an append cut off in a journal replaced meanwhile', () => {
  it.skipIf(process.platform !== 'linux')('leaves every entry of the journal now at its name as it was', async () => {
    const dir = tempDir();
    const file = join(dir, 'journal.ndjson');
    const child = spawn('bash', ['-c', `ulimit -S -f 8 && exec "$0" "$@"`, process.execPath, fixture('journal-append-on-go.mjs'), file, '40'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const out = createInterface({ input: child.stdout });
    const lines = out[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');

    await rename(file, join(dir, 'journal.old.ndjson'));
    const replacement = new Journal(file);
    await replacement.record(
      Array.from({ length: 60 }, (_, i) => ({ type: 'event' as const, event: `other-${i}`, detail: 'd'.repeat(200), time: new Date().toISOString(), pid: 1, phase: 'json-only' as const })),
    );
    await replacement.close();
    const before = await readFile(file, 'utf8');

    child.stdin.write('go\n');
    expect(JSON.parse((await lines.next()).value as string)).toEqual({ code: ErrorCodes.WRITE_FAILED });
    await once(child, 'exit');

    expect(await readFile(file, 'utf8')).toBe(before);
    // The file appended to holds its first line, the rest undone.
    const old = await new Journal(join(dir, 'journal.old.ndjson')).read();
    expect(old.torn).toBe(0);
    expect(old.entries.slice(1).length).toBeGreaterThan(0);
    expect(old.entries.slice(1).every((e) => e.type === 'event' && e.event === APPEND_UNDONE)).toBe(true);
  });
});

// Another process's append the disk cut off and undid leaves spaces with no newline; the next line
// (this process's intent) follows them on the same line. Before: withdrawing that intent (its write
// failed and the journal could not take the failure) found it "not at a line's start" and gave up,
// 3 of 3 runs: the intent stayed open, read as a write cut off, and the script got the journal's error.
describe('withdrawing an intent that follows an undone append', () => {
  it.skipIf(process.platform !== 'linux')('withdraws it: read back as append-undone, nothing torn', async () => {
    const dir = tempDir();
    const file = join(dir, 'journal.ndjson');
    const journal = new Journal(file);
    const intent = (key: string) => ({ type: 'intent' as const, key, op: 'put' as const, digest: '0'.repeat(64), time: new Date().toISOString(), pid: process.pid, phase: 'json-only' as const });
    await journal.record([intent('97-Before')], { durable: false });
    // The other process: its 40 intents cut off at 4 KiB, undone.
    const other = spawn('bash', ['-c', `ulimit -S -f 4 && exec "$0" "$@"`, process.execPath, fixture('journal-append-on-go.mjs'), file, '40'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let stdout = '';
    other.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    other.stdin.end('go\n');
    await once(other, 'exit');
    expect(stdout).toContain(ErrorCodes.WRITE_FAILED);
    expect((await readFile(file, 'utf8')).endsWith(' ')).toBe(true);

    const line = `{"type":"intent","key":"97-Mine","op":"put","digest":"${'0'.repeat(64)}","time":"${new Date().toISOString()}","pid":${process.pid},"phase":"json-only","id":"${journal.nextId()}"}`;
    await journal.appendPrinted(line);
    expect(journal.withdraw(line)).toBe(true);
    await journal.close();

    const { entries, torn } = await new Journal(file).read();
    expect(torn).toBe(0);
    expect(entries.filter((e) => e.type === 'intent').map((e) => (e as { key: string }).key)).toEqual(['97-Before', '97-First']);
    expect(entries[entries.length - 1]).toMatchObject({ type: 'event', event: APPEND_UNDONE, detail: 'intent 97-Mine' });
  });
});
