// What the CLI says of the recorded decisions is true of the phase: `exclude` names what the
// exclusion does there (only `migrate` records it for the migration, and `migrate` runs in dual-write
// alone), and `status` shows the cut-over's acknowledgements only while that cut-over stands.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, envelopeOf, onlyDocument, runSteps, sampleAt, useSample } from './helpers.js';

const fixture = useSample('cli-exclude-phase-', { demo: false });
const KEYS = ['31337-LookCoin', '31337-TestToken'];

describe('recorded decisions, phase by phase', () => {
  it('names migrate where it runs, and the cut-over acknowledgement where it cannot', async () => {
    await sampleAt(fixture.sample, [['init'], ['dual-write', 'enable']]);
    const inDualWrite = await fixture.inSample(['exclude', ...KEYS]);
    expect(inDualWrite.code, inDualWrite.stderr).toBe(0);
    expect(inDualWrite.stdout).toContain('`deploystate migrate` does not copy these keys');
    // A key no store holds (a typo) is recorded all the same, and named: the keys the stores hold are not.
    const typo = await fixture.inSample(['exclude', '31337-LookCoiin', '--json']);
    expect(typo.code, typo.stderr).toBe(0);
    expect(onlyDocument(typo)).toMatchObject({ added: ['31337-LookCoiin'], notFound: ['31337-LookCoiin'] });
    expect(onlyDocument(await fixture.inSample(['exclude', '31337-TestToken', '31337-LookCoiin', '--json']))).toMatchObject({ added: [], notFound: [] });
    await runSteps(fixture.sample, [['migrate'], ['verify'], ['promote']]);

    const inJsonPrimary = await fixture.inSample(['exclude', '31337-LookCoin']);
    expect(inJsonPrimary.code, inJsonPrimary.stderr).toBe(0);
    // Not "migrate leaves these keys in LevelDB only": migrate is refused here.
    expect(inJsonPrimary.stdout).not.toContain('`deploystate migrate` does not copy');
    expect(inJsonPrimary.stdout).toContain('cannot run in json-primary');
    expect(inJsonPrimary.stdout).toContain('--acknowledge <key>');
    const migrate = await fixture.inSample(['migrate', '--yes', '--json']);
    expect(envelopeOf(migrate)).toMatchObject({ ok: false, error: { code: 'TRANSITION_REFUSED' } });
    // What it points to works: the keys acknowledged (and the other findings' code), the cut-over's gates pass.
    const cutover = await fixture.inSample([
      'cutover',
      '--dry-run',
      ...KEYS.flatMap((key) => ['--acknowledge', key]),
      '--acknowledge',
      'MISSING_IMPLEMENTATION_HASH',
    ]);
    expect(cutover.code, cutover.stderr).toBe(0);
  });

  it('status shows what the cut-over acknowledged while it stands, and nothing of it after a rollback', async () => {
    const acknowledge = [...KEYS, 'MISSING_IMPLEMENTATION_HASH'];
    const cutover = ['cutover', ...acknowledge.flatMap((a) => ['--acknowledge', a])];
    const dir = await sampleAt(join(fixture.root, 'cut-over'), [['init'], ['dual-write', 'enable'], ['migrate'], ['verify'], ['promote'], cutover]);
    const decisions = async (): Promise<{ acknowledgedAtCutover: string[] }> => {
      const status = await deploystate(['status', '--json'], { cwd: dir });
      expect(status.code, status.stderr).toBe(0);
      return onlyDocument(status).decisions as { acknowledgedAtCutover: string[] };
    };
    expect((await decisions()).acknowledgedAtCutover).toEqual(acknowledge);
    await runSteps(dir, [['rollback']]);
    expect((await decisions()).acknowledgedAtCutover).toEqual([]);
    // The shared phase file as earlier versions' rollbacks left it: the list kept, no cut-over standing.
    const phaseFile = join(dir, '.deploystate', 'phase.json');
    const shared = JSON.parse(await readFile(phaseFile, 'utf8')) as { acknowledged: string[]; cutoverLeveldb: unknown };
    expect(shared.acknowledged).toEqual([]);
    await writeFile(phaseFile, `${JSON.stringify({ ...shared, acknowledged: acknowledge }, null, 2)}\n`);
    expect((await decisions()).acknowledgedAtCutover).toEqual([]);
  });
});
