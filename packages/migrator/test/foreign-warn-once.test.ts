// A finding is warned about once: a json-primary putMany whose phase moved under it (a rollback that
// began and stopped) falls back to single puts, which looked at the network file again and warned a
// second time about the same record a foreign rewrite dropped (1 warning became 2). Real processes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { demoMigration, putThroughStore, runNode, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-foreign-warn-once-');

describe('a foreign rewrite found during a putMany whose phase moved', () => {
  it('is warned about once', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.close();
    await putThroughStore(tempDir(), sampleRecord(97, 'Dropped', 'bsctestnet', 1));
    // Another program rewrites the network file without the record the store wrote there.
    const file = join(tempDir(), 'deployments', 'bsctestnet.json');
    const document = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    delete document.records.Dropped;
    await writeFile(file, `${stringifyLossless(document, 2)}\n`);

    const run = await runNode('put-many-phase-blip.mjs', [tempDir()]).done;
    expect(run.code, run.stderr).toBe(0);
    const { fellBack, warnings } = JSON.parse(run.stdout) as { fellBack: boolean; warnings: Array<{ keys: string[] }> };
    expect(fellBack).toBe(true);
    expect(warnings).toEqual([{ code: 'FOREIGN_OVERWRITE', keys: ['97-Dropped'] }]);
  });
});
