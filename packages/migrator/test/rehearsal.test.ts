// The end-to-end rehearsal: every state, while a second process writes and deletes through
// createStateStore(); and a copy SIGKILLed mid-way that resumes to the same digest.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compareDirect, demoMigration, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-e2e-');

describe('rehearsal', () => {
  it('walks every state while another process writes, and ends with equal digests holding every concurrent write', async () => {
    const migration = await demoMigration(tempDir());
    const writer = runNode('writer.mjs', [tempDir(), '36', 'w']);

    expect((await migration.analyze()).ok).toBe(true);
    await migration.enableDualWrite();
    const copy = await migration.migrate();
    expect(copy.copied).toBeGreaterThan(0);
    // The writer keeps going: verify and promote until a verify lands between two writes.
    for (let i = 0; i < 50; i++) {
      if ((await migration.verify()).clean) {
        try {
          await migration.promote();
          break;
        } catch {
          /* a write landed after the verify; try again */
        }
      }
      await new Promise((r) => setTimeout(r, 20));
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

  it('a copy SIGKILLed mid-way resumes from its checkpoint to the same digest', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const child = runNode('migrate.mjs', [tempDir()], { DEPLOYSTATE_COPY_DELAY_MS: '250' });
    const stateFile = `${migration.paths.stateDir}/state.json`;
    let chainsDone = 0;
    for (let i = 0; i < 400 && chainsDone < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const text = await readFile(stateFile, 'utf8').catch(() => '');
      try {
        chainsDone = (JSON.parse(text) as { copy?: { chainsDone?: number[] } }).copy?.chainsDone?.length ?? 0;
      } catch {
        /* mid-rename */
      }
    }
    child.process.kill('SIGKILL');
    const exit = await child.done;
    expect(exit.signal).toBe('SIGKILL');
    expect(chainsDone).toBeGreaterThanOrEqual(2);
    const mid = await migration.status();
    expect(mid.state.copy?.completedAt).toBeUndefined();

    const resumed = await migration.migrate();
    expect(resumed.resumed).toBe(true);
    const comparison = await compareDirect(tempDir());
    expect(comparison.equal).toBe(true);
    expect(comparison.right.digest).toBe(resumed.leveldbDigest);
    const again = await migration.migrate();
    expect(again.nothingToDo).toBe(true);
  });
});
