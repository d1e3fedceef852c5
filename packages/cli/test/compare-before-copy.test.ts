// compare in dual-write before the bulk copy has run: it passes (exit 0: the runbook's write
// consistency check), and its output says so, and that the copy has not run yet and what runs it.
// Before, it printed a red "✘ stores differ" over an exit 0. Real processes, real files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

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
});
