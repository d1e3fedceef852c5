// The end-to-end rehearsal: every state, while a second process writes and deletes through
// createStateStore(); and a copy SIGKILLed mid-way that resumes to the same digest.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDirect, demoMigration, firstLine, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-e2e-');

describe('rehearsal', () => {
  // A script's puts and deletes (writer.mjs), and a script's putMany of three networks every 10 ms
  // (batch-writer.mjs), which in dual-write is one LevelDB batch with its outbox entries.
  it.each([
    ['puts and deletes', 'writer.mjs'],
    ['putMany batches', 'batch-writer.mjs'],
  ])('walks every state while another process writes %s, and ends with equal digests holding every concurrent write', async (_, fixture) => {
    const migration = await demoMigration(tempDir());
    const writer = runNode(fixture, [tempDir(), '36', 'w']);

    expect((await migration.analyze()).ok).toBe(true);
    await migration.enableDualWrite();
    const copy = await migration.migrate();
    expect(copy.copied).toBeGreaterThan(0);
    // The writer keeps going: verify and promote until a verify lands between two writes. Once the
    // writer has exited nothing can land in between, so the first attempt after that must succeed.
    let writerExited = false;
    void writer.done.then(() => (writerExited = true));
    for (let promoted = false; !promoted;) {
      const last = writerExited;
      if ((await migration.verify()).clean) {
        promoted = await migration.promote().then(
          () => true,
          (error: unknown) => {
            // A write landed after the verify: the gate refuses, and the next round tries again.
            expect(error).toMatchObject({ code: 'GATE_FAILED' });
            return false;
          },
        );
      }
      if (!promoted && last) throw new Error('verify and promote still fail after the writer exited');
      if (!promoted && !writerExited) await new Promise((r) => setTimeout(r, 20));
    }
    expect((await migration.status()).phase).toBe('json-primary');

    const result = await writer.done;
    expect(result.code, result.stderr).toBe(0);
    const written = JSON.parse(result.stdout.trim()) as { present: string[]; deleted: string[] };
    expect(written.present.length).toBeGreaterThan(20);

    const analysis = await migration.analyze();
    const acknowledge = [...new Set(analysis.findings.filter((f) => f.severity !== 'info').map((f) => f.key ?? f.code))];
    const cut = await migration.cutover({ acknowledge });
    expect(cut.phase).toBe('json-only');

    const comparison = await compareDirect(tempDir());
    expect(comparison.equal).toBe(true);
    expect(comparison.left.digest).toBe(comparison.right.digest);
    const status = await migration.status();
    expect(status.state.cutoverEvidence?.leveldb.digest).toBe(status.state.cutoverEvidence?.json.digest);

    const { LevelDbStore } = await import('@deploystate/backend-leveldb');
    const { JsonFileStore } = await import('@deploystate/backend-json');
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    const json = new JsonFileStore({ dir: migration.paths.deployments, cache: false });
    await leveldb.open();
    await json.open();
    try {
      for (const key of written.present) {
        const [chain, ...rest] = key.split('-');
        const name = rest.join('-');
        expect(await leveldb.get(Number(chain), name), key).not.toBeNull();
        expect(await json.get(Number(chain), name), key).not.toBeNull();
      }
      for (const key of written.deleted) {
        const [chain, ...rest] = key.split('-');
        expect(await leveldb.get(Number(chain), rest.join('-')), key).toBeNull();
        expect(await json.get(Number(chain), rest.join('-')), key).toBeNull();
      }
    } finally {
      await leveldb.close();
      await json.close();
    }
    const report = await migration.report();
    expect(report.status).toBe('SUCCESS');
    expect((report.json.operations as { total: number }).total).toBeGreaterThanOrEqual(written.present.length);
  });

  it('a copy SIGKILLed after two checkpointed chains resumes with the rest, never copying a finished chain again, to the same digest', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    // The copy reads a snapshot in the temp folder, which a SIGKILL leaves: in the test's own folder.
    const tmp = join(tempDir(), 'tmp');
    await mkdir(tmp);
    const child = runNode('migrate-paused.mjs', [tempDir(), '2'], { TMPDIR: tmp });
    const paused = JSON.parse(await firstLine(child)) as { chainsDone: number[] };
    child.process.kill('SIGKILL');
    const exit = await child.done;
    expect(exit.signal).toBe('SIGKILL');
    expect(paused.chainsDone).toHaveLength(2);
    const mid = await migration.status();
    expect(mid.state.copy?.completedAt).toBeUndefined();
    expect(mid.state.copy?.chainsDone).toEqual(paused.chainsDone);

    // Each chain the copy works on ends with an event; a finished chain must not get one again.
    const worked: number[] = [];
    const resumed = await migration.migrate({
      batchSize: Number.MAX_SAFE_INTEGER,
      onProgress: (p) => worked.push(p.chainId as number),
    });
    expect(resumed.resumed).toBe(true);
    expect(worked.length).toBeGreaterThan(0);
    expect(worked.filter((chainId) => paused.chainsDone.includes(chainId))).toEqual([]);
    // Nothing from the finished chains was read again: the demo's JSON files hold no records yet,
    // so a re-read of a copied chain would count its records as unchanged.
    expect(resumed.unchanged).toBe(0);
    const after = await migration.status();
    expect([...paused.chainsDone, ...worked].sort()).toEqual([...(after.state.copy?.chainsDone ?? [])].sort());

    const comparison = await compareDirect(tempDir());
    expect(comparison.equal).toBe(true);
    expect(comparison.right.digest).toBe(resumed.leveldbDigest);
    const again = await migration.migrate();
    expect(again.nothingToDo).toBe(true);
  });
});
