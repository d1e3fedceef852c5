// In json-only LevelDB stays as the cut-over left it while deploy scripts write JSON: verify counts
// a write journalled since the cut-over, held in JSON as written, as no difference; a value JSON got
// any other way still is one.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { acknowledgeAll, demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-json-only-');

describe('verify and compare in json-only', () => {
  it('is clean after puts and deletes made since the cut-over, and names them; a value written by other means still differs', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const existing = (await store.list(97))[0];
    await store.putContract(97, sampleRecord(97, 'AfterCutover', 'bsctestnet', 9));
    expect(existing).toBeDefined();
    await store.delete(97, existing?.contractName as string);
    await store.close();

    const clean = await migration.verify();
    expect(clean.clean).toBe(true);
    expect(clean.comparison.writtenSinceCutover).toEqual(expect.arrayContaining(['97-AfterCutover', `97-${existing?.contractName}`]));
    // compare counts them as verify does: equal, and names them.
    const compared = await migration.compare();
    expect(compared.equal).toBe(true);
    expect(compared.writtenSinceCutover).toEqual(clean.comparison.writtenSinceCutover);

    // A script changes the record in place since (not through the store): a difference again.
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, { timestamp: number }> };
    (doc.records.AfterCutover as { timestamp: number }).timestamp += 1;
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    const changed = await migration.verify();
    expect(changed.clean).toBe(false);
    expect(changed.comparison.onlyRight.map((e) => e.key)).toContain('97-AfterCutover');
    expect((await migration.compare()).onlyRight.map((e) => e.key)).toContain('97-AfterCutover');
  });
});
