// verify reads each JSON state file once: the records it compares and the document it validates
// come from the same read, so what it reports must match compare() and validate() run apart.
import { execFileSync } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from '@deploystate/core';
import { chainVerdict } from '../src/chain-verdict.js';
import { validateFile, type SchemaReport } from '../src/file-validation.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-');

describe('verify', () => {
  it('finds a schema violation in a file whose records are equal, and lists the same files and skips as validate()', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    expect((await migration.verify()).clean).toBe(true);
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    // A text edit: JSON.parse would round the big numbers the records hold.
    const text = await readFile(file, 'utf8');
    const edited = text.replace('"network": "bsctestnet"', '"network": 5');
    expect(edited).not.toBe(text);
    await writeFile(file, edited);

    const verify = await migration.verify();
    expect(verify.comparison.equal).toBe(true);
    expect(verify.clean).toBe(false);
    expect(verify.evidence.schemaErrors).toBeGreaterThan(0);
    expect(verify.schema.errors.map((f) => [f.code, f.file, f.pointer])).toContainEqual(['SCHEMA_VIOLATION', file, '/network']);
    expect(verify.schema).toEqual(await migration.validate());
    // The foreign config file and the hidden history folder are skipped with a reason, never read as state.
    expect(verify.schema.skipped.map((s) => s.file)).toEqual(
      expect.arrayContaining([join(migration.paths.deployments, 'bscmainnet-config.json'), join(migration.paths.deployments, '.history')]),
    );
  });

  it('finds a key written twice in a file (DUPLICATE_KEY, with its line), which the JSON store would refuse to rewrite', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const text = await readFile(file, 'utf8');
    // Same value twice: the records read the same, so only the check of the text can see it.
    const edited = text.replace('"network": "bsctestnet",', '"network": "bsctestnet",\n  "network": "bsctestnet",');
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    const line = edited.slice(0, edited.lastIndexOf('"network"')).split('\n').length;

    // A legacy file (not yet adopted, so not validated) that names a key twice: the store would
    // refuse to adopt it, so it is reported too.
    const legacy = join(migration.paths.deployments, 'sepolia.json');
    await writeFile(legacy, '{\n  "network": "sepolia",\n  "chainId": 11155111,\n  "deployer": "0x1",\n  "deployer": "0x2"\n}\n');

    const verify = await migration.verify();
    expect(verify.comparison.equal).toBe(true);
    expect(verify.clean).toBe(false);
    expect(verify.schema.errors).toContainEqual(expect.objectContaining({ code: 'DUPLICATE_KEY', file, pointer: '', line }));
    expect(verify.schema.errors).toContainEqual(expect.objectContaining({ code: 'DUPLICATE_KEY', file: legacy, pointer: '', line: 5 }));
    expect(verify.schema.skipped.map((s) => s.file)).toContain(legacy);
    expect(verify.schema).toEqual(await migration.validate());
  });

  it('a chain-<id>.json beside the registered file is validated but not compared, as the store reads only the registered one', async () => {
    const migration = await demoMigration(tempDir(), 'copied');
    const stray = join(migration.paths.deployments, 'chain-97.json');
    await writeFile(stray, '{"schemaVersion": 1, "network": "bsctestnet", "chainId": 97, "records": {"X": 1}}\n');
    const verify = await migration.verify();
    expect(verify.comparison.equal).toBe(true);
    expect(verify.schema.errors.some((f) => f.file === stray)).toBe(true);
    expect(verify.schema).toEqual(await migration.validate());
    expect((await migration.compare()).right).toEqual(verify.comparison.right);
  });

  it('lists the state files once git is done: a file a checkout has unlinked and not yet written is no chain missing', async () => {
    // A team's project: in a git repository from the start.
    const dir = tempDir();
    execFileSync('git', ['init', '-q'], { cwd: dir });
    const migration = await demoMigration(dir, 'copied');
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const indexLock = join(dir, '.git', 'index.lock');
    // git mid-checkout: it holds index.lock, has unlinked the file, and writes it back in a moment.
    await writeFile(indexLock, '');
    await rename(file, `${file}.git-is-writing`);
    const verifying = migration.verify();
    await sleep(500);
    await rename(`${file}.git-is-writing`, file);
    await rm(indexLock);
    const verify = await verifying;
    expect(verify.comparison.equal).toBe(true);
    expect(verify.clean).toBe(true);
  });

  it('reads a network file again once git is done: one found empty or half-written while git holds index.lock is reported as git leaves it', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q'], { cwd: dir });
    const migration = await demoMigration(dir, 'copied');
    const file = join(migration.paths.deployments, 'bsctestnet.json');
    const text = await readFile(file, 'utf8');
    const indexLock = join(dir, '.git', 'index.lock');
    // Verify's two per-file reads: the schema validation of a file alone, and the chain's verdict.
    const readers = {
      validateFile: async () => {
        const out: SchemaReport = { files: 0, errors: [], skipped: [] };
        await validateFile(file, out);
        return { parsed: out.files === 1, errors: out.errors };
      },
      chainVerdict: async () => {
        const verdict = await chainVerdict({ chainId: 97, file, names: [], raws: [] });
        return { parsed: verdict.parsed, errors: verdict.schema.errors };
      },
    };
    for (const [name, read] of Object.entries(readers)) {
      for (const partial of ['', text.slice(0, Math.floor(text.length / 2))]) {
        // git mid-checkout: it holds index.lock and has written part of the file.
        await writeFile(indexLock, '');
        await writeFile(file, partial);
        const reading = read();
        await sleep(100);
        await writeFile(file, text);
        await rm(indexLock);
        expect({ name, partial: partial.length, ...(await reading) }).toEqual({ name, partial: partial.length, parsed: true, errors: [] });
      }
    }
    expect((await migration.verify()).clean).toBe(true);
  });
});
