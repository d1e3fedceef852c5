#!/usr/bin/env node
// Shows what `pnpm version-packages` would produce, without touching this checkout: copies the
// manifests, changelogs and changesets into a scratch folder, runs `changeset version` there and
// prints each published package's next version and changelog entry. `--json` prints them as JSON.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The workspace package folders (relative), as pnpm-workspace.yaml lists them (`group/*` globs). */
function packageDirs() {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const groups = [...yaml.matchAll(/^\s*-\s*["']?([\w.-]+)\/\*["']?\s*$/gm)].map((m) => m[1]);
  return groups.flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group)).filter((name) => existsSync(join(root, group, name, 'package.json'))).map((name) => `${group}/${name}`)
      : [],
  );
}

export function versionPreview() {
  const scratch = mkdtempSync(join(tmpdir(), 'deploystate-version-'));
  try {
    for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(scratch, file));
    cpSync(join(root, '.changeset'), join(scratch, '.changeset'), { recursive: true });
    const dirs = packageDirs();
    for (const dir of dirs) {
      mkdirSync(join(scratch, dir), { recursive: true });
      for (const file of ['package.json', 'CHANGELOG.md'])
        if (existsSync(join(root, dir, file))) cpSync(join(root, dir, file), join(scratch, dir, file));
    }
    // changeset links each entry to the commit that added its changeset: give it one.
    const git = (...args) =>
      execFileSync('git', ['-c', 'user.name=preview', '-c', 'user.email=preview@localhost', '-c', 'commit.gpgsign=false', ...args], {
        cwd: scratch,
        stdio: 'pipe',
      });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'preview');
    const changeset = join(root, 'node_modules', '@changesets', 'cli', 'bin.js');
    execFileSync(process.execPath, [changeset, 'version'], { cwd: scratch, stdio: 'pipe', env: { ...process.env, CI: '1' } });

    const packages = {};
    for (const dir of dirs) {
      const before = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
      const after = JSON.parse(readFileSync(join(scratch, dir, 'package.json'), 'utf8'));
      if (before.private) continue;
      const changelogPath = join(scratch, dir, 'CHANGELOG.md');
      packages[after.name] = {
        dir,
        from: before.version,
        version: after.version,
        changelog: existsSync(changelogPath) ? readFileSync(changelogPath, 'utf8') : '',
      };
    }
    return packages;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const packages = versionPreview();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(packages, null, 2)}\n`);
  } else {
    for (const [name, p] of Object.entries(packages)) {
      process.stdout.write(`${name}: ${p.from} -> ${p.version}\n`);
    }
    for (const [name, p] of Object.entries(packages)) {
      process.stdout.write(`\n--- ${p.dir}/CHANGELOG.md (${name})\n${p.changelog}`);
    }
  }
}
