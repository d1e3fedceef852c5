// What a first-time operator meets walking the runbook: every hint the CLI prints names a command
// that exists, with flags that work when typed as printed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-operator-');

/** The last `deploystate ...` command quoted in backticks in a line, as arguments. */
function quotedCommand(text: string): string[] {
  const commands = [...text.matchAll(/`deploystate ([^`]+)`/g)].map((m) => m[1] as string);
  expect(commands.length, text).toBeGreaterThan(0);
  return (commands.at(-1) as string).split(' ');
}

describe('hints an operator can follow as printed', () => {
  it('leveldb-only: status names `restore leveldb`, a command that exists, not the migrator step name', async () => {
    const status = await fixture.inSample(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('restore leveldb');
    expect(status.stdout).not.toContain('restore-leveldb');
  });

  it('a check that passes while listing error findings says why, and what cutover will ask', async () => {
    const check = await fixture.inSample(['check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('INVALID_ADDRESS');
    expect(check.stdout).toMatch(/2 error findings above are carried as stored unless excluded; cutover asks you to decide on each/);
    // The verdict itself says the errors are there: a bare green "passed" beside them read as none.
    expect(check.stdout).toContain('data integrity check passed, with 2 error findings to decide on (carried as stored)');
  });

  it('a usage error points at the failing command’s own --help', async () => {
    const migrate = await fixture.inSample(['migrate', '--batch-size', 'x', '--json']);
    expect(migrate.code).toBe(2);
    expect((onlyDocument(migrate).error as { hint: string }).hint).toBe('see `deploystate migrate --help`');
    // Every whole-number option is checked alike: none takes `abc` (or too small a number) silently.
    for (const args of [['compare', '--limit', 'abc'], ['monitor', '--once', '--interval', 'abc'], ['monitor', '--once', '--interval', '50'], ['cutover', '--dry-run', '--soak', '0']]) {
      const run = await fixture.inSample([...args, '--json']);
      expect(run.code, args.join(' ')).toBe(2);
      expect(onlyDocument(run).error, args.join(' ')).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(args[args.length - 2] as string) });
    }
    const unknown = await fixture.inSample(['status', '--no-such-option']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('see `deploystate status --help`');
  });

  it('validate --verbose exists, as its output says, and lists the info findings it otherwise hides', async () => {
    const plain = await fixture.inSample(['validate']);
    expect(plain.stdout).toContain('--verbose lists them');
    const verbose = await fixture.inSample(['validate', '--verbose']);
    expect(verbose.code).toBe(plain.code);
    expect(verbose.stdout).not.toContain('--verbose lists them');
    expect(verbose.stdout).toMatch(/ info /);
  });

  it('cutover: the acknowledgement hint, then the dry run’s next command, pass when run as printed', async () => {
    const dir = await sampleAt(join(fixture.root, 'cutover'), [['init'], ['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    const inCopy = (args: string[]) => deploystate(args, { cwd: dir });
    const refused = await inCopy(['cutover', '--dry-run', '--json']);
    expect(refused.code).toBe(1);
    const error = onlyDocument(refused).error as { code: string; hint: string };
    expect(error.code).toBe('GATE_FAILED');
    const suggested = quotedCommand(error.hint);
    expect(suggested.slice(0, 2)).toEqual(['cutover', '--dry-run']);

    const dryRun = await inCopy(suggested);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const next = quotedCommand(dryRun.stdout.split('\n').find((line) => line.startsWith('next:')) ?? '');
    expect(next[0]).toBe('cutover');
    expect(next).not.toContain('--dry-run');
    const cutover = await inCopy([...next, '--yes']);
    expect(cutover.code, cutover.stderr).toBe(0);
    expect(cutover.stdout).toContain('phase json-only');
  });
});
