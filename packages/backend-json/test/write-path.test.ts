// The mechanisms that make writes fast, each checked against the guarantee it must keep: the lock
// lease still gives other processes their turn, the own-write cache shortcut still sees foreign
// writes, and recycled backups keep the bound without touching a file someone else links.
import { spawn } from 'node:child_process';
import { link, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLossless } from '@deploystate/core';
import { lockFileFor, writeFileAtomic } from '../src/index.js';
import { isLockHeld } from '../src/lock.js';
import { rec, storePerTest } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url));
const setup = storePerTest();

/** Runs the writer fixture: `count` puts of `<prefix><i>` to chain 56, giving up on the lock after `lockTimeoutMs`. */
function runWriter(dir: string, prefix: string, count: number, lockTimeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [WRITER, dir, prefix, '0', String(count), String(lockTimeoutMs)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

const names = async (file: string): Promise<string[]> =>
  Object.keys((parseLossless(await readFile(file, 'utf8')) as { records: object }).records);

describe('lock lease', () => {
  it('keeps the lock between back-to-back writes and releases it on close', async () => {
    const { store } = await setup({ lockLeaseMs: 60_000 });
    await store.put(rec(56, 'A'));
    const lock = lockFileFor(store.fileFor(56));
    expect(isLockHeld(lock)).toBe(true);
    await store.put(rec(56, 'B'));
    expect(isLockHeld(lock)).toBe(true);
    await store.close();
    expect(isLockHeld(lock)).toBe(false);
  });

  it('an idle holder lets another process take the lock once the lease idles out', async () => {
    const { dir, store } = await setup({ lockLeaseMs: 300 });
    await store.put(rec(56, 'Holder'));
    expect(isLockHeld(lockFileFor(store.fileFor(56)))).toBe(true);
    // The child waits at most 5 s: far longer than the lease, far shorter than "never released".
    const { code, stderr } = await runWriter(dir, 'Child', 3, 5_000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(await names(store.fileFor(56))).toEqual(['Child0', 'Child1', 'Child2', 'Holder']);
    // And the holder writes again after it, seeing the child's records.
    await store.put(rec(56, 'Holder2'));
    expect((await store.list(56)).length).toBe(5);
  });

  it("a busy holder hands the lock to a waiting process (.wait) and loses none of either side's writes", async () => {
    const { dir, store } = await setup({ lockLeaseMs: 60_000 });
    await store.put(rec(56, 'H0'));
    let done = false;
    const child = runWriter(dir, 'W', 5, 5_000).then((result) => {
      done = true;
      return result;
    });
    // The lease never idles out here: the child only gets in if the holder hands over.
    let written = 1;
    while (!done && written < 3_000) await store.put(rec(56, `H${written++}`));
    const { code, stderr } = await child;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const all = await names(store.fileFor(56));
    for (let i = 0; i < 5; i++) expect(all).toContain(`W${i}`);
    for (let i = 0; i < written; i++) expect(all).toContain(`H${i}`);
  });
});

describe('own-write cache shortcut', () => {
  it.each([10, 0])('sees a foreign write made right after its own (backups %i)', async (backups) => {
    const { store, open } = await setup({ backups, lockLeaseMs: 0 });
    const other = await open({ lockLeaseMs: 0 });
    for (let i = 0; i < 20; i++) {
      await store.put(rec(56, 'Same', { timestamp: 2 * i }));
      // Same size, within the same millisecond or so: only the inode tells the versions apart.
      await other.put(rec(56, 'Same', { timestamp: 2 * i + 1 }));
      expect((await store.get(56, 'Same'))?.timestamp).toBe(2 * i + 1);
    }
  });

  it('sees a same-size replacement by another tool right after its own write', async () => {
    const { store } = await setup();
    await store.put(rec(56, 'A', { timestamp: 1 }));
    const text = await readFile(store.fileFor(56), 'utf8');
    const changed = text.replace('"timestamp": 1', '"timestamp": 7');
    expect(changed.length).toBe(text.length);
    await writeFileAtomic(store.fileFor(56), changed, { durable: false });
    expect((await store.get(56, 'A'))?.timestamp).toBe(7);
  });
});

describe('recycled backups', () => {
  it('keep the bound, hold the versions written newest first, and leave no temp file', async () => {
    const { dir, store } = await setup({ backups: 3 });
    for (let i = 0; i < 12; i++) await store.put(rec(56, `C${String(i).padStart(2, '0')}`));
    const backups = await store.listBackups(56);
    expect(backups.length).toBe(3);
    const counts = await Promise.all(backups.map(async (b) => (await names(b)).length));
    expect(counts).toEqual([12, 11, 10]);
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
  });

  it('never overwrite a backup that has another link', async () => {
    const { dir, store } = await setup({ backups: 2 });
    for (let i = 0; i < 3; i++) await store.put(rec(56, `C${i}`));
    const [, oldest] = await store.listBackups(56);
    const kept = join(dir, 'kept-elsewhere.json');
    await link(oldest as string, kept);
    const before = await readFile(kept, 'utf8');
    for (let i = 3; i < 6; i++) await store.put(rec(56, `C${i}`));
    expect(await readFile(kept, 'utf8')).toBe(before);
    expect((await store.listBackups(56)).length).toBe(2);
    expect((await store.list(56)).length).toBe(6);
  });
});

describe('per-record render cache', () => {
  it('prints the same bytes as printing the whole document at once, cached or not', async () => {
    const { emptyStateFile, renderStateFile } = await import('../src/index.js');
    const { orderRecordFields, stringifyLossless } = await import('@deploystate/core');
    const model = emptyStateFile(56, 'bscmainnet');
    const names = ['Zeta', 'alpha', 'Ünïcode "quoted"\\name', '__proto__', 'Big'];
    for (const name of names)
      model.records.set(name, rec(56, name, { deploymentArgs: [2n ** 90n, { nested: ['x', 1.5, null] }, []], extra: { a: {} } } as never));
    model.invalid.set('Broken', {
      name: 'Broken',
      value: { not: 'a record', n: 2n ** 70n },
      finding: { code: 'INVALID_RECORD', severity: 'error', message: 'x' } as never,
    });
    const whole = (): string => {
      const records: Record<string, unknown> = {};
      for (const name of [...names, 'Broken'].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
        const record = model.records.get(name);
        Object.defineProperty(records, name, {
          value: record ? orderRecordFields(record) : model.invalid.get(name)?.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      const document = { ...model.document, records };
      return `${stringifyLossless(document, 2)}\n`;
    };
    const cache = new WeakMap<object, string>();
    expect(renderStateFile(model, { network: 'bscmainnet' }).text).toBe(whole());
    expect(renderStateFile(model, { network: 'bscmainnet', recordTexts: cache }).text).toBe(whole());
    // A changed record is a new object: printed afresh while the others come from the cache.
    model.records.set('Big', rec(56, 'Big', { timestamp: 5 }));
    expect(renderStateFile(model, { network: 'bscmainnet', recordTexts: cache }).text).toBe(whole());
    const empty = emptyStateFile(1, 'ethereum');
    expect(renderStateFile(empty, { network: 'ethereum', recordTexts: cache }).text).toBe(`${stringifyLossless(empty.document, 2)}\n`);
  });
});

describe('record copies', () => {
  it('copy JSON-shaped data deeply, keep bigints and an own __proto__ key as data', async () => {
    const { cloneRecord } = await import('@deploystate/core');
    const source = JSON.parse('{"__proto__": {"polluted": true}, "list": [1, {"a": [2]}]}') as Record<string, unknown>;
    source.big = 2n ** 80n;
    source.when = new Date(5);
    const copy = cloneRecord(source);
    expect(copy).toEqual(source);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(copy.list).not.toBe(source.list);
    expect((copy.list as unknown[])[1]).not.toBe((source.list as unknown[])[1]);
    expect(copy.when).not.toBe(source.when);
    expect(copy.when).toEqual(new Date(5));
  });
});

// The migrator's store marks each file it writes in json-only with the cut-over it follows.
describe('fileFields', () => {
  it('gives a file its fields after chainId in the write that changes it, asked at each write, keeping every other key', async () => {
    let fields: Record<string, unknown> | undefined;
    const { dir, store } = await setup({ fileFields: () => fields });
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'Token'));
    expect(await readFile(file, 'utf8')).not.toContain('jsonOnlyAfterCutover');
    fields = { jsonOnlyAfterCutover: 1 };
    await store.put(rec(56, 'Vault'));
    const first = await readFile(file, 'utf8');
    expect(Object.keys(parseLossless(first) as object)).toEqual(['$schema', 'schemaVersion', 'network', 'chainId', 'jsonOnlyAfterCutover', 'records']);
    // A later write with the same fields splices its record in, the mark where it was.
    await store.put(rec(56, 'Router'));
    const second = await readFile(file, 'utf8');
    expect(second.slice(0, second.indexOf('"records"'))).toBe(first.slice(0, first.indexOf('"records"')));
    expect(Object.keys((parseLossless(second) as { records: object }).records)).toEqual(['Router', 'Token', 'Vault']);
    // Another value replaces it in place; a delete carries it too.
    fields = { jsonOnlyAfterCutover: 2 };
    await store.delete(56, 'Router');
    expect(parseLossless(await readFile(file, 'utf8'))).toMatchObject({ chainId: 56, jsonOnlyAfterCutover: 2 });
    // Without fields nothing is taken away.
    fields = undefined;
    await store.put(rec(56, 'Router'));
    expect(parseLossless(await readFile(file, 'utf8'))).toMatchObject({ jsonOnlyAfterCutover: 2 });
  });
});

