// What `exclude` says it does is what the phase lets happen: only `migrate` records an exclusion
// for the migration, and `migrate` runs in dual-write alone. After the copy's promote, the keys
// stay in JSON and the cut-over asks for their findings to be acknowledged, which then passes.
import { describe, expect, it } from 'vitest';
import { envelopeOf, runSteps, useSample } from './helpers.js';

const fixture = useSample('cli-exclude-phase-');
const KEYS = ['31337-LookCoin', '31337-TestToken'];

describe('exclude, phase by phase', () => {
  it('names migrate where it runs, and the cut-over acknowledgement where it cannot', async () => {
    await runSteps(fixture.sample, [['init'], ['dual-write', 'enable']]);
    const inDualWrite = await fixture.inSample(['exclude', ...KEYS]);
    expect(inDualWrite.code, inDualWrite.stderr).toBe(0);
    expect(inDualWrite.stdout).toContain('`deploystate migrate` does not copy these keys');
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
});
