import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { sampleRecord } from '@deploystate/core';
import { COMMANDS } from '../src/program.js';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-', { demo: false });

describe('help and version', () => {
  it('every command answers --help with exit 0 and shows its examples', async () => {
    // A few at a time: each is a whole process start, and they do not depend on each other.
    const pending = [...COMMANDS];
    const worker = async (): Promise<void> => {
      for (let spec = pending.shift(); spec !== undefined; spec = pending.shift()) {
        const name = spec.usage.split(' ')[0] as string;
        const run = await deploystate([name, '--help'], { cwd: fixture.root });
        expect(run.code, name).toBe(0);
        expect(run.stdout, name).toContain('Examples:');
        expect(run.stdout, name).toContain(spec.examples[0]);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  });

  it('--help without a command lists every command and the exit codes', async () => {
    const run = await deploystate(['--help'], { cwd: fixture.root });
    expect(run.code).toBe(0);
    for (const spec of COMMANDS) expect(run.stdout).toContain(spec.usage);
    expect(run.stdout).toContain('Exit codes');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await deploystate(['--version'], { cwd: fixture.root });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`deploystate/${pkg.version}`);
  });
});

describe('migrate --demo', () => {
  it('runs every phase on a fresh sample and ends with the report summary and its files', async () => {
    const dir = join(fixture.root, 'demo-run');
    const run = await deploystate(['migrate', '--demo', dir], { cwd: fixture.root });
    expect(run.code, run.stderr).toBe(0);
    for (const phase of ['analyze', 'dual-write enable', 'migrate', 'verify', 'promote', 'cutover', 'report'])
      expect(run.stderr).toContain(phase);
    expect(run.stdout).toContain('Migration status: SUCCESS');
    const files = [...run.stdout.matchAll(/^\s+(\S+\.(?:md|json))$/gm)].map((m) => m[1] as string);
    expect(files).toHaveLength(2);
    for (const file of files) expect(existsSync(file)).toBe(true);

    // The final validation (runbook 5.4) honours what the cut-over acknowledged by code or key, for
    // the records as they were then; a record changed since raises its findings again.
    const after = await deploystate(['validate', '--json'], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
    const accepted = (onlyDocument(after) as { findings: Array<{ key?: string; file?: string; code: string; acknowledged?: boolean }> }).findings.filter(
      (f) => f.acknowledged === true && f.code === 'MISSING_IMPLEMENTATION_HASH',
    );
    expect(accepted.length).toBeGreaterThan(0);
    const { key, file } = accepted[0] as { key: string; file: string };
    // The drill's validator pass honours what validate honours: it failed on the findings the
    // cut-over acknowledged, which validate lists as acknowledged.
    const drill = await deploystate(['drill', 'cross-network', '--json'], { cwd: dir });
    expect(drill.code, drill.stdout).toBe(0);
    const validatorCheck = (onlyDocument(drill) as { checks: Array<{ name: string; status: string }> }).checks.find((c) => c.name === 'validator over every state file');
    expect(validatorCheck?.status).toBe('pass');
    // deploystate-validate's name for the text format is taken too.
    const named = await deploystate(['validate', '--format', 'human'], { cwd: dir });
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toBe((await deploystate(['validate', '--format', 'text'], { cwd: dir })).stdout);
    // For a person, paths relative to where the command runs, as deploystate-validate prints them.
    const human = await deploystate(['validate', '--verbose'], { cwd: dir });
    expect(human.stdout).toContain(`${relative(dir, file)}:`);
    expect(human.stdout).not.toContain(dir);
    const name = key.slice(key.indexOf('-') + 1);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { records: Record<string, { timestamp: number }> };
    (doc.records[name] as { timestamp: number }).timestamp += 1;
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    const changed = onlyDocument(await deploystate(['validate', '--json'], { cwd: dir })) as { findings: Array<{ key?: string; code: string; acknowledged?: boolean }> };
    const again = changed.findings.find((f) => f.key === key && f.code === 'MISSING_IMPLEMENTATION_HASH');
    expect(again).toBeDefined();
    expect(again?.acknowledged).not.toBe(true);

    // One new error beside the acknowledged ones: the failure's details list what fails it, as counted.
    const testnet = join(dir, 'deployments', 'bsctestnet.json');
    writeFileSync(testnet, readFileSync(testnet, 'utf8').slice(0, 300));
    const broken = await deploystate(['validate', '--json'], { cwd: dir });
    expect(broken.code).not.toBe(0);
    const error = (onlyDocument(broken) as unknown as { error: { message: string; details: { findings: Array<{ code: string; file?: string }> } } }).error;
    expect(error.message).toMatch(/^1 error finding/);
    expect(error.details.findings).toEqual([{ code: 'NOT_JSON', file: testnet }]);
  });
});

describe('exit codes and --json', () => {
  it('a command where nothing exists says what it looked for, how to get a sample, and exits 4', async () => {
    const empty = join(fixture.root, 'empty');
    const run = await deploystate(['analyze'], { cwd: fixture.root });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('STORE_NOT_FOUND');
    expect(run.stderr).toContain(join(fixture.root, 'leveldb'));
    expect(run.stderr).toContain('deploystate demo');
    const json = await deploystate(['status', '--json', '--leveldb', empty], { cwd: fixture.root });
    expect(json.code).toBe(4);
    expect((onlyDocument(json).error as { code: string }).code).toBe('STORE_NOT_FOUND');
  });

  it('usage errors exit 2: unknown command, bad option value, a destructive step with no terminal and no --yes', async () => {
    expect((await deploystate(['no-such-command'], { cwd: fixture.root })).code).toBe(2);
    expect((await deploystate(['migrate', '--batch-size', 'x'], { cwd: fixture.root })).code).toBe(2);
    expect((await deploystate(['dual-write'], { cwd: fixture.root })).code).toBe(2);
    expect((await deploystate(['analyze', '--no-such-option'], { cwd: fixture.root })).code).toBe(2);
  });

  it('a whole-number option is judged as typed: 0x10, 1e3, 0b1111111 and 1.0 are refused (exit 2) wherever one is taken', async () => {
    const project = join(fixture.root, 'numbers');
    await sampleAt(project);
    const rpc = ['--rpc', '1=http://127.0.0.1:9'];
    const uses = [
      (v: string) => ['compare', '--limit', v],
      (v: string) => ['migrate', '--dry-run', `--batch-size=${v}`],
      (v: string) => ['monitor', '--once', '--interval', v],
      (v: string) => ['cutover', '--soak', v],
      (v: string) => ['verify-chain', ...rpc, '--timeout', v],
      (v: string) => ['verify-chain', ...rpc, '--retries', v],
    ];
    for (const use of uses) {
      for (const value of ['0x10', '1e3', '0b1111111', '1.0']) {
        const run = await deploystate([...use(value), '--json'], { cwd: project });
        expect(run.code, use(value).join(' ')).toBe(2);
        expect(onlyDocument(run).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(value) });
      }
    }
    expect((await deploystate(['compare', '--limit', '1000'], { cwd: project })).code).not.toBe(2);
    // A path option that reads as a number stays the path typed: cac made `--leveldb 010` the folder `10`.
    await rename(join(project, 'leveldb'), join(project, '010'));
    const status = await deploystate(['status', '--leveldb', '010', '--json'], { cwd: project });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.stringify(onlyDocument(status))).toContain(join(project, '010'));
  });
});

// A dry run makes no backup: it printed "removed 97-NewJ0 (old value in )", an empty path.
describe('migrate --dry-run', () => {
  it('says a record it would remove or overwrite will be kept in a backup, naming no path; the copy then names the backup', async () => {
    const project = await sampleAt(join(fixture.root, 'dry-run-removed'), [['dual-write', 'enable']]);
    const store = new JsonFileStore({ dir: join(project, 'deployments') });
    await store.open();
    await store.put(sampleRecord(97, 'NewJ0', 'bsctestnet'));
    await store.close();
    const dry = await deploystate(['migrate', '--dry-run'], { cwd: project });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would remove 97-NewJ0 (the old value will be kept in a backup)');
    expect(dry.stdout).not.toMatch(/old value in \)/);
    const copy = await deploystate(['migrate', '--yes'], { cwd: project });
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stdout).toMatch(/ {2}removed 97-NewJ0 \(old value in \S+\)/);
  });
});
