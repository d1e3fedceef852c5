// Proves that every publishable workspace package packs into a tarball that installs into an
// empty project outside the workspace and works there, types included: `workspace:^` rewritten to
// real versions, `exports` and `files` complete, declarations resolvable under NodeNext.
//
// Runs after `pnpm build` (cli depends on every package). Third-party dependencies come from the
// package registry. DEPLOYSTATE_PACK_ONLY=core,backend-json limits it to some package folders
// (or package names), e.g. while other packages are still being written.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const workspace = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TIMEOUT_MS = 180_000;

interface WorkspacePackage {
  dir: string;
  name: string;
  version: string;
}

// Names each main entry must export; a package not listed only has to export something.
const EXPECTED_EXPORTS: Record<string, string[]> = {
  '@deploystate/core': [
    'parseLossless',
    'stringifyLossless',
    'canonicalDigest',
    'compareStores',
    'recordKey',
    'compareKeys',
    'MemoryStore',
    'StateError',
    'ErrorCodes',
    'NetworkRegistry',
    'FindingCodes',
  ],
};

async function workspacePackages(): Promise<WorkspacePackage[]> {
  const only = (process.env.DEPLOYSTATE_PACK_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: WorkspacePackage[] = [];
  for (const group of ['packages', 'apps']) {
    const root = join(workspace, group);
    if (!existsSync(root)) continue;
    for (const entry of (await readdir(root, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = join(root, entry.name);
      const manifestPath = join(dir, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string; version: string; private?: boolean };
      // A private package (the bench) is never published, so it need not install elsewhere.
      if (manifest.private) continue;
      if (only.length > 0 && !only.includes(entry.name) && !only.includes(manifest.name)) continue;
      out.push({ dir, name: manifest.name, version: manifest.version });
    }
  }
  return out;
}

function consumerScript(packages: WorkspacePackage[]): string {
  return `import assert from 'node:assert/strict';
const expected = ${JSON.stringify(Object.fromEntries(packages.map((p) => [p.name, EXPECTED_EXPORTS[p.name] ?? []])))};
for (const [name, names] of Object.entries(expected)) {
  const module = await import(name);
  assert.ok(Object.keys(module).length > 0, name + ' exports nothing');
  for (const exported of names) assert.ok(module[exported] !== undefined, name + ' does not export ' + exported);
  const manifest = (await import(name + '/package.json', { with: { type: 'json' } })).default;
  assert.equal(typeof manifest.version, 'string');
  for (const section of ['dependencies', 'peerDependencies']) {
    for (const [dep, range] of Object.entries(manifest[section] ?? {})) assert.ok(!String(range).startsWith('workspace:'), name + ': ' + dep + ' still ' + range);
  }
}
if (expected['@deploystate/core']) {
  const core = await import('@deploystate/core');
  assert.equal(core.parseLossless('18446744073709551617'), 18446744073709551617n);
  assert.equal(core.stringifyLossless({ a: 2n ** 64n }), '{"a":18446744073709551616}');
  const store = new core.MemoryStore();
  await store.open();
  await store.put(core.sampleRecord(56, 'Token', 'bscmainnet'));
  assert.equal((await store.get(56, 'Token')).contractName, 'Token');
  await store.close();
  // The conformance suite's entry (vitest, its optional peer, is linked in by the test).
  const testing = await import('@deploystate/core/testing');
  assert.equal(typeof testing.stateStoreConformance, 'function');
  assert.equal(typeof testing.makeTempDir, 'function');
  console.log('core/testing: ok');
}
console.log('imported ' + Object.keys(expected).length + ' packages');
`;
}

function consumerTypes(packages: WorkspacePackage[]): string {
  const lines = packages.map(
    (p, i) => `import * as package${i} from '${p.name}';\nexport const exports${i}: readonly string[] = Object.keys(package${i});`,
  );
  if (packages.some((p) => p.name === '@deploystate/core')) {
    lines.push(`import { MemoryStore, parseLossless, type DeploymentRecord, type StateStore, type ErrorCode } from '@deploystate/core';
import type { ConformanceOptions } from '@deploystate/core/testing';
const record: DeploymentRecord = { contractName: 'T', chainId: 56, networkName: 'bscmainnet', address: '0x', factoryByteCodeHash: '', timestamp: 10n ** 20n };
const store: StateStore = new MemoryStore();
export const checked: [DeploymentRecord, StateStore, unknown, ErrorCode] = [record, store, parseLossless('1'), 'CORRUPTED'];
export type Options = ConformanceOptions;
// @ts-expect-error a wrong type must fail, or this check proves nothing
export const wrong: DeploymentRecord = { contractName: 5 };`);
  }
  return `${lines.join('\n')}\n`;
}

describe('packaging', () => {
  const temps: string[] = [];
  afterAll(async () => {
    for (const dir of temps) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it(
    'packs every package, installs the tarballs together outside the workspace, and imports them with types',
    async () => {
      const packages = await workspacePackages();
      expect(packages.length, 'no package matched DEPLOYSTATE_PACK_ONLY').toBeGreaterThan(0);
      const tarballs = await mkdtemp(join(tmpdir(), 'deploystate-pack-'));
      const project = await mkdtemp(join(tmpdir(), 'deploystate-consumer-'));
      temps.push(tarballs, project);
      expect(project.startsWith(workspace)).toBe(false);

      for (const p of packages) {
        expect(existsSync(join(p.dir, 'dist')), `${p.name} is not built: run pnpm build first`).toBe(true);
        await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: p.dir });
      }
      const files = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f));
      expect(files).toHaveLength(packages.length);

      await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
      await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, '@types/node@20'], {
        cwd: project,
        maxBuffer: 16 * 1024 * 1024,
      });

      // vitest is an optional peer of core's testing entry: link the workspace's copy rather than download it.
      await symlink(await realpath(join(workspace, 'node_modules', 'vitest')), join(project, 'node_modules', 'vitest'), 'dir');
      await writeFile(join(project, 'consume.mjs'), consumerScript(packages));
      const { stdout } = await run(process.execPath, ['consume.mjs'], { cwd: project });
      expect(stdout).toContain(`imported ${packages.length} packages`);
      if (packages.some((p) => p.name === '@deploystate/core')) expect(stdout).toContain('core/testing: ok');

      await writeFile(join(project, 'consume.ts'), consumerTypes(packages));
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify(
          {
            compilerOptions: {
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              target: 'ES2022',
              lib: ['ES2023'],
              strict: true,
              noEmit: true,
              types: ['node'],
            },
            files: ['consume.ts'],
          },
          null,
          2,
        ),
      );
      const tsc = join(workspace, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((error: { stdout?: string }) => {
        throw new Error(`tsc failed in the consumer project:\n${error.stdout ?? String(error)}`);
      });
    },
    TIMEOUT_MS,
  );
});
