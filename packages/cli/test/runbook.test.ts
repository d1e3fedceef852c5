// The runbook's `npm run` commands: every one is in runbook-scripts.json, maps to a real command
// with real options, and a few run on a sample store as an operator would run them.
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/program.js';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const SHARED_RUNBOOK = '/work/shared/seed-runbook.md';
const runbookFile = existsSync(SHARED_RUNBOOK) ? SHARED_RUNBOOK : new URL('./fixtures/seed-runbook.md', import.meta.url);

async function runbookCommands(): Promise<string[]> {
  const text = await readFile(runbookFile, 'utf8');
  return [...new Set([...text.matchAll(/npm run ([\w:.-]+)/g)].map((m) => m[1] as string))];
}

async function scriptMap(): Promise<Record<string, string>> {
  return JSON.parse(await readFile(new URL('../runbook-scripts.json', import.meta.url), 'utf8')) as Record<string, string>;
}

/** Runbook steps the runbook does with an environment variable, which the CLI does with a command. */
const STEPS_WITHOUT_A_RUNBOOK_SCRIPT = ['enable:dual-write-mode', 'disable:dual-write-mode', 'promote:json-primary'];

const GLOBAL_FLAGS = [
  '--leveldb',
  '--deployments',
  '--state-dir',
  '--config',
  '--json',
  '--yes',
  '--debug',
  '--no-color',
  '--help',
  '--version',
];

const fixture = useSample('deploystate-cli-runbook-');

/** Runs a runbook script's command line (`deploystate analyze ...`) with the built binary. */
async function runScript(name: string, extra: string[] = []) {
  const command = (await scriptMap())[name];
  expect(command, name).toBeDefined();
  const [bin, ...args] = command!.split(' ');
  expect(bin).toBe('deploystate');
  return fixture.inSample([...args, ...extra]);
}

describe('runbook scripts', () => {
  it('cover every `npm run` command the runbook names, and nothing else', async () => {
    const commands = await runbookCommands();
    expect(commands.length).toBeGreaterThan(30);
    const map = await scriptMap();
    expect(Object.keys(map).sort()).toEqual([...commands, ...STEPS_WITHOUT_A_RUNBOOK_SCRIPT].sort());
    for (const name of [
      'analyze:current-state',
      'test:migration:data-integrity',
      'migrate:bulk-data-migration',
      'compare:leveldb-vs-json',
      'validate:pre-cutover',
      'emergency:rollback-to-leveldb',
      'generate:migration-report',
    ]) {
      expect(map[name], name).toBeDefined();
    }
  });

  it('each maps to a real command with options that command declares', async () => {
    for (const [name, command] of Object.entries(await scriptMap())) {
      const [bin, sub, ...rest] = command.split(' ');
      expect(bin, name).toBe('deploystate');
      const spec = COMMANDS.find((c) => c.usage.split(' ')[0] === sub);
      expect(spec, `${name}: ${command}`).toBeDefined();
      const declared = (spec!.options ?? []).map(([flags]) => flags.split(/[ ,]/)[0]);
      // Words after `--` go to the bench program untouched; the rest must be ours.
      const ours = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
      for (const flag of ours.filter((word) => word.startsWith('--')))
        expect([...declared, ...GLOBAL_FLAGS], `${name}: ${flag}`).toContain(flag);
    }
  });

  it('run on a sample store as the runbook describes them', async () => {
    const analyze = await runScript('analyze:current-state');
    expect(analyze.code, analyze.stderr).toBe(0);
    expect(analyze.stdout).toContain('28 records');
    const precision = await runScript('test:migration:bigint-precision');
    expect(precision.code).toBe(0);
    expect(precision.stdout).toContain('0 failed');
    const ready = await runScript('verify:rollback-ready', ['--json']);
    expect([0, 1]).toContain(ready.code);
    expect(typeof (onlyDocument(ready) as { ready: unknown }).ready).toBe('boolean');
    // Nothing configured for a project check: not a green that ran nothing.
    const projectOnly = await runScript('test:hardhat-integration', ['--json']);
    expect(projectOnly.code).toBe(1);
    expect(onlyDocument(projectOnly)).toMatchObject({ configured: false, ran: false, error: { code: 'CHECK_FAILED' } });
    // The drills run on a copy: before the copy, the JSON cycle passes (seeded from a LevelDB
    // snapshot) while the cross-network check fails, since the JSON files hold no records yet.
    const drill = await runScript('test:deployment-with-json', ['--json']);
    expect(drill.code, drill.stderr).toBe(0);
    expect((onlyDocument(drill) as { scenario: string }).scenario).toBe('json-backend');
    const crossNetwork = await runScript('test:cross-network:json-backend');
    expect(crossNetwork.code).toBe(1);
    expect(crossNetwork.stdout).toContain('FAIL  records on several networks');
    const success = await runScript('verify:rollback-success');
    expect(success.code, success.stderr).toBe(0);
    // Before the copy the JSON side is empty: the consistency check must fail, not pass.
    const differ = await runScript('compare:leveldb-vs-json');
    expect(differ.code).toBe(1);
    const preCutover = await runScript('validate:pre-cutover');
    expect(preCutover.code).toBe(1);
    expect(preCutover.stderr).toContain('TRANSITION_REFUSED');
  });

  it('only the emergency rollback passes --yes (the runbook runs it unattended); it runs with no terminal', async () => {
    const map = await scriptMap();
    expect(Object.keys(map).filter((name) => map[name]!.split(' ').includes('--yes'))).toEqual(['emergency:rollback-to-leveldb']);
    const [, ...args] = map['emergency:rollback-to-leveldb']!.split(' ');
    // In leveldb-only there is nothing to roll back (and nothing to confirm): start from dual-write.
    const emergency = await sampleAt(join(fixture.root, 'emergency'), [['dual-write', 'enable']]);
    const run = await deploystate(
      args.filter((a) => a !== '--emergency'),
      { cwd: emergency, env: { EMERGENCY_ROLLBACK: 'true' } },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('EMERGENCY rollback');
    // Every step that changes the phase or tracked files asks when run by hand: no terminal, no --yes, exit 2.
    for (const name of ['enable:dual-write-mode', 'migrate:bulk-data-migration', 'promote:json-primary', 'configure:json-only-mode']) {
      expect(map[name]!.split(' '), name).not.toContain('--yes');
    }
    const enable = await deploystate(map['enable:dual-write-mode']!.split(' ').slice(1), { cwd: emergency });
    expect(enable.code).toBe(2);
  });

  it('project-check runs the command the config names for it, and fails with it', async () => {
    const project = join(fixture.root, 'checks');
    await cp(fixture.sample, project, { recursive: true });
    const config = (checks: Record<string, string>) =>
      writeFile(join(project, 'deploystate.config.json'), `${JSON.stringify({ projectChecks: checks })}\n`);
    const node = JSON.stringify(process.execPath);
    await config({ 'hardhat-integration': `${node} -e "require('fs').writeFileSync('ran.txt', 'yes')"` });
    const passed = await deploystate(['project-check', 'hardhat-integration', '--json'], { cwd: project });
    expect(passed.code, passed.stderr).toBe(0);
    expect(onlyDocument(passed)).toMatchObject({ configured: true, ran: true, exitCode: 0 });
    expect(await readFile(join(project, 'ran.txt'), 'utf8')).toBe('yes');
    await config({ 'hardhat-integration': `${node} -e "process.exit(3)"` });
    const failed = await deploystate(['project-check', 'hardhat-integration', '--json'], { cwd: project });
    expect(failed.code).toBe(1);
    expect(onlyDocument(failed)).toMatchObject({ exitCode: 3, error: { code: 'CHECK_FAILED' } });
  });
});

describe('init --scripts', () => {
  it("adds the runbook scripts to the user's package.json after confirmation, keeping scripts they already have", async () => {
    // A project with a LevelDB (so init also sets up the migration state): the sample's store, copied.
    const project = join(fixture.root, 'project');
    await cp(join(fixture.sample, 'leveldb'), join(project, 'leveldb'), { recursive: true });
    const pkgFile = join(project, 'package.json');
    // In 4 spaces and CRLF, as a Windows checkout keeps it: the file keeps both (git shows only the scripts added).
    const windows = (value: unknown): string => `${JSON.stringify(value, null, 4)}\n`.replace(/\n/g, '\r\n');
    await writeFile(pkgFile, windows({ name: 'theirs', scripts: { compile: 'hardhat compile' } }));
    const refused = await deploystate(['init', '--scripts'], { cwd: project });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"analyze:current-state": "deploystate analyze"');
    expect(JSON.parse(await readFile(pkgFile, 'utf8')).scripts).toEqual({ compile: 'hardhat compile' });
    // Refused before its first write: no config, no state folder either.
    expect(existsSync(join(project, 'deploystate.config.json'))).toBe(false);
    expect(existsSync(join(project, '.deploystate'))).toBe(false);
    const done = await deploystate(['init', '--scripts', '--yes'], { cwd: project });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('migration state ready: phase leveldb-only');
    const pkgText = await readFile(pkgFile, 'utf8');
    expect(pkgText).toBe(windows(JSON.parse(pkgText)));
    const scripts = JSON.parse(pkgText).scripts as Record<string, string>;
    const map = await scriptMap();
    expect(scripts.compile).toBe('hardhat compile');
    for (const [name, command] of Object.entries(map)) if (name !== 'compile') expect(scripts[name]).toBe(command);
    expect(existsSync(join(project, 'deploystate.config.json'))).toBe(true);
  });

  it('init records the paths it is given, relative to the config, and creates the state folder', async () => {
    const project = join(fixture.root, 'paths');
    await cp(join(fixture.sample, 'leveldb'), join(project, 'data', 'db'), { recursive: true });
    const run = await deploystate(['init', '--leveldb', 'data/db', '--deployments', 'deploy', '--json'], { cwd: project });
    expect(run.code, run.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(project, 'deploystate.config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ leveldb: './data/db', deployments: './deploy', stateDir: './.deploystate', projectChecks: {} });
    expect(existsSync(join(project, '.deploystate'))).toBe(true);
    expect(onlyDocument(run)).toMatchObject({ phase: 'leveldb-only' });
    // Run again with another path: the existing config is a tracked file, so it asks (no terminal: exit 2, unchanged).
    const before = await readFile(join(project, 'deploystate.config.json'), 'utf8');
    const again = await deploystate(['init', '--deployments', 'elsewhere'], { cwd: project });
    expect(again.code).toBe(2);
    expect(await readFile(join(project, 'deploystate.config.json'), 'utf8')).toBe(before);
    const confirmed = await deploystate(['init', '--deployments', 'elsewhere', '--yes'], { cwd: project });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const updated = JSON.parse(await readFile(join(project, 'deploystate.config.json'), 'utf8')) as Record<string, unknown>;
    expect(updated).toMatchObject({ leveldb: './data/db', deployments: './elsewhere' });
  });
});

describe('validate --staged', () => {
  it("judges git's index, not the working tree", async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const git = (cwd: string, ...args: string[]) =>
      promisify(execFile)('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd });
    const project = join(fixture.root, 'staged');
    await cp(fixture.sample, project, { recursive: true });
    await git(project, 'init', '-q');
    await git(project, 'add', 'deployments');
    const file = join(project, 'deployments', 'bscmainnet.json');
    const good = await readFile(file, 'utf8');
    await writeFile(file, '{');
    await git(project, 'add', 'deployments/bscmainnet.json');
    await writeFile(file, good);
    const staged = await deploystate(['validate', '--staged', '--json'], { cwd: project });
    expect(staged.code).toBe(1);
    const envelope = onlyDocument(staged) as { findings: Array<{ code: string; file?: string }> };
    expect(envelope.findings.some((f) => f.code === 'NOT_JSON' && f.file === file)).toBe(true);
  });
});
