// A phase switch killed between its phase.json and state.json writes (a crash or a full disk there)
// leaves this clone's migration evidence beside a phase that has moved on. With real processes: the
// switch is SIGKILLed right after phase.json lands, then a deploy script writes in leveldb-only.
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { readState } from '../src/state.js';
import { resolvePaths, stateFiles } from '../src/paths.js';
import { demoMigration, putThroughStore, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-switch-cut-off-');

async function killedAfterPhase(dir: string, command: 'disable' | 'rollback'): Promise<void> {
  const exit = await runNode('killed-after-phase.mjs', [dir, command, 'leveldb-only']).done;
  expect(exit.signal, exit.stdout + exit.stderr).toBe('SIGKILL');
}

describe('a phase switch killed between phase.json and state.json', () => {
  // Before: enable kept the old copy and verify, promote passed on them and json-primary reads
  // missed the leveldb-only writes (a deploy script redeploys): 3 of 3 runs with a live writer.
  it('dual-write disable: enabling again needs a fresh copy before promote, and the leveldb-only write is read back after it', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    expect((await migration.verify()).clean).toBe(true);
    await migration.close();
    await killedAfterPhase(tempDir(), 'disable');
    await putThroughStore(tempDir(), sampleRecord(97, 'WhileLevelDbOnly', 'bsctestnet', 1));
    const again = await Migration.open({ cwd: tempDir() });
    await again.enableDualWrite();
    await expect(again.promote()).rejects.toMatchObject({ code: 'GATE_FAILED' });
    await again.migrate();
    expect((await again.verify()).clean).toBe(true);
    await again.promote();
    await again.close();
    const store = createStateStore({ cwd: tempDir(), env: {} });
    expect((await store.get(97, 'WhileLevelDbOnly'))?.contractName).toBe('WhileLevelDbOnly');
    await store.close();
  });

  // Before: status named the carried-back writes as left behind by a teammate's rollback, and the
  // rollback it hinted at put back a record a script deleted since: 3 of 3 runs with a live writer.
  it('rollback: its own finished carry-back is no teammate\'s, and a record deleted since stays deleted', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await migration.close();
    await putThroughStore(tempDir(), sampleRecord(97, 'FromJsonOnly', 'bsctestnet', 1));
    await killedAfterPhase(tempDir(), 'rollback');
    const store = createStateStore({ cwd: tempDir(), env: {} });
    expect((await store.get(97, 'FromJsonOnly'))?.contractName).toBe('FromJsonOnly');
    expect(await store.delete(97, 'FromJsonOnly')).toBe(true);
    await store.close();
    const again = await Migration.open({ cwd: tempDir() });
    const status = await again.status();
    expect(status.phase).toBe('leveldb-only');
    expect(status.leftBehind).toBeUndefined();
    await again.rollback();
    await again.close();
    const after = createStateStore({ cwd: tempDir(), env: {} });
    expect(await after.get(97, 'FromJsonOnly')).toBeNull();
    await after.close();
  });

  // Before: the new migration's report showed the old cut-over's digests and counts as its own
  // ("100% preserved (digests equal) at cut-over", 27/27 migrated) before any copy: 1 of 1 runs
  // (also after a teammate's rollback pulled through git, which leaves this clone's state.json as it was).
  it('rollback: enabling dual-write again drops the old cut-over evidence, and the new report shows none', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await migration.close();
    await killedAfterPhase(tempDir(), 'rollback');
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    expect((await readState(files)).cutoverEvidence).toBeTruthy();
    const again = await Migration.open({ cwd: tempDir() });
    await again.enableDualWrite();
    expect((await readState(files)).cutoverEvidence ?? null).toBeNull();
    const report = await again.report();
    await again.close();
    expect(report.json.dataIntegrity).toMatchObject({ atCutover: null });
  });
});
