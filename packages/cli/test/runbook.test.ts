// The runbook's `npm run` commands: every one is in runbook-scripts.json, maps to a real command
// with real options, and a few run on a sample store as an operator would run them.
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/program.js';
import { deploystate, useSample } from './helpers.js';

const SHARED_RUNBOOK = '/work/shared/seed-runbook.md';
const runbookFile = existsSync(SHARED_RUNBOOK) ? SHARED_RUNBOOK : new URL('./fixtures/seed-runbook.md', import.meta.url);

async function runbookCommands(): Promise<string[]> {
  const text = await readFile(runbookFile, 'utf8');
  return [...new Set([...text.matchAll(/npm run ([\w:.-]+)/g)].map((m) => m[1] as string))];
}

async function scriptMap(): Promise<Record<string, string>> {
  return JSON.parse(await readFile(new URL('../runbook-scripts.json', import.meta.url), 'utf8')) as Record<string, string>;
}

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
    expect(Object.keys(map).sort()).toEqual([...commands].sort());
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
    expect(typeof (JSON.parse(ready.stdout) as { ready: unknown }).ready).toBe('boolean');
    const projectOnly = await runScript('test:hardhat-integration');
    expect(projectOnly.code).toBe(0);
    expect(projectOnly.stdout).toContain('NOT RUN by deploystate');
    // The drills run on a copy: before the copy, the JSON cycle passes (seeded from a LevelDB
    // snapshot) while the cross-network check fails, since the JSON files hold no records yet.
    const drill = await runScript('test:deployment-with-json', ['--json']);
    expect(drill.code, drill.stderr).toBe(0);
    expect((JSON.parse(drill.stdout) as { scenario: string }).scenario).toBe('json-backend');
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

  it('the emergency rollback script reads EMERGENCY_ROLLBACK and still asks for confirmation without a terminal', async () => {
    const command = (await scriptMap())['emergency:rollback-to-leveldb'];
    const [, ...args] = command!.split(' ');
    const run = await deploystate(
      args.filter((a) => a !== '--emergency'),
      { cwd: fixture.sample, env: { EMERGENCY_ROLLBACK: 'true' } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('EMERGENCY rollback');
  });
});

describe('init --scripts', () => {
  it("adds the runbook scripts to the user's package.json after confirmation, keeping scripts they already have", async () => {
    // A project with a LevelDB (so init also sets up the migration state): the sample's store, copied.
    const project = join(fixture.root, 'project');
    await cp(join(fixture.sample, 'leveldb'), join(project, 'leveldb'), { recursive: true });
    const pkgFile = join(project, 'package.json');
    await writeFile(pkgFile, `${JSON.stringify({ name: 'theirs', scripts: { compile: 'hardhat compile' } }, null, 2)}\n`);
    const refused = await deploystate(['init', '--scripts'], { cwd: project });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"analyze:current-state": "deploystate analyze"');
    expect(JSON.parse(await readFile(pkgFile, 'utf8')).scripts).toEqual({ compile: 'hardhat compile' });
    const done = await deploystate(['init', '--scripts', '--yes'], { cwd: project });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('migration state ready: phase leveldb-only');
    const scripts = JSON.parse(await readFile(pkgFile, 'utf8')).scripts as Record<string, string>;
    const map = await scriptMap();
    expect(scripts.compile).toBe('hardhat compile');
    for (const [name, command] of Object.entries(map)) if (name !== 'compile') expect(scripts[name]).toBe(command);
    expect(existsSync(join(project, 'deploystate.config.json'))).toBe(true);
  });
});
