// The changelog formatter for `changeset version`: release notes as written in the changesets,
// linked to the commit that added each one, with links built from `repository` in the root
// package.json. It needs no network (unlike @changesets/changelog-github) and no token.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** The repository's web address, from the root package.json (`git+https://...git` becomes `https://...`). */
function repositoryUrl() {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  const url = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  if (typeof url !== 'string' || url === '') return undefined;
  return url.replace(/^git\+/, '').replace(/\.git$/, '').replace(/^git@([^:]+):/, 'https://$1/');
}

/** One entry: the summary's first line as the bullet, later lines indented under it, and the commit link. */
async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary
    .trim()
    .split('\n')
    .map((line) => line.trimEnd());
  const repo = repositoryUrl();
  const commit = changeset.commit ? changeset.commit.slice(0, 7) : undefined;
  const link = commit === undefined ? '' : repo ? ` ([${commit}](${repo}/commit/${changeset.commit}))` : ` (${commit})`;
  const more = rest.length > 0 ? `\n${rest.map((line) => (line === '' ? '' : `  ${line}`)).join('\n')}` : '';
  return `\n- ${first}${link}${more}`;
}

/** One line naming the workspace packages this release moves to, instead of one line per changeset hash. */
async function getDependencyReleaseLine(changesets, dependenciesUpdated) {
  if (dependenciesUpdated.length === 0) return '';
  const names = dependenciesUpdated.map((dependency) => `\`${dependency.name}@${dependency.newVersion}\``);
  return `\n- Uses ${names.join(', ')}.`;
}

module.exports = { getReleaseLine, getDependencyReleaseLine };
