// One --json envelope for every command and every failure, checked against the schema the package
// ships (envelopeOf validates it), and the exit code of every error code from core's one table.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ExitCodes, StateError, type ErrorCode } from '@deploystate/core';
import { COMMANDS } from '../src/program.js';
import { envelopeError, exitCodeFor } from '../src/failure.js';
import { OutcomeError } from '../src/outcome.js';
import { CACError } from '../src/usage-error.js';
import { deploystate, envelopeOf, type Run, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-envelope-');

/** Runs a command with --json, checks its envelope, and returns it with the run. */
async function json(args: string[], cwd = fixture.sample) {
  const run = await deploystate([...args, '--json'], { cwd });
  return { run, envelope: envelopeOf(run) };
}

const failed = (run: Run, code: number, errorCode: string): void => {
  const envelope = envelopeOf(run);
  expect(run.code, run.stderr).toBe(code);
  expect(envelope.ok).toBe(false);
  if (!envelope.ok) expect(envelope.error.code).toBe(errorCode);
};

describe('the --json envelope', () => {
  it('every command, on success and on failure, prints one envelope naming the command and version', async () => {
    const seen = new Set<string>();
    const check = async (args: string[], expectOk: boolean | undefined, cwd?: string) => {
      const { run, envelope } = await json(args, cwd);
      if (expectOk !== undefined) expect(envelope.ok, `${args.join(' ')}: ${run.stderr}`).toBe(expectOk);
      if (envelope.command !== null) {
        expect(envelope.command).toBe(args[0]);
        seen.add(envelope.command);
      }
      expect(envelope.version).toMatch(/^\d+\.\d+\.\d+/);
      return envelope;
    };
    const sample = join(fixture.root, 'walk');
    await cp(fixture.sample, sample, { recursive: true });
    await check(['analyze'], true, sample);
    await check(['check'], true, sample);
    await check(['status'], true, sample);
    // Given twice (an npm script's own --json and one passed after --): still one envelope, with its data.
    expect((await check(['status', '--json'], true, sample)) as { data: { phase?: string } }).toMatchObject({ data: { phase: 'leveldb-only' } });
    await check(['validate'], undefined, sample);
    await check(['monitor', '--once'], true, sample);
    await check(['rollback', '--ready'], undefined, sample);
    await check(['cutover', '--dry-run'], false, sample);
    await check(['promote', '--yes'], false, sample);
    await check(['restore', '--list'], true, sample);
    await check(['restore'], false, sample);
    await check(['export', join(fixture.root, 'export.json')], true, sample);
    await check(['import', join(fixture.root, 'missing.json')], false, sample);
    await check(['project-check', 'compile'], false, sample);
    await check(['verify-chain', '--rpc', '56=http://127.0.0.1:9', '--retries', '0', '--timeout', '200'], false, sample);
    await check(['bench', '--', '--no-such-bench-option'], false, sample);
    await check(['drill', 'no-such-scenario'], false, sample);
    await check(['demo', join(fixture.root, 'second-sample')], true, fixture.root);
    await check(['init'], true, sample);
    await check(['dual-write', 'enable', '--yes'], true, sample);
    await check(['dual-write', 'verify'], undefined, sample);
    const differ = await check(['compare'], undefined, sample);
    // The keys that differ, as arrays a script can read, beside the error.
    if (!differ.ok) expect((differ.error.details as { missingInJson: string[] }).missingInJson).toHaveLength(28);
    await check(['migrate', '--yes'], true, sample);
    await check(['verify'], undefined, sample);
    await check(['repair-files', '--dry-run'], true, sample);
    await check(['report'], true, sample);
    await check(['dual-write', 'disable', '--yes'], true, sample);
    await check(['migrate', '--demo', join(fixture.root, 'demo-run')], true, fixture.root);
    // Commands other helpers own: their envelope only (their own tests judge what they do).
    await check(['exclude', '31337-TestToken'], undefined, sample);
    await check(['acknowledge', '31337-LookCoin', 'DEV_CHAIN'], undefined, sample);
    await check(['rename-network', '31337', 'localdev'], undefined, sample);
    await check(['fold-in', '--dry-run'], undefined, sample);
    await check(['repair-files'], undefined, sample);
    await check(['merge-resolve'], undefined, sample);
    await check(['merge-file', 'no-base', 'no-ours', 'no-theirs'], undefined, sample);
    // Every command in the table was run at least once.
    expect([...seen].sort()).toEqual([...new Set(COMMANDS.map((c) => c.usage.split(' ')[0] as string))].sort());
  });

  it('parse errors and unknown commands are envelopes too, with command null when none was recognised', async () => {
    const unknown = await deploystate(['no-such-command', '--json'], { cwd: fixture.root });
    failed(unknown, ExitCodes.USAGE, 'USAGE');
    expect(envelopeOf(unknown).command).toBeNull();
    const missingArgument = await deploystate(['dual-write', '--json'], { cwd: fixture.root });
    failed(missingArgument, ExitCodes.USAGE, 'USAGE');
    expect(envelopeOf(missingArgument).command).toBe('dual-write');
    const badValue = await deploystate(['status', '--expect', 'nowhere', '--json'], { cwd: fixture.sample });
    failed(badValue, ExitCodes.USAGE, 'INVALID_ARGUMENT');
    const nothingHere = await deploystate(['analyze', '--json'], { cwd: fixture.root });
    failed(nothingHere, ExitCodes.DATA, 'STORE_NOT_FOUND');
    const version = await deploystate(['--version', '--json'], { cwd: fixture.root });
    expect(envelopeOf(version)).toMatchObject({ ok: true, command: null, data: { version: expect.any(String) } });
  });

  it('--json with no command is a usage error envelope, and --json --help keeps the help off stdout', async () => {
    const none = await deploystate(['--json'], { cwd: fixture.root });
    failed(none, ExitCodes.USAGE, 'USAGE');
    expect(envelopeOf(none).command).toBeNull();
    // Without --json, no command still shows the help for a person.
    const plain = await deploystate([], { cwd: fixture.root });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('Commands:');
    const help = await deploystate(['migrate', '--help', '--json'], { cwd: fixture.root });
    expect(envelopeOf(help)).toMatchObject({ ok: true, command: 'migrate', data: null });
    expect(help.stderr).toContain('--dry-run');
  });

  it('a gate lists the findings to acknowledge as an array, not only inside the message', async () => {
    const sample = await sampleAt(join(fixture.root, 'gate'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const refused = await deploystate(['cutover', '--dry-run', '--json'], { cwd: sample });
    failed(refused, ExitCodes.CHECK_FAILED, 'GATE_FAILED');
    const envelope = envelopeOf(refused);
    if (envelope.ok) throw new Error('expected a failure');
    const details = envelope.error.details as { findings: Array<{ code: string; key?: string }>; acknowledge: string[] };
    expect(details.findings.length).toBeGreaterThan(0);
    expect(details.acknowledge).toEqual([...new Set(details.findings.map((f) => f.code))].sort());
    // Acknowledging exactly what the array lists opens the gate.
    const ack = details.acknowledge.flatMap((code) => ['--acknowledge', code]);
    const passed = await deploystate(['cutover', '--dry-run', ...ack, '--json'], { cwd: sample });
    expect(passed.code, passed.stderr).toBe(0);
    // Transitions are idempotent: the phase a command leads to, when already there, is a success.
    const again = await deploystate(['promote', '--json'], { cwd: sample });
    expect(again.code, again.stderr).toBe(0);
    expect(envelopeOf(again)).toMatchObject({ ok: true, data: { phase: 'json-primary', changed: false } });
    // What the cut-over was told to accept, status shows in text as in --json.
    const cut = await deploystate(['cutover', ...ack, '--yes'], { cwd: sample });
    expect(cut.code, cut.stderr).toBe(0);
    const status = await deploystate(['status'], { cwd: sample });
    expect(status.stdout).toContain(`at cut-over  acknowledged ${details.acknowledge.join(', ')}`);
    // Cut over already: the dry run answers as the cut-over does, a success that changes nothing.
    for (const args of [['cutover', '--dry-run', '--json'], ['cutover', '--yes', '--json']]) {
      const done = await deploystate(args, { cwd: sample });
      expect(done.code, `${args.join(' ')}: ${done.stderr}`).toBe(0);
      expect(envelopeOf(done)).toMatchObject({ ok: true, data: { phase: 'json-only', changed: false } });
    }
  });
});

describe('exit codes', () => {
  // Decided here once more, by hand: a change to core's table has to change this test too.
  const EXPECTED: Record<ErrorCode, number> = {
    INVALID_RECORD: 4,
    INVALID_KEY: 4,
    INVALID_ARGUMENT: 2,
    INVALID_CONFIG: 2,
    STORE_CLOSED: 6,
    STORE_NOT_FOUND: 4,
    CORRUPTED: 4,
    STORE_INCOMPLETE: 4,
    LOCKED: 3,
    BACKEND_UNAVAILABLE: 6,
    LOCK_UNAVAILABLE: 6,
    WRITE_FAILED: 6,
    DISK_FULL: 6,
    PERMISSION_DENIED: 6,
    UNSUPPORTED_SCHEMA_VERSION: 4,
    CHAIN_MISMATCH: 4,
    MIGRATION_STATE_INVALID: 4,
    TRANSITION_REFUSED: 1,
    GATE_FAILED: 1,
    WRITES_REFUSED: 3,
    DIVERGED: 1,
    UNMIGRATABLE_RECORDS: 1,
    BACKUP_NOT_FOUND: 4,
    STORES_DIFFER: 1,
    ENDPOINT_UNAVAILABLE: 1,
    FOREIGN_OVERWRITE: 1,
    DUPLICATE_KEY: 4,
    NOT_A_FILE: 4,
    PRESENCE_UNKNOWN: 3,
  };

  it('every error code has its decided exit code and a hint, never "unexpected"', () => {
    for (const code of Object.values(ErrorCodes)) {
      const error = new StateError(code, 'x');
      expect(exitCodeFor(error), code).toBe(EXPECTED[code]);
      expect(exitCodeFor(error), code).not.toBe(ExitCodes.UNEXPECTED);
      expect(envelopeError(error, 'status').hint, code).toMatch(/\S/);
    }
  });

  it('a declined prompt is 1, a cancelled one 130, a usage error 2, a bug 5', () => {
    expect(exitCodeFor(new OutcomeError('DECLINED', 'no'))).toBe(1);
    expect(exitCodeFor(new OutcomeError('CANCELLED', 'ctrl-c'))).toBe(130);
    expect(exitCodeFor(new CACError('bad'))).toBe(2);
    expect(exitCodeFor(new TypeError('bug'))).toBe(5);
    expect(envelopeError(new TypeError('bug')).versions?.node).toBe(process.version);
  });

  it('an environment error from a real command exits 6 with its code, not as a bug', async () => {
    const dir = join(fixture.root, 'blocked');
    await mkdir(dir, { recursive: true });
    // The state folder would go under a regular file: the operating system refuses (ENOTDIR).
    await writeFile(join(dir, 'not-a-folder'), 'x');
    await writeFile(join(dir, 'deploystate.config.json'), `${JSON.stringify({ stateDir: './not-a-folder/state' })}\n`);
    const run = await deploystate(['init', '--json'], { cwd: dir });
    failed(run, ExitCodes.ENVIRONMENT, 'WRITE_FAILED');
    expect(run.stderr).not.toContain('bug report');
  });
});
