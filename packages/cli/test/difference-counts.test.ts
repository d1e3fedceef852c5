// compare and verify count every difference, past the 1000 the comparison lists: a store of 1528
// records before the copy, and after it with three network files gone. Before, every count was the
// capped list's length (1000), and the text said `--json` listed all while it held 1000 of them.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, largeSample, onlyDocument, runSteps, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-difference-counts-', { demo: false });
const GENERATED = 1500;
const RECORDS = 28 + GENERATED; // the demo's and the generated ones

describe('difference counts past the list cap', () => {
  it('before the copy: every record awaits it, in the verdict, copyPending and counts; the lists say they stop at 1000', async () => {
    const dir = join(fixture.root, 'before-copy');
    await largeSample(dir, GENERATED);
    const text = await deploystate(['compare', '--no-color'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`the bulk copy has not run yet: ${RECORDS} record\\(s\\) are only in leveldb`));
    expect(text.stdout).toContain(
      `... ${RECORDS - 20} more differences (showing the first 20; --json lists the first 1000 of ${RECORDS}, \`--max-details <n>\` raises that)`,
    );
    expect(text.stdout).not.toContain('--json lists all');

    const json = onlyDocument(await deploystate(['compare', '--json'], { cwd: dir }));
    expect(json).toMatchObject({ copyPending: RECORDS, counts: { missingInJson: RECORDS, missingInLeveldb: 0, differing: 0 }, truncated: true });
    expect(json.missingInJson).toHaveLength(1000);

    const all = onlyDocument(await deploystate(['compare', '--json', '--max-details', '5000'], { cwd: dir }));
    expect(all).toMatchObject({ copyPending: RECORDS, truncated: false });
    expect(all.missingInJson).toHaveLength(RECORDS);
  });

  it('after the copy, three network files gone: compare and verify count every record they held', async () => {
    const dir = join(fixture.root, 'files-gone');
    await largeSample(dir, GENERATED);
    await runSteps(dir, [['migrate'], ['verify']]);
    await rm(join(dir, 'deployments', 'bscmainnet.json'));
    await rm(join(dir, 'deployments', 'bsctestnet.json'));
    await rm(join(dir, 'deployments', 'basesepolia.json'));

    const compared = onlyDocument(await deploystate(['compare', '--json'], { cwd: dir }));
    const leveldb = (compared.leveldb as { count: number }).count;
    const gone = leveldb - (compared.json as { count: number }).count;
    expect(leveldb).toBe(RECORDS);
    expect(gone).toBeGreaterThan(1000);
    expect(compared).toMatchObject({ counts: { missingInJson: gone, missingInLeveldb: 0, differing: 0 }, truncated: true });
    expect(compared.error).toMatchObject({ code: 'STORES_DIFFER', details: { counts: { missingInJson: gone }, truncated: true } });
    const compareText = await deploystate(['compare', '--no-color'], { cwd: dir });
    expect(compareText.code).toBe(1);
    expect(compareText.stdout).toContain(`✘ stores differ: ${gone} only in leveldb, 0 only in json, 0 differing`);

    const verifyText = await deploystate(['verify', '--no-color'], { cwd: dir });
    expect(verifyText.code).toBe(1);
    expect(verifyText.stdout).toContain(`verify not clean: ${gone} differences`);
    expect(verifyText.stdout).toContain(`--json lists the first 1000 of ${gone}, \`deploystate compare --max-details <n>\` lists more)`);
  });
});
