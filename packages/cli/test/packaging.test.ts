// Proves that every publishable workspace package packs into a tarball that installs into an
// empty project outside the workspace and works there, types included: `workspace:^` rewritten to
// real versions, `exports` and `files` complete, declarations resolvable under NodeNext. Each
// tarball holds what a user needs and nothing else, with the metadata npm shows. The library alone
// installs into a CommonJS project shaped like Hardhat 2's TypeScript setup and into an ESM one,
// type-checks and runs a deploy script there, without viem.
//
// Runs after `pnpm build` (cli depends on every package). Third-party dependencies come from the
// package registry. DEPLOYSTATE_PACK_ONLY=core,backend-json limits it to some package folders
// (or package names), e.g. while other packages are still being written.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDigests } from '@deploystate/core/testing';

const run = promisify(execFile);
const workspace = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TIMEOUT_MS = 180_000;

interface WorkspacePackage {
  dir: string;
  name: string;
  version: string;
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  keywords?: string[];
  engines?: { node?: string };
  exports?: Record<string, string | Record<string, string>>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** What may be in a tarball besides dist/ and src/: the files npm always adds, and data a package ships. */
const ALWAYS = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
const EXTRA_FILES: Record<string, RegExp> = {
  '@deploystate/core': /^data\/chain-catalog\.json$/,
  '@deploystate/backend-json': /^schema\/[\w.-]+\.json$/,
  '@deploystate/cli': /^(runbook-scripts|envelope\.schema)\.json$/,
};

/** The packages a deploy script installs: the migrator and what it depends on. */
const LIBRARY = ['@deploystate/core', '@deploystate/backend-json', '@deploystate/backend-leveldb', '@deploystate/migrator'];

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
  '@deploystate/migrator': [
    'createStateStore',
    'getContract',
    'putContract',
    'getAllContracts',
    'configureStateModule',
    'closeStateModule',
    'createStateModule',
    'verifyChain',
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
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
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

/** The files of a tarball, without the leading `package/`. */
async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
    .sort();
}

/** Each tarball unpacked once, next to it: one `tar` per tarball, not one per file read (a source map each). */
const unpacked = new Map<string, Promise<string>>();

async function tarballText(tarball: string, file: string): Promise<string> {
  let folder = unpacked.get(tarball);
  if (folder === undefined) {
    folder = (async () => {
      const dir = `${tarball}.unpacked`;
      await mkdir(dir);
      await run('tar', ['-xzf', tarball, '-C', dir], { maxBuffer: 16 * 1024 * 1024 });
      return dir;
    })();
    unpacked.set(tarball, folder);
  }
  return readFile(join(await folder, 'package', file), 'utf8');
}

/** Every rule a published tarball must meet; returns the broken ones (empty when it passes). */
async function tarballProblems(tarball: string, pkg: WorkspacePackage, root: Manifest): Promise<string[]> {
  const problems: string[] = [];
  const files = await tarballFiles(tarball);
  const present = new Set(files);
  const extra = EXTRA_FILES[pkg.name];
  for (const file of files) {
    const allowed =
      ALWAYS.includes(file) ||
      (file.startsWith('dist/') && /\.(js|d\.ts|js\.map|d\.ts\.map|json)$/.test(file)) ||
      (file.startsWith('src/') && file.endsWith('.ts') && !/\.test\.ts$/.test(file)) ||
      (extra?.test(file) ?? false);
    if (!allowed) problems.push(`ships ${file}, which a user does not need`);
  }
  for (const file of ['package.json', 'README.md', 'LICENSE']) if (!present.has(file)) problems.push(`lacks ${file}`);
  if (present.has('LICENSE') && !(await tarballText(tarball, 'LICENSE')).startsWith('MIT License'))
    problems.push('LICENSE is not the MIT licence');

  // Source maps resolve inside the tarball, and every emitted file has one (a stale dist file has no source).
  for (const file of files.filter((f) => f.startsWith('dist/') && (f.endsWith('.js') || f.endsWith('.d.ts')))) {
    if (!present.has(`${file}.map`)) problems.push(`${file} has no source map`);
  }
  for (const map of files.filter((f) => f.endsWith('.map'))) {
    const parsed = JSON.parse(await tarballText(tarball, map)) as { sources: string[]; sourceRoot?: string };
    for (const source of parsed.sources) {
      const target = join(dirname(map), parsed.sourceRoot ?? '', source)
        .split('\\')
        .join('/');
      if (!present.has(target)) problems.push(`${map} points to ${source}, which is not in the tarball`);
    }
  }

  const manifest = JSON.parse(await tarballText(tarball, 'package.json')) as Manifest;
  const directory = pkg.dir
    .slice(workspace.length + 1)
    .split('\\')
    .join('/');
  if (manifest.license !== 'MIT') problems.push(`license is ${manifest.license}`);
  if (manifest.repository?.type !== 'git' || manifest.repository.url !== root.repository?.url)
    problems.push('repository is not the root repository');
  if (manifest.repository?.directory !== directory) problems.push(`repository.directory is not ${directory}`);
  if (!manifest.homepage?.startsWith(String(root.homepage).replace(/#readme$/, ''))) problems.push('homepage is missing or elsewhere');
  if (manifest.bugs?.url !== root.bugs?.url) problems.push('bugs is not the root issue tracker');
  if (!(manifest.keywords && manifest.keywords.length >= 3)) problems.push('fewer than 3 keywords');
  if (manifest.engines?.node !== root.engines?.node) problems.push(`engines.node ${manifest.engines?.node} is not ${root.engines?.node}`);
  // pnpm drops lifecycle scripts from the packed manifest: the workspace one must build before packing.
  const source = JSON.parse(await readFile(join(pkg.dir, 'package.json'), 'utf8')) as Manifest;
  if (!/\bturbo run build\b|\bpnpm (run )?build\b/.test(source.scripts?.prepack ?? '')) problems.push('no prepack that builds');
  for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'string') continue;
    // types first (TypeScript takes the first match), then import, then default for require() of ESM.
    if (Object.keys(target).join() !== 'types,import,default')
      problems.push(`exports["${entry}"] conditions are ${Object.keys(target).join()}, not types,import,default`);
    if (target.default !== target.import) problems.push(`exports["${entry}"] default is not the one ESM build`);
    for (const file of Object.values(target))
      if (!present.has(file.replace(/^\.\//, ''))) problems.push(`exports["${entry}"] names ${file}, not shipped`);
  }
  for (const section of ['dependencies', 'peerDependencies'] as const) {
    for (const [dep, range] of Object.entries(manifest[section] ?? {}))
      if (range.startsWith('workspace:')) problems.push(`${dep} still ${range}`);
  }
  return problems;
}

async function npmInstall(project: string, specs: string[]): Promise<void> {
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
}

async function tsc(project: string): Promise<void> {
  const bin = join(workspace, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [bin, '-p', 'tsconfig.json'], { cwd: project }).catch((error: { stdout?: string }) => {
    throw new Error(`tsc failed in ${project}:\n${error.stdout ?? String(error)}`);
  });
}

/** Type-checks every package's entry from `folder` (strict, no emit) with these compiler options on top. */
async function typeCheck(folder: string, packages: WorkspacePackage[], options: Record<string, unknown>): Promise<void> {
  await writeFile(join(folder, 'consume.ts'), consumerTypes(packages));
  const compilerOptions = { target: 'ES2022', lib: ['ES2023'], strict: true, noEmit: true, types: ['node'], ...options };
  await writeFile(join(folder, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consume.ts'] }, null, 2));
  await tsc(folder);
}

/**
 * A deploy script as a Hardhat project writes it, valid in both module systems (no top-level
 * await, no import.meta): a put and a get through createStateStore(), then through the drop-in
 * functions, and a chain check that must say viem is missing.
 */
const DEPLOY_SCRIPT = `import assert from 'node:assert/strict';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { isStateError, type DeploymentRecord } from '@deploystate/core';
import { closeStateModule, createStateStore, getAllContracts, getContract, putContract, verifyChain } from '@deploystate/migrator';
// Subpaths: a CommonJS project (module commonjs, no exports support) finds their types through typesVersions.
import { isLockHeld } from '@deploystate/backend-json/lock';
import { PROJECT_CONFIG_FILE } from '@deploystate/migrator/project-config';

const record = (contractName: string): DeploymentRecord => ({
  contractName,
  chainId: 56,
  networkName: 'bscmainnet',
  address: '0x1111111111111111111111111111111111111111',
  factoryByteCodeHash: '0x00',
  timestamp: 18446744073709551617n,
});

async function main(): Promise<void> {
  // The project's existing LevelDB (a new one here).
  const seed = new LevelDbStore({ path: 'leveldb', create: true });
  await seed.open();
  await seed.close();

  const store = createStateStore();
  await store.put(record('Token'));
  const token = await store.get(56, 'Token');
  assert.equal(token?.contractName, 'Token');
  assert.equal(token?.timestamp, 18446744073709551617n);
  await store.close();

  await putContract(56, record('Proxy'));
  assert.equal((await getContract(56, 'Proxy'))?.address, '0x1111111111111111111111111111111111111111');
  assert.equal(await getContract(56, 'Absent'), null);
  assert.deepEqual((await getAllContracts(56)).map((r) => r.contractName).sort(), ['Proxy', 'Token']);
  await closeStateModule();
  assert.equal(PROJECT_CONFIG_FILE, 'deploystate.config.json');
  assert.equal(isLockHeld('leveldb/LOCK.deploystate'), false);

  const chain = await verifyChain([], { rpc: {} }).then(
    () => 'viem loaded',
    (error: unknown) => (isStateError(error, 'BACKEND_UNAVAILABLE') ? 'viem not installed' : String(error)),
  );
  console.log('deploy script ok; chain check: ' + chain);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

describe('packaging', () => {
  const temps: string[] = [];
  let packages: WorkspacePackage[] = [];
  let root: Manifest;
  const tarballOf = new Map<string, string>();

  beforeAll(async () => {
    packages = await workspacePackages();
    root = JSON.parse(await readFile(join(workspace, 'package.json'), 'utf8')) as Manifest;
    const tarballs = await mkdtemp(join(tmpdir(), 'deploystate-pack-'));
    temps.push(tarballs);
    for (const p of packages) {
      expect(existsSync(join(p.dir, 'dist')), `${p.name} is not built: run pnpm build first`).toBe(true);
      const before = new Set(await readdir(tarballs));
      await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: p.dir, maxBuffer: 16 * 1024 * 1024 });
      const made = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz') && !before.has(f));
      expect(made, `pnpm pack of ${p.name}`).toHaveLength(1);
      tarballOf.set(p.name, join(tarballs, made[0]!));
    }
    // The two installs the tests share start now, side by side (mostly waiting on the registry);
    // each test awaits its own, and a failed install fails the tests that use it.
    if (tarballOf.size > 0) void fullInstall().catch(() => undefined);
    if (LIBRARY.every((name) => tarballOf.has(name))) void libraryInstall().catch(() => undefined);
  }, TIMEOUT_MS);

  afterAll(async () => {
    for (const dir of temps) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  async function project(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    temps.push(dir);
    expect(dir.startsWith(workspace)).toBe(false);
    return dir;
  }

  /** One project with every tarball installed, shared by the tests that need all of them (one install). */
  let installed: Promise<string> | undefined;
  function fullInstall(): Promise<string> {
    installed ??= (async () => {
      const consumer = await project('deploystate-consumer-');
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
      await npmInstall(consumer, [...tarballOf.values(), '@types/node@20']);
      return consumer;
    })();
    return installed;
  }

  /**
   * The library's packages alone, in a project shaped like Hardhat 2 (CommonJS, no "type"): one
   * install, which an ESM project in a folder of it resolves too.
   */
  let libraryInstalled: Promise<string> | undefined;
  function libraryInstall(): Promise<string> {
    libraryInstalled ??= (async () => {
      const consumer = await project('deploystate-hardhat-');
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'hardhat-project', private: true }, null, 2));
      await npmInstall(consumer, [...LIBRARY.map((name) => tarballOf.get(name)!), '@types/node@20']);
      return consumer;
    })();
    return libraryInstalled;
  }

  it('every tarball holds what a user needs and nothing else, with complete metadata', async () => {
    expect(packages.length, 'no package matched DEPLOYSTATE_PACK_ONLY').toBeGreaterThan(0);
    const problems: Record<string, string[]> = {};
    for (const p of packages) {
      const found = await tarballProblems(tarballOf.get(p.name)!, p, root);
      if (found.length > 0) problems[p.name] = found;
    }
    expect(problems).toEqual({});
    if (tarballOf.has('@deploystate/migrator')) {
      const migrator = JSON.parse(await tarballText(tarballOf.get('@deploystate/migrator')!, 'package.json')) as Manifest;
      expect(migrator.dependencies).not.toHaveProperty('viem');
      expect(migrator.peerDependenciesMeta?.viem?.optional).toBe(true);
    }
    if (tarballOf.has('@deploystate/cli')) {
      const cli = JSON.parse(await tarballText(tarballOf.get('@deploystate/cli')!, 'package.json')) as Manifest;
      expect(cli.dependencies).toHaveProperty('viem');
    }
  });

  it(
    'installs the tarballs together outside the workspace, imports and require()s every entry, with types',
    async () => {
      const consumer = await fullInstall();

      // vitest is an optional peer of core's testing entry: link the workspace's copy rather than download it.
      await symlink(await realpath(join(workspace, 'node_modules', 'vitest')), join(consumer, 'node_modules', 'vitest'), 'dir');
      await writeFile(join(consumer, 'consume.mjs'), consumerScript(packages));
      const { stdout } = await run(process.execPath, ['consume.mjs'], { cwd: consumer });
      expect(stdout).toContain(`imported ${packages.length} packages`);
      if (packages.some((p) => p.name === '@deploystate/core')) expect(stdout).toContain('core/testing: ok');

      // One ESM build serves require() too: every entry loads synchronously (top-level await would
      // throw ERR_REQUIRE_ASYNC_MODULE), and require and import share one copy of each module.
      const entries: string[] = [];
      for (const p of packages) {
        const manifest = JSON.parse(await readFile(join(p.dir, 'package.json'), 'utf8')) as Manifest;
        for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
          if (typeof target === 'string') continue;
          // core/testing needs vitest, an optional peer not installed here; the workspace test below requires it.
          if (p.name === '@deploystate/core' && entry === './testing') continue;
          entries.push(entry === '.' ? p.name : `${p.name}/${entry.slice(2)}`);
        }
      }
      await writeFile(
        join(consumer, 'require-all.cjs'),
        `const entries = ${JSON.stringify(entries)};
for (const entry of entries) require(entry);
import('@deploystate/core').then((esm) => {
  if (esm.StateError !== require('@deploystate/core').StateError) throw new Error('require and import loaded two copies');
  console.log('required ' + entries.length + ' entries');
});
`,
      );
      const required = await run(process.execPath, ['require-all.cjs'], { cwd: consumer });
      expect(required.stdout).toContain(`required ${entries.length} entries`);

      if (tarballOf.has('@deploystate/cli')) {
        // The CLI depends on viem, so verify-chain works out of the box: the migrator finds it.
        await writeFile(
          join(consumer, 'chain.mjs'),
          `import { verifyChain } from '@deploystate/migrator';\nconst report = await verifyChain([], { rpc: {} });\nconsole.log('viem loaded: ' + typeof report);\n`,
        );
        expect((await run(process.execPath, ['chain.mjs'], { cwd: consumer })).stdout).toContain('viem loaded: object');
      }

      await typeCheck(consumer, packages, { module: 'NodeNext', moduleResolution: 'NodeNext' });
      // A CommonJS project on the resolution that ignores exports (node10, as Hardhat 2's template
      // gets by default), checking libraries too: every package's types resolve. The CLI's command
      // table imported cac's types, which cac publishes through exports only.
      const node10 = join(consumer, 'node10');
      await mkdir(node10, { recursive: true });
      await typeCheck(node10, packages, {
        module: 'commonjs',
        moduleResolution: 'node10',
        skipLibCheck: false,
        ignoreDeprecations: '5.0',
        typeRoots: [join(consumer, 'node_modules', '@types')],
      });
    },
    TIMEOUT_MS,
  );

  it('every subpath with types is found by a TypeScript project that ignores exports (module commonjs, as Hardhat 2 sets it)', async () => {
    const roots = [
      ...(await readdir(join(workspace, 'packages'))).map((p) => join('packages', p)),
      ...(await readdir(join(workspace, 'apps'))).map((p) => join('apps', p)),
    ];
    for (const root of roots) {
      const manifest = JSON.parse(await readFile(join(workspace, root, 'package.json'), 'utf8')) as {
        exports?: Record<string, string | { types?: string }>;
        typesVersions?: Record<string, Record<string, string[]>>;
      };
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        if (subpath === '.' || typeof target === 'string' || target.types === undefined) continue;
        expect(manifest.typesVersions?.['*']?.[subpath.slice(2)], `${root}: typesVersions for ${subpath}`).toEqual([target.types]);
      }
    }
  });

  it('core/testing (skipped above: it needs vitest) loads through require() too', async () => {
    const script = "require('@deploystate/core/testing'); console.log('required')";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: join(workspace, 'packages', 'core') });
    expect(stdout).toContain('required');
  });

  // Hardhat 2's TypeScript template: no "type" (CommonJS), module commonjs, esModuleInterop.
  const HARDHAT_CJS = {
    compilerOptions: {
      target: 'es2020',
      module: 'commonjs',
      esModuleInterop: true,
      forceConsistentCasingInFileNames: true,
      strict: true,
      skipLibCheck: true,
      resolveJsonModule: true,
      outDir: 'build',
    },
    files: ['scripts/deploy.ts'],
  };
  const ESM_NODENEXT = {
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      skipLibCheck: true,
      outDir: 'build',
    },
    files: ['scripts/deploy.ts'],
  };

  it(
    'the library alone installs without viem into a CommonJS project shaped like Hardhat 2 and an ESM one; each type-checks and a deploy script puts and gets through the store and the drop-in',
    async () => {
      if (!LIBRARY.every((name) => tarballOf.has(name))) return;
      const consumer = await libraryInstall();
      expect(existsSync(join(consumer, 'node_modules', 'viem')), 'a library-only install must not hold viem').toBe(false);

      const esm = join(consumer, 'esm-project');
      await mkdir(esm);
      await writeFile(join(esm, 'package.json'), JSON.stringify({ name: 'esm-project', private: true, type: 'module' }, null, 2));
      for (const [dir, tsconfig, commonjs] of [
        [consumer, HARDHAT_CJS, true],
        [esm, ESM_NODENEXT, false],
      ] as const) {
        await mkdir(join(dir, 'scripts'));
        await writeFile(join(dir, 'scripts', 'deploy.ts'), DEPLOY_SCRIPT);
        await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
        await tsc(dir);
        const compiled = await readFile(join(dir, 'build', 'deploy.js'), 'utf8');
        expect(compiled.includes('require("@deploystate/migrator")'), `${dir}: compiled to require()`).toBe(commonjs);
        const { stdout } = await run(process.execPath, [join('build', 'deploy.js')], { cwd: dir });
        expect(stdout).toContain('deploy script ok; chain check: viem not installed');
      }
    },
    TIMEOUT_MS,
  );

  it(
    'in a fresh project, every bench script init --scripts adds measures a copy of its store and exits as the runbook expects; the store and git stay untouched',
    async () => {
      if (!tarballOf.has('@deploystate/cli') || !tarballOf.has('@deploystate/bench')) return;
      const dir = await fullInstall();
      // As in a user's shell: no INIT_CWD inherited from the runner that started this test (the CLI
      // would take the runner's folder for the project), no NODE_PATH into the workspace's modules.
      const env = { ...process.env };
      delete env.INIT_CWD;
      delete env.NODE_PATH;
      const bin = join(dir, 'node_modules', '.bin', 'deploystate');
      await run(bin, ['demo', '.'], { cwd: dir, env });
      await run(bin, ['init', '--scripts', '--yes'], { cwd: dir, env });
      const scripts = (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
      const benchScripts = Object.keys(scripts).filter((name) => scripts[name]!.startsWith('deploystate bench'));
      expect(benchScripts.length).toBeGreaterThanOrEqual(7);
      await writeFile(join(dir, '.gitignore'), 'node_modules/\n');
      const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, env });
      await git('init', '-q');
      await git('add', '-A');
      await git('commit', '-qm', 'project');
      const before = await fileDigests(dir, ['leveldb', 'deployments']);
      // The runbook's order: 1.3 saves the baseline that 2.3 and post-migration compare with.
      const order = [
        'benchmark:leveldb-performance',
        'generate:performance-baseline',
        'benchmark:dual-write-performance',
        'compare:performance-baselines',
        'benchmark:json-performance',
        'validate:performance-requirements',
        'monitor:post-migration-performance',
      ];
      expect([...benchScripts].sort()).toEqual([...order].sort());
      const latest = join(dir, '.deploystate', 'bench-results', 'latest.json');
      for (const name of order) {
        // As a user passes bench options: after the script's own. Few rounds keep the test short.
        const outcome = await run('npm', ['run', '--silent', name, '--', '--iterations', '3', '--warmup', '1'], { cwd: dir, env }).then(
          () => ({ code: 0, stderr: '' }),
          (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? '' }),
        );
        const result = JSON.parse(await readFile(latest, 'utf8')) as {
          options: { project?: { records: number; source: string } };
          gates: Array<{ status: string; source: string }>;
          baseline?: { regressions: number };
          skipped: Array<{ reason: string }>;
        };
        // Measured the project's 28 records (from a copy), every suite ran.
        expect(result.options.project, name).toMatchObject({ records: 28, source: 'leveldb' });
        expect(result.skipped, name).toEqual([]);
        expect(
          result.gates.some((g) => g.source.startsWith('runbook') && (g.status === 'PASS' || g.status === 'FAIL')),
          name,
        ).toBe(true);
        // Exit 1 only for a --gate script whose run failed a gate or regressed; 0 otherwise.
        const gated = scripts[name]!.split(' ').includes('--gate');
        const fails = result.gates.some((g) => g.status === 'FAIL') || (result.baseline?.regressions ?? 0) > 0;
        expect(outcome.code, `${name}: ${outcome.stderr.slice(-500)}`).toBe(gated && fails ? 1 : 0);
      }
      expect(await fileDigests(dir, ['leveldb', 'deployments'])).toEqual(before);
      expect((await git('status', '--porcelain')).stdout).toBe('');

      // An install without the bench (pruned by hand): measured nothing, so exit 1 with the code
      // that names the package, never a green.
      const benchDir = join(dir, 'node_modules', '@deploystate', 'bench');
      await rename(benchDir, `${benchDir}-aside`);
      try {
        const missing = await run(bin, ['bench', '--json'], { cwd: dir, env }).then(
          () => ({ code: 0, stdout: '' }),
          (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '' }),
        );
        expect(missing.code).toBe(1);
        expect(JSON.parse(missing.stdout)).toMatchObject({
          ok: false,
          error: { code: 'BENCH_NOT_INSTALLED', hint: expect.stringContaining('@deploystate/bench') },
          data: { package: '@deploystate/bench' },
        });
      } finally {
        await rename(`${benchDir}-aside`, benchDir);
      }
    },
    TIMEOUT_MS,
  );
});
