// Gates, locks, the state file, the diff, and the factory's routing.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { acquireLock, createDemo, createStateStore, Journal, Migration, routeFor, stateFiles } from '../src/index.js';
import { initialState } from '../src/state.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-gates-');

describe('gates and codes', () => {
  it('a held migration lock gives LOCKED naming the holder', async () => {
    const migration = await demoMigration(tempDir());
    const lock = await acquireLock(stateFiles(migration.paths).migrationLock, { purpose: 'test holder' });
    try {
      const error = await migration.enableDualWrite().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LOCKED', file: lock.file });
      expect(String((error as Error).message)).toContain(String(process.pid));
    } finally {
      await lock.release();
    }
    expect((await migration.enableDualWrite()).phase).toBe('dual-write');
  });

  it('a corrupt or invalid state file gives MIGRATION_STATE_INVALID naming it, to the CLI and to the factory', async () => {
    await createDemo(tempDir());
    const files = stateFiles((await Migration.open({ cwd: tempDir() })).paths);
    await mkdir(files.stateDir, { recursive: true });
    await writeFile(files.state, '{"version":1,"phase":');
    await expect(Migration.open({ cwd: tempDir() })).rejects.toMatchObject({ code: 'MIGRATION_STATE_INVALID', file: files.state });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await expect(store.putContract(97, sampleRecord(97, 'X', 'bsctestnet'))).rejects.toMatchObject({ code: 'MIGRATION_STATE_INVALID' });
    await writeFile(files.state, JSON.stringify({ ...initialState(), phase: 'half-way' }));
    await expect(Migration.open({ cwd: tempDir() })).rejects.toMatchObject({ code: 'MIGRATION_STATE_INVALID' });
  });

  it('dual-write verify before dual-write is on names the command that turns it on', async () => {
    const migration = await demoMigration(tempDir());
    const report = await migration.verifyDualWrite();
    expect(report.ready).toBe(false);
    expect(report.checks.find((c) => c.name === 'phase')?.detail).toContain('deploystate dual-write enable');
  });

  it('promote refuses before a copy and before a verify after it; migrate refuses outside dual-write', async () => {
    const migration = await demoMigration(tempDir());
    await expect(migration.migrate()).rejects.toMatchObject({ code: 'TRANSITION_REFUSED' });
    await expect(migration.promote()).rejects.toMatchObject({ code: 'TRANSITION_REFUSED' });
    await migration.enableDualWrite();
    await expect(migration.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    await migration.migrate();
    await expect(migration.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    await expect(migration.cutover()).rejects.toMatchObject({ code: 'TRANSITION_REFUSED' });
    await migration.verify();
    expect((await migration.promote()).phase).toBe('json-primary');
  });

  it('a tampered JSON record is named in the diff, and cut-over refuses without a clean verify', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const text = await readFile(file, 'utf8');
    const tampered = text.replace(/("address": ")0x[0-9a-f]{40}/, '$10x2222222222222222222222222222222222222222');
    expect(tampered).not.toBe(text);
    await writeFile(file, tampered);
    const comparison = await migration.compare();
    expect(comparison.equal).toBe(false);
    expect(comparison.differing.map((d) => d.key)).toHaveLength(1);
    expect(comparison.differing[0]?.key.startsWith('97-')).toBe(true);
    expect(comparison.differing[0]?.fields.map((f) => f.field)).toEqual(['address']);
    // The copy wrote that record: a file changed under it is named as a foreign overwrite, before any verify.
    await expect(migration.cutover({ acknowledge: ['DEV_CHAIN'] })).rejects.toMatchObject({
      code: 'FOREIGN_OVERWRITE',
      key: comparison.differing[0]?.key,
    });
    expect((await migration.status()).phase).toBe('json-primary');
    const verify = await migration.verify();
    expect(verify.clean).toBe(false);
    expect(verify.evidence.differences).toBe(1);
  });

  it('cut-over lists pre-existing findings until they are acknowledged', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    const error = await migration.cutover().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GATE_FAILED' });
    expect(String((error as Error).message)).toContain('31337-TestToken');
    // A typo names nothing: refused, naming what it likely meant (before, it was recorded as given).
    await expect(migration.cutover({ acknowledge: ['31337-LookCoin', 'DEV_CHIAN'] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('did you mean DEV_CHAIN?'),
    });
    expect((await migration.status()).phase).toBe('json-primary');
    const cut = await migration.cutover({
      acknowledge: ['31337-LookCoin', '31337-TestToken', 'MISSING_IMPLEMENTATION_HASH'],
      soak: { count: 2, intervalMs: 5 },
    });
    expect(cut.soakVerifies).toBe(2);
    expect(cut.phase).toBe('json-only');
  });
});

class FailingStore extends MemoryStore {
  failPuts = false;
  failDeletes = false;
  /** Runs before each put (another process's write landing meanwhile, say). */
  beforePut: (() => Promise<unknown>) | undefined;
  protected override async _put(key: string, record: DeploymentRecord): Promise<void> {
    await this.beforePut?.();
    if (this.failPuts) throw Object.assign(new Error('disk on fire'), { code: 'WRITE_FAILED' });
    return super._put(key, record);
  }
  protected override async _delete(key: string): Promise<boolean> {
    if (this.failDeletes) throw Object.assign(new Error('disk on fire'), { code: 'WRITE_FAILED' });
    return super._delete(key);
  }
}

describe('the factory store', () => {
  it('compensates a failed secondary write, and marks the state diverged when the undo fails too; promote then refuses', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    await migration.verify();
    const primary = new FailingStore();
    const secondary = new FailingStore();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb: primary, json: secondary } });
    secondary.failPuts = true;
    await expect(store.putContract(97, sampleRecord(97, 'Compensated', 'bsctestnet'))).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(await primary.get(97, 'Compensated')).toBeNull();
    primary.failDeletes = true;
    await expect(store.putContract(97, sampleRecord(97, 'Diverged', 'bsctestnet'))).rejects.toMatchObject({ code: 'DIVERGED' });
    await store.close();
    const journal = await new Journal(stateFiles(migration.paths).journal, stateFiles(migration.paths).journalLock).read();
    const outcomes = journal.entries.flatMap((e) => (e.type === 'outcome' ? [e.outcome] : []));
    expect(outcomes).toEqual(['compensated', 'diverged']);
    expect((await migration.status()).diverged).toBe(true);
    await expect(migration.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    // The real stores never saw either write, so a clean verify clears the divergence.
    expect((await migration.verify()).clean).toBe(true);
    expect((await migration.promote()).phase).toBe('json-primary');
  });

  // A write whose secondary failed only after a while (LevelDB held elsewhere for its whole wait)
  // put back what the primary held before it, wiping another script's write of the key that had
  // landed (and been acknowledged) meanwhile.
  it('the undo of a failed secondary write leaves a later write of the same key in place', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const primary = new FailingStore();
    const secondary = new FailingStore();
    const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb: primary, json: secondary } });
    const later = sampleRecord(97, 'Contended', 'bsctestnet', 2);
    // The secondary fails, but only once another write of the key has reached the primary.
    secondary.failPuts = true;
    secondary.beforePut = () => primary.put(later);
    await expect(store.putContract(97, sampleRecord(97, 'Contended', 'bsctestnet', 1))).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(await primary.get(97, 'Contended')).toEqual(later);
    await store.close();
    await migration.close();
  });

  // In json-primary the undo read the key before its JSON write and checked it again before putting
  // that back, each outside the file's lock: another script's write landing in either gap was
  // acknowledged, then wiped from JSON by the undo (an older value put back over it).
  describe('the undo of a json-primary write whose LevelDB write failed', () => {
    /** LevelDB that refuses the writes of one timestamp (this script's), and takes everyone else's. */
    class RefusingStore extends MemoryStore {
      refused = -1;
      refusedToo = -1;
      /** Awaited before a refused write fails. */
      beforeRefusing: ((record: DeploymentRecord) => Promise<unknown>) | undefined;
      protected override async _put(key: string, record: DeploymentRecord): Promise<void> {
        if (record.timestamp === this.refused || record.timestamp === this.refusedToo) {
          await this.beforeRefusing?.(record);
          throw Object.assign(new Error('disk on fire'), { code: 'WRITE_FAILED' });
        }
        return super._put(key, record);
      }
    }
    /** The JSON store a script writes through, with a hook where it first reads or writes the key, and one where its undo does. */
    class HookedJson extends JsonFileStore {
      onWrite: (() => Promise<void>) | undefined;
      onUndo: (() => Promise<void>) | undefined;
      /** The key's reads and writes so far (the hooks count from the script's put under test). */
      calls = 0;
      private async hook(): Promise<void> {
        const hook = ++this.calls === 1 ? this.onWrite : this.calls === 2 ? this.onUndo : undefined;
        await hook?.();
      }
      override async get(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
        const record = await super.get(chainId, contractName);
        await this.hook();
        return record;
      }
      override async swap(...args: Parameters<JsonFileStore['swap']>): ReturnType<JsonFileStore['swap']> {
        await this.hook();
        return super.swap(...args);
      }
      /** Told of each write's record as it begins (null: a delete). */
      whenWriting: ((record: DeploymentRecord | null) => void) | undefined;
      override async swapChecked(...args: Parameters<JsonFileStore['swapChecked']>): ReturnType<JsonFileStore['swapChecked']> {
        this.whenWriting?.(args[2]?.record ?? null);
        await this.hook();
        return super.swapChecked(...args);
      }
    }
    const setup = async () => {
      const migration = await demoMigration(tempDir(), 'json-primary');
      const dir = join(tempDir(), 'deployments');
      const leveldb = new RefusingStore();
      const json = new HookedJson({ dir });
      await json.open();
      // Another process's store on the same files (its own lock lease and cache).
      const other = new JsonFileStore({ dir });
      await other.open();
      const store = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb, json } });
      const at = (timestamp: number) => ({ ...sampleRecord(97, 'Contended', 'bsctestnet'), timestamp });
      await store.putContract(97, at(1));
      json.calls = 0;
      // Another script's write, acknowledged on both sides.
      const otherWrites = (timestamp: number) => async () => {
        await other.put(at(timestamp));
        await leveldb.put(at(timestamp));
      };
      const ours = at(2);
      leveldb.refused = ours.timestamp;
      const close = async () => {
        await store.close();
        await other.close();
        await json.close();
        await migration.close();
      };
      return { json, other, leveldb, store, at, ours, otherWrites, close };
    };

    it('puts back the write that landed just before it, not the value read before that write', async () => {
      const t = await setup();
      t.json.onWrite = t.otherWrites(3);
      await expect(t.store.putContract(97, t.ours)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
      expect((await t.other.get(97, 'Contended'))?.timestamp).toBe(3);
      expect((await t.leveldb.get(97, 'Contended'))?.timestamp).toBe(3);
      await t.close();
    });

    // Two scripts whose LevelDB writes both fail: the first's undo found the second's write over
    // its own and left it; the second's undo then put back the first's, itself rejected: JSON (the
    // side deploy scripts read) served a write no script had been told succeeded (found by a hunt
    // with two real processes, 4 of 4). A network's json-primary writes now take turns.
    it('two writes of one key whose LevelDB writes both fail leave what was there before', async () => {
      const t = await setup();
      const second = createStateStore({ cwd: tempDir(), env: {}, stores: { leveldb: t.leveldb, json: t.json } });
      const theirs = t.at(5);
      t.leveldb.refusedToo = theirs.timestamp;
      // The first write's LevelDB write fails only once the second write has begun its JSON write,
      // or after 300 ms when it cannot begin (it waits for its turn).
      let secondBegan: () => void = () => undefined;
      const began = new Promise<void>((resolve) => (secondBegan = resolve));
      t.json.onWrite = undefined;
      t.json.whenWriting = (record) => {
        if (record?.timestamp === theirs.timestamp) secondBegan();
      };
      t.leveldb.beforeRefusing = (record) =>
        record.timestamp === t.ours.timestamp ? Promise.race([began, new Promise((resolve) => setTimeout(resolve, 300))]) : Promise.resolve();
      t.leveldb.refused = t.ours.timestamp;
      const first = t.store.putContract(97, t.ours);
      const other = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return second.putContract(97, theirs);
      })();
      const results = await Promise.allSettled([first, other]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect((await t.other.get(97, 'Contended'))?.timestamp).toBe(1);
      expect((await t.leveldb.get(97, 'Contended'))?.timestamp).toBe(1);
      await second.close();
      await t.close();
    });

    it('leaves in place a write that lands while it runs', async () => {
      const t = await setup();
      t.json.onUndo = t.otherWrites(4);
      await expect(t.store.putContract(97, t.ours)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
      expect((await t.other.get(97, 'Contended'))?.timestamp).toBe(4);
      await t.close();
    });
  });

  it('follows a phase change made by another Migration instance, and journals intent before outcome', async () => {
    await createDemo(tempDir());
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'BeforeDual', 'bsctestnet'));
    expect(store.phase).toBe('leveldb-only');
    const other = await Migration.open({ cwd: tempDir() });
    await other.enableDualWrite();
    await store.putContract(97, sampleRecord(97, 'AfterDual', 'bsctestnet'));
    expect(store.phase).toBe('dual-write');
    await store.close();
    const { JsonFileStore } = await import('@deploystate/backend-json');
    const json = new JsonFileStore({ dir: other.paths.deployments, cache: false });
    await json.open();
    expect(await json.get(97, 'AfterDual')).not.toBeNull();
    expect(await json.get(97, 'BeforeDual')).toBeNull();
    await json.close();
    const files = stateFiles(other.paths);
    const entries = (await new Journal(files.journal, files.journalLock).read()).entries.filter((e) => e.type !== 'event');
    expect(entries.map((e) => e.type)).toEqual(['intent', 'outcome']);
    expect(entries[0]).toMatchObject({ key: '97-AfterDual', op: 'put', phase: 'dual-write' });
    expect(entries[1]).toMatchObject({ type: 'outcome', ref: entries[0]?.seq, outcome: 'ok' });
  });

  it('DUAL_WRITE_MODE adds JSON as a secondary to leveldb-only and never takes a store away from the primary', () => {
    const at = (phase: 'leveldb-only' | 'dual-write' | 'json-primary' | 'json-only') => ({ phase, rollback: null });
    expect(routeFor(at('leveldb-only'), { DUAL_WRITE_MODE: 'true' }).writes).toEqual(['leveldb', 'json']);
    expect(routeFor(at('leveldb-only'), {}).writes).toEqual(['leveldb']);
    for (const value of ['false', 'true', '0']) {
      expect(routeFor(at('json-only'), { DUAL_WRITE_MODE: value }).writes).toEqual(['json']);
      expect(routeFor(at('json-primary'), { DUAL_WRITE_MODE: value }).writes).toEqual(['json', 'leveldb']);
      expect(routeFor(at('dual-write'), { DUAL_WRITE_MODE: value }).writes).toEqual(['leveldb', 'json']);
      expect(routeFor(at('json-only'), { DUAL_WRITE_MODE: value, EMERGENCY_ROLLBACK: 'true' }).reads).toBe('json');
    }
  });

  it('DUAL_WRITE_MODE=true writes the JSON secondary from leveldb-only through the real backends', async () => {
    await createDemo(tempDir());
    const store = createStateStore({ cwd: tempDir(), env: { DUAL_WRITE_MODE: 'true' } });
    await store.putContract(84532, sampleRecord(84532, 'Mirrored', 'basesepolia'));
    await store.close();
    const { JsonFileStore } = await import('@deploystate/backend-json');
    const json = new JsonFileStore({ dir: join(tempDir(), 'deployments'), cache: false });
    await json.open();
    expect(await json.get(84532, 'Mirrored')).not.toBeNull();
    await json.close();
  });

  it('shadow reads journal a mismatch and still serve the primary', async () => {
    const leveldb = new MemoryStore();
    const json = new MemoryStore();
    const migration = await demoMigration(tempDir(), 'dual-write');
    await leveldb.open();
    await leveldb.put(sampleRecord(56, 'OnlyLeft', 'bscmainnet'));
    const store = createStateStore({ cwd: tempDir(), env: {}, shadowReads: true, stores: { leveldb, json } });
    expect(await store.getContract(56, 'OnlyLeft')).not.toBeNull();
    await store.close();
    const files = stateFiles(migration.paths);
    const entries = (await new Journal(files.journal, files.journalLock).read()).entries;
    expect(entries.some((e) => e.type === 'shadow-mismatch' && e.key === '56-OnlyLeft')).toBe(true);
  });
});
