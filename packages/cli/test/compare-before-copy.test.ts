// compare in dual-write before the bulk copy has run: it passes (exit 0: the runbook's write
// consistency check), and its output says so, and that the copy has not run yet and what runs it.
// Before, it printed a red "✘ stores differ" over an exit 0. Real processes, real files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { deploystate, onlyDocument, putThroughStore, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-compare-before-copy-', { demo: false });

describe('compare in dual-write before the copy', () => {
  it('exits 0 with no failure mark, saying the copy has not run yet and to run `deploystate migrate`', async () => {
    const dir = await sampleAt(join(fixture.root, 'before-copy'), [['dual-write', 'enable']]);
    const text = await deploystate(['compare', '--no-color'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toContain('✘');
    expect(text.stdout).not.toContain('stores differ');
    expect(text.stdout).toMatch(/^✔ consistent so far/m);
    expect(text.stdout).toMatch(/the bulk copy has not run yet: 28 record\(s\) are only in leveldb until it does; run `deploystate migrate`$/m);
    const json = onlyDocument(await deploystate(['compare', '--json'], { cwd: dir }));
    expect(json).toMatchObject({ equal: false, copyPending: 28, copyStarted: false });
  });

  // After a cycle and its rollback, JSON holds what the first copy left: every record written in
  // leveldb-only since differed, and compare failed ("stores differ: ... 1 differing", no next step)
  // until the copy ran. It is the copy's work as a record only in LevelDB is; a write made in
  // dual-write that the sides disagree on still fails.
  it('after a rollback and dual-write enable again, a record JSON holds as the last cycle left it awaits the copy too', async () => {
    const dir = await sampleAt(join(fixture.root, 'second-cycle'), [['dual-write', 'enable'], ['migrate'], ['dual-write', 'disable']]);
    await putThroughStore(dir, { ...sampleRecord(56, 'LookCoin', 'bscmainnet', 7), timestamp: 1_800_000_000_000 });
    expect((await deploystate(['dual-write', 'enable', '--yes'], { cwd: dir })).code).toBe(0);
    await putThroughStore(dir, sampleRecord(97, 'WrittenInDualWrite', 'bsctestnet', 8));
    const text = await deploystate(['compare', '--no-color'], { cwd: dir });
    expect(text.code, text.stdout).toBe(0);
    expect(text.stdout).toMatch(/^ {2}awaits the copy {2}56-LookCoin$/m);
    expect(text.stdout).toMatch(/^✔ consistent so far: the 28 other record\(s\) both sides hold are equal/m);
    expect(text.stdout).toMatch(/the bulk copy has not run yet: 1 in json are as an earlier cycle left them until it does; run `deploystate migrate`/);
    expect(onlyDocument(await deploystate(['compare', '--json'], { cwd: dir }))).toMatchObject({ copyPending: 1 });
    // LevelDB changed behind the store for a key written in dual-write: a real inconsistency, still a failure.
    const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), idleCloseMs: 0 });
    await leveldb.open();
    await leveldb.put({ ...sampleRecord(97, 'WrittenInDualWrite', 'bsctestnet', 8), address: `0x${'ee'.repeat(20)}` });
    await leveldb.close();
    const failing = await deploystate(['compare', '--no-color'], { cwd: dir });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^ {2}differs {10}97-WrittenInDualWrite$/m);
  });
});
