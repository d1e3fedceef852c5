// The user's deploy flow against the CLI, as real processes: load deployments/<network>.json early,
// put through createStateStore(), write the loaded object back. verify names the file and key and
// exits 1, repair-files shows, asks and puts the record back, verify is clean again.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childEnv, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-coowned-', { demo: false });
// The migrator's own fixture (one copy): it imports @deploystate/migrator, which resolves there too.
const DEPLOY = fileURLToPath(new URL('../../migrator/test/fixtures/legacy-deploy.mjs', import.meta.url));

function legacyDeploy(dir: string, name: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEPLOY, dir, 'bscmainnet', '56', name, 'writeback'], { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a network file rewritten by the project’s own script (dual-write)', () => {
  it('verify exits 1 naming the file and key; repair-files asks, puts it back, and verify is clean again', async () => {
    await sampleAt(fixture.sample, [['init'], ['dual-write', 'enable'], ['migrate']]);
    const deployed = await legacyDeploy(fixture.sample, 'NewVault');
    expect(deployed.code, deployed.stderr).toBe(0);
    const file = join(fixture.sample, 'deployments', 'bscmainnet.json');

    const text = await fixture.inSample(['verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`FOREIGN_OVERWRITE ${file}: 56-NewVault missing (journal seq `);
    // A record the copy wrote has no journal line: said so, not "seq 0".
    expect(text.stdout).toContain(`FOREIGN_OVERWRITE ${file}: 56-LookCoin changed (written by the copy, a restore or an import)`);
    const json = await fixture.inSample(['verify', '--json']);
    expect(json.code).toBe(1);
    const files = onlyDocument(json).files as { findings: Array<{ key: string; file: string; kind: string }> };
    // The record it never saw is gone; a record it did load comes back with its big number rounded.
    expect(files.findings).toEqual([
      expect.objectContaining({ key: '56-LookCoin', file, kind: 'changed' }),
      expect.objectContaining({ key: '56-NewVault', file, kind: 'missing' }),
    ]);

    const promote = await fixture.inSample(['promote', '--json']);
    expect(promote.code).toBe(1);
    expect(onlyDocument(promote).error).toMatchObject({ code: 'FOREIGN_OVERWRITE', key: '56-LookCoin', file });

    const status = await fixture.inSample(['status']);
    expect(status.stdout).toContain('FOREIGN_OVERWRITE');
    expect(status.stdout).toContain('56-NewVault');

    const dryRun = await fixture.inSample(['repair-files', '--dry-run']);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('56-NewVault');
    // Without --yes and without a terminal it refuses to act (exit 2) and changes nothing.
    expect((await fixture.inSample(['repair-files'])).code).toBe(2);
    expect((await fixture.inSample(['verify'])).code).toBe(1);

    const repaired = await fixture.inSample(['repair-files', '--yes', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect((onlyDocument(repaired).applied as Array<{ key: string }>).map((a) => a.key)).toEqual(['56-LookCoin', '56-NewVault']);
    const clean = await fixture.inSample(['verify']);
    expect(clean.code, clean.stdout).toBe(0);

    // A record removed on purpose is accepted, not put back.
    const removed = await legacyDeploy(fixture.sample, 'Temporary');
    expect(removed.code, removed.stderr).toBe(0);
    expect((await fixture.inSample(['verify'])).code).toBe(1);
    const accepted = await fixture.inSample(['repair-files', '--accept', '--yes', '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    // (The same write-back rounded the big numbers of the records it loaded again: accepted too, as asked.)
    expect(onlyDocument(accepted).accepted).toEqual(expect.arrayContaining([expect.stringContaining('56-Temporary')]));
    const after = onlyDocument(await fixture.inSample(['verify', '--json'])).files as { findings: unknown[] };
    expect(after.findings).toEqual([]);
  });
});
