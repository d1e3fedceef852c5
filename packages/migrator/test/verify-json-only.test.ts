// In json-only LevelDB stays as the cut-over left it while deploy scripts write JSON: verify counts
// a write journalled since the cut-over, held in JSON as written, as no difference, and so is a
// record JSON got from elsewhere (a teammate's write through git) where LevelDB is as the cut-over
// left it; a record gone from JSON, or gone back in time, still is one.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { demoMigration, putThroughStore, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-json-only-');

describe('verify and compare in json-only', () => {
  it('is clean after puts and deletes made since the cut-over, and names them; a value written by other means still differs', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
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

    // A script changes the store's record in place since (not through the store): JSON's side
    // moved on, as a teammate's write does, but it lost what the store wrote there: unclean.
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, { timestamp: number }> };
    (doc.records.AfterCutover as { timestamp: number }).timestamp += 1;
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    const changed = await migration.verify();
    expect(changed.clean).toBe(false);
    // The newer record is JSON's own since the cut-over; the script's rewrite also lost a digit of
    // another record (JSON.parse), kept its timestamp: a difference, and a record the store wrote changed.
    expect(changed.comparison.writtenElsewhere).toEqual(['97-AfterCutover']);
    const damaged = changed.comparison.differing.map((d) => d.key);
    expect(damaged.length).toBeGreaterThan(0);
    expect(changed.files?.findings.map((f) => f.key)).toEqual(damaged);

    // A record changed in place with its timestamp kept (not a later write): a difference, and one
    // the store wrote changed (FOREIGN_OVERWRITE), written without losing a digit this time.
    const lossless = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, { address: string }> };
    const victim = Object.keys(lossless.records).find((name) => name !== 'AfterCutover' && !damaged.includes(`97-${name}`)) as string;
    (lossless.records[victim] as { address: string }).address = `0x${'22'.repeat(20)}`;
    await writeFile(file, `${stringifyLossless(lossless, 2)}\n`);
    const inPlace = await migration.verify();
    expect(inPlace.clean).toBe(false);
    expect(inPlace.comparison.differing.map((d) => d.key)).toContain(`97-${victim}`);
    expect(inPlace.files?.findings.map((f) => f.key)).toContain(`97-${victim}`);
  });

  it('in a clone that did not cut over, and for a teammate\'s writes pulled through git: clean, naming them', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    await migration.close?.();
    // A clone: LevelDB, the network files and the committed phase file, none of the state folder's local files.
    const clone = join(tempDir(), 'clone');
    await mkdir(clone);
    for (const name of ['leveldb', 'deployments']) await cp(join(tempDir(), name), join(clone, name), { recursive: true });
    await rm(join(clone, 'deployments', '.deploystate'), { recursive: true, force: true });
    await mkdir(join(clone, '.deploystate'));
    for (const name of ['phase.json', '.gitignore']) await cp(join(tempDir(), '.deploystate', name), join(clone, '.deploystate', name));
    // The clone's deploy script writes one record; the original's teammate (here) another, pulled into the clone.
    await putThroughStore(clone, sampleRecord(97, 'FromClone', 'bsctestnet', 11));
    const teammate = createStateStore({ cwd: tempDir(), env: {} });
    await teammate.putContract(56, sampleRecord(56, 'FromTeammate', 'bscmainnet', 12));
    const older = (await teammate.list(56))[0];
    await teammate.close();
    await cp(join(tempDir(), 'deployments', 'bscmainnet.json'), join(clone, 'deployments', 'bscmainnet.json'));
    const cloned = await Migration.open({ cwd: clone });
    const verify = await cloned.verify();
    expect(verify.clean).toBe(true);
    expect(verify.comparison.writtenSinceCutover).toEqual(['97-FromClone']);
    expect(verify.comparison.writtenElsewhere).toEqual(['56-FromTeammate']);
    // A record pulled back in time (older than LevelDB's) or gone from JSON is still a difference.
    const file = join(clone, 'deployments', 'bscmainnet.json');
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, { timestamp: number }> };
    (doc.records[older?.contractName as string] as { timestamp: number }).timestamp -= 1000;
    delete doc.records.FromTeammate;
    const gone = Object.keys(doc.records).find((name) => name !== older?.contractName) as string;
    delete doc.records[gone];
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);
    const after = await cloned.verify();
    expect(after.clean).toBe(false);
    expect(after.comparison.differing.map((d) => d.key)).toEqual([`56-${older?.contractName}`]);
    expect(after.comparison.onlyLeft.map((e) => e.key)).toEqual([`56-${gone}`]);
    await cloned.close?.();
  });
});
