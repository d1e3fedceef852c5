// Release readiness that CI here cannot exercise by running it: the release workflow is checked
// as data (it publishes only after build and tests, with provenance, through changesets), the
// local scripts never publish, and `changeset version` in a scratch copy yields the intended first
// version with readable changelogs. Holds for changesets added later too (none is listed here).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const workspace = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(workspace, path), 'utf8')) as T;

/** The version every published package comes out at in its first release (from 0.0.0, minor). */
const FIRST_RELEASE = '0.1.0';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

describe('release workflow (.github/workflows/release.yml)', () => {
  const workflow = parse(readFileSync(join(workspace, '.github/workflows/release.yml'), 'utf8')) as {
    on: { push?: { branches?: string[] } };
    permissions: Record<string, string>;
    jobs: Record<string, { steps: Step[] }>;
  };
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const index = (predicate: (step: Step) => boolean): number => steps.findIndex(predicate);
  const scripts = readJson<{ scripts: Record<string, string> }>('package.json').scripts;

  it('runs on pushes to main with the permissions provenance and the version pull request need', () => {
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(workflow.permissions).toMatchObject({ 'id-token': 'write', contents: 'write', 'pull-requests': 'write' });
  });

  it('installs the locked dependencies, builds and tests before changesets/action publishes, with provenance', () => {
    const install = index((s) => s.run === 'pnpm install --frozen-lockfile');
    const build = index((s) => s.run === 'pnpm build');
    const test = index((s) => s.run === 'pnpm test');
    const action = index((s) => s.uses?.startsWith('changesets/action@') === true);
    expect(install).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(install);
    expect(test).toBeGreaterThan(build);
    expect(action).toBeGreaterThan(test);
    const release = steps[action]!;
    expect(release.env?.NPM_CONFIG_PROVENANCE).toBe('true');
    expect(release.env?.NODE_AUTH_TOKEN).toMatch(/secrets\.NPM_TOKEN/);
    expect(release.with?.version).toBe('pnpm version-packages');
    expect(release.with?.publish).toBe('pnpm ci:publish');
    expect(scripts['ci:publish']).toBe('node scripts/ci-publish.mjs');
    expect(readFileSync(join(workspace, 'scripts/ci-publish.mjs'), 'utf8')).toContain("spawnSync('changeset', ['publish']");
    const setup = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setup?.with?.['registry-url']).toBe('https://registry.npmjs.org');
  });

  it('no other workflow and no local script publishes', () => {
    const others = readdirSync(join(workspace, '.github/workflows')).filter((f) => f !== 'release.yml');
    for (const file of others) expect(readFileSync(join(workspace, '.github/workflows', file), 'utf8')).not.toMatch(/publish/);
    for (const [name, script] of Object.entries(scripts)) {
      if (name === 'ci:publish') continue;
      expect(script, name).not.toMatch(/changeset publish|(?:npm|pnpm)(?: -r)? publish(?![^&]*--dry-run)/);
    }
    // `pnpm release` locally: build, tests, the version preview and a dry run, in that order.
    expect(scripts.release).toMatch(/^pnpm build && pnpm test && .*publish --dry-run/);
  });

  it('ci:publish refuses outside GitHub Actions', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_ACTIONS: '', NPM_CONFIG_PROVENANCE: 'true' };
    const failed = await run(process.execPath, ['scripts/ci-publish.mjs'], { cwd: workspace, env }).then(
      () => 0,
      (error: { code?: number }) => error.code,
    );
    expect(failed).toBe(2);
  });
});

describe('changesets', () => {
  const dir = join(workspace, '.changeset');
  const changesets = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');

  it('read as release notes: no major bump below 1.0, a short summary each', () => {
    for (const file of changesets) {
      const text = readFileSync(join(dir, file), 'utf8');
      const [, front = '', summary = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? [];
      expect(front, file).not.toMatch(/:\s*["']?major/);
      expect(summary.trim().length, `${file}: a sentence or two for users`).toBeGreaterThan(0);
      expect(summary.trim().length, `${file}: a sentence or two for users; engineering detail goes in commits`).toBeLessThanOrEqual(800);
    }
  });

  it('are formatted without network, links built from the root repository, and private packages are never versioned', () => {
    const config = readJson<{ changelog: string; privatePackages?: { version?: boolean; tag?: boolean } }>('.changeset/config.json');
    expect(config.changelog).toBe('./changelog.cjs');
    expect(config.privatePackages).toEqual({ version: false, tag: false });
    const formatter = readFileSync(join(dir, 'changelog.cjs'), 'utf8');
    expect(formatter).not.toMatch(/\bfetch\(|require\(['"](?:node:)?https?['"]\)|@changesets\/get-github-info/);
    expect(formatter).toContain('manifest.repository');
  });

  it(`pnpm version-packages in a scratch copy makes every published package ${FIRST_RELEASE} with a readable changelog`, async () => {
    const { versionPreview } = (await import(pathToFileURL(join(workspace, 'scripts/version-preview.mjs')).href)) as {
      versionPreview: () => Record<string, { from: string; version: string; changelog: string }>;
    };
    const preview = versionPreview();
    expect(Object.keys(preview).length).toBeGreaterThan(0);
    for (const [name, p] of Object.entries(preview)) {
      // Until the first publish the manifests say 0.0.0: the first release is the first minor.
      if (p.from !== '0.0.0') continue;
      expect(p.version, name).toBe(FIRST_RELEASE);
      expect(p.changelog, name).toContain(`## ${FIRST_RELEASE}`);
      expect(p.changelog, name).not.toMatch(/Updated dependencies|^## 0\.0\./m);
      expect(p.changelog, name).toMatch(/\(\[[0-9a-f]{7}\]\(https:\/\/github\.com\/[^)]+\/commit\/[0-9a-f]{40}\)\)/);
      expect(p.changelog.length, `${name}: one release's notes`).toBeLessThan(6_000);
    }
  }, 60_000);
});

// The mutation check (`pnpm mutation`, run by hand) checked its list against the source only when
// run: a guarantee whose code moved to another file pointed at nothing until then.
describe('the mutation list', () => {
  it('matches the source: every anchor occurs exactly once in the file it names', async () => {
    // Exit 0 (a list that does not match the source exits 2, naming each anchor).
    const listed = await run(process.execPath, [join(workspace, 'scripts/mutation-check.mjs'), '--list'], { cwd: workspace });
    expect(listed.stdout).not.toBe('');
  });
});
