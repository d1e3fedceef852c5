// `rollback --ready` (the runbook's verify:rollback-ready) says ready only where the rollback
// proceeds, and `status` says the same. Before, in json-only, records written after the cut-over
// and then their network file deleted: --ready said "rollback is ready" (exit 0), the dry run
// stopped with FOREIGN_OVERWRITE, status said not ready; and a network file deleted with no writes
// since let every rollback, an emergency one too, delete that chain's records from LevelDB. Real
// processes, real files.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { childEnv, deploystate, envelopeOf, onlyDocument, phaseOf, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rollback-ready-agrees-', { demo: false });

/** `count` records each on chains 56, 97 and 84532, put through the deploy scripts' store in another process. */
async function writeAfterCutover(dir: string, count: number): Promise<void> {
  const script = [
    "import { createStateStore } from '@deploystate/migrator';",
    "import { sampleRecord } from '@deploystate/core';",
    'const [dir, count] = [process.argv[1], Number(process.argv[2])];',
    'const store = createStateStore({ cwd: dir, env: {} });',
    'const records = [];',
    "for (const [chainId, network] of [[56, 'bscmainnet'], [97, 'bsctestnet'], [84532, 'basesepolia']])",
    '  for (let i = 0; i < count; i++) records.push(sampleRecord(chainId, `AfterCutover${i}`, network, i + 1));',
    'await store.putMany(records);',
    'await store.close();',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir, String(count)], {
    cwd: new URL('.', import.meta.url).pathname,
    env: childEnv(),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(0);
}

type Readiness = { ready: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
const failing = (report: Readiness): string[] => report.checks.filter((c) => !c.ok).map((c) => c.name);

async function rollbackInStatus(dir: string): Promise<{ ready: boolean; blockedBy?: string; missing?: unknown }> {
  const status = onlyDocument(await deploystate(['status', '--json'], { cwd: dir })) as {
    next: Array<{ command: string; ready: boolean; blockedBy?: string }>;
    missingNetworkFiles?: unknown;
  };
  const rollback = status.next.find((n) => n.command === 'rollback');
  return { ready: rollback?.ready ?? true, ...(rollback?.blockedBy && { blockedBy: rollback.blockedBy }), missing: status.missingNetworkFiles };
}

describe('rollback --ready agrees with the rollback and with status', () => {
  it('writes after the cut-over, their network file deleted: not ready (exit 1), the dry run refused naming the file, status not ready either', async () => {
    const dir = await sampleAt(join(fixture.root, 'written'), [], 'migrate --demo');
    await writeAfterCutover(dir, 300);
    const file = join(dir, 'deployments', 'basesepolia.json');
    await rm(file);

    const ready = await deploystate(['rollback', '--ready', '--json'], { cwd: dir });
    expect(ready.code, ready.stderr).toBe(1);
    const report = onlyDocument(ready) as Readiness;
    expect(report.ready).toBe(false);
    expect(failing(report)).toEqual(['network files present', 'files intact']);
    // The 300 lost keys are counted, the file named once, a few keys named: not all 300 on a line.
    const intact = report.checks.find((c) => c.name === 'files intact')?.detail ?? '';
    expect(intact.split(file).length - 1).toBe(1);
    expect(intact).toContain('300 records');
    expect(intact.length).toBeLessThan(1000);

    const text = await deploystate(['rollback', '--ready'], { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stdout).not.toContain('rollback is ready');

    const dry = await deploystate(['rollback', '--dry-run', '--json'], { cwd: dir });
    expect(dry.code).toBe(4);
    expect(envelopeOf(dry)).toMatchObject({ ok: false, error: { code: 'STORE_NOT_FOUND', file } });

    expect(await rollbackInStatus(dir)).toMatchObject({ ready: false, missing: [{ file, chainId: 84532, records: expect.any(Number) }] });
    const status = await deploystate(['status'], { cwd: dir });
    const filesLine = status.stdout.split('\n').find((line) => line.startsWith('files')) ?? '';
    expect(filesLine.split(file).length - 1).toBe(1);
    expect(filesLine.length).toBeLessThan(1000);
    expect(await phaseOf(dir)).toBe('json-only');
  });

  it('a network file deleted, no writes since: every rollback refused naming it (exit 4, LevelDB kept) until --acknowledge names it', async () => {
    const dir = await sampleAt(join(fixture.root, 'deleted'), [], 'migrate --demo');
    const file = join(dir, 'deployments', 'basesepolia.json');
    await rm(file);

    const ready = await deploystate(['rollback', '--ready', '--json'], { cwd: dir });
    expect(ready.code, ready.stderr).toBe(1);
    expect(failing(onlyDocument(ready) as Readiness)).toEqual(['network files present']);
    for (const attempt of [['--dry-run'], ['--yes'], ['--emergency', '--yes']]) {
      const run = await deploystate(['rollback', ...attempt, '--json'], { cwd: dir });
      expect(run.code, attempt.join(' ')).toBe(4);
      expect(envelopeOf(run)).toMatchObject({ ok: false, error: { code: 'STORE_NOT_FOUND', file } });
    }
    // The runbook's unattended step, as its npm script runs it.
    const emergency = await deploystate(['rollback', '--yes'], { cwd: dir, env: { EMERGENCY_ROLLBACK: 'true' } });
    expect(emergency.code).toBe(4);
    expect(emergency.stderr).toContain('STORE_NOT_FOUND');
    expect(emergency.stderr).toContain('--acknowledge basesepolia.json');
    expect(await phaseOf(dir)).toBe('json-only');
    expect(await rollbackInStatus(dir)).toMatchObject({ ready: false, missing: [{ file, chainId: 84532, records: expect.any(Number) }] });

    const acknowledged = await deploystate(['rollback', '--ready', '--acknowledge', 'basesepolia.json', '--json'], { cwd: dir });
    expect(acknowledged.code, acknowledged.stderr).toBe(0);
    expect((onlyDocument(acknowledged) as Readiness).ready).toBe(true);
    const dry = onlyDocument(await deploystate(['rollback', '--dry-run', '--acknowledge', 'basesepolia.json', '--json'], { cwd: dir })) as {
      deletes: number;
      deletedKeys: string[];
      acknowledgedGone: unknown;
    };
    // Every record of that chain LevelDB holds, and nothing else.
    expect(dry.deletedKeys.length).toBeGreaterThan(0);
    expect(dry.deletedKeys.every((key) => key.startsWith('84532-'))).toBe(true);
    expect(dry.acknowledgedGone).toEqual([{ file, chainId: 84532, records: dry.deletes }]);
    const done = await deploystate(['rollback', '--acknowledge', 'basesepolia.json', '--yes'], { cwd: dir });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('acknowledged gone on purpose');
    expect(await phaseOf(dir)).toBe('leveldb-only');
  });
});
