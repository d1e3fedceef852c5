// `deploystate bench` in a project: it measures a copy of the configured store, keeps its results
// in the git-ignored state folder, and never touches the project's LevelDB or deployments.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigests } from '@deploystate/core/testing';
import { envelopeOf, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-bench-');

describe('deploystate bench in a project', () => {
  it('measures a copy of the configured store at its size; results in the state folder; the store untouched', async () => {
    const init = await fixture.inSample(['init', '--yes']);
    expect(init.code, init.stderr).toBe(0);
    const before = {
      leveldb: await fileDigests(join(fixture.sample, 'leveldb')),
      deployments: await fileDigests(join(fixture.sample, 'deployments')),
    };
    const run = await fixture.inSample(['bench', '--json', '--', '--suite', 'backends', '--iterations', '3', '--warmup', '1', '--gate']);
    const envelope = envelopeOf(run);
    const data = envelope.data as { options: { project?: unknown; sizes: number[] }; gates: Array<{ status: string }> };
    expect(data.options).toMatchObject({ sizes: [28], project: { records: 28, source: 'leveldb' } });
    // --gate: exit 1 exactly when a gate failed, as CHECK_FAILED.
    const failed = data.gates.some((g) => g.status === 'FAIL');
    expect(run.code).toBe(failed ? 1 : 0);
    if (!envelope.ok) expect(envelope.error.code).toBe('CHECK_FAILED');
    expect(existsSync(join(fixture.sample, '.deploystate', 'bench-results', 'latest.json'))).toBe(true);
    expect(existsSync(join(fixture.sample, 'bench-results'))).toBe(false);
    expect({
      leveldb: await fileDigests(join(fixture.sample, 'leveldb')),
      deployments: await fileDigests(join(fixture.sample, 'deployments')),
    }).toEqual(before);
  }, 120_000);

  // `--quick` (or `--sizes`) chooses its own data, and the results went to ./bench-results in the
  // project, untracked beside the runbook's other read-only scripts (docs probe).
  it('with its own data (--quick) still keeps its results in the state folder, never in the project', async () => {
    expect((await fixture.inSample(['init', '--yes'])).code).toBe(0);
    const run = await fixture.inSample(['bench', '--', '--quick', '--suite', 'startup']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(fixture.sample, 'bench-results'))).toBe(false);
    expect(existsSync(join(fixture.sample, '.deploystate', 'bench-results', 'latest.json'))).toBe(true);
  }, 60_000);

  it('a comparison with no saved baseline is refused before measuring: exit 2, USAGE', async () => {
    const run = await fixture.inSample(['bench', '--json', '--', '--suite', 'backends', '--baseline']);
    expect(run.code).toBe(2);
    expect(envelopeOf(run)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(run.stderr).toContain(join('.deploystate', 'bench-results', 'baseline.json'));
  }, 60_000);
});
