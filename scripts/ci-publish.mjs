#!/usr/bin/env node
// `pnpm ci:publish`: the publish step of the release workflow. It refuses to run anywhere else, so
// a package never reaches npm from a laptop, without provenance, or from an unbuilt, untested tree.
import { spawnSync } from 'node:child_process';

const problems = [];
if (process.env.GITHUB_ACTIONS !== 'true') problems.push('it runs only in the release workflow on GitHub Actions');
if (process.env.NPM_CONFIG_PROVENANCE !== 'true') problems.push('NPM_CONFIG_PROVENANCE must be true (npm attaches provenance only in CI)');
if (problems.length > 0) {
  console.error(`ci:publish refused: ${problems.join('; ')}.`);
  console.error('To try a release locally, run `pnpm release` (build, tests, version preview and a publish dry run).');
  process.exit(2);
}
const result = spawnSync('changeset', ['publish'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
