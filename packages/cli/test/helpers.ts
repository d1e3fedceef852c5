// Runs the BUILT binary as a child process, the way an operator or a script does; and the temp
// folders and sample stores the test files share.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLock } from '@deploystate/backend-json/lock';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, expect } from 'vitest';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child: no INIT_CWD (pnpm sets it for us), so paths resolve against cwd. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.INIT_CWD;
  delete env.EMERGENCY_ROLLBACK;
  delete env.DUAL_WRITE_MODE;
  // A wait set in the shell running the tests would change what each test waits for.
  delete env.DEPLOYSTATE_LOCK_WAIT_MS;
  return { ...env, ...extra };
}

export function deploystate(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: string } = { cwd: process.cwd() },
): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(options.input ?? '');
  return outputOf(child);
}

/** What a child process printed and its exit code, once it has closed. */
export function outputOf(child: ChildProcess): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs each step in `cwd` with `--yes`, each expected to exit 0 (a runbook walk a test starts from). */
export async function runSteps(cwd: string, steps: readonly string[][]): Promise<void> {
  for (const step of steps) {
    const run = await deploystate([...step, '--yes'], { cwd });
    expect(run.code, `${step.join(' ')}: ${run.stderr}`).toBe(0);
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateEnvelope = ajv.compile(JSON.parse(readFileSync(new URL('../envelope.schema.json', import.meta.url), 'utf8')) as object);

export type Envelope =
  | { ok: true; command: string | null; version: string; data: unknown }
  | { ok: false; command: string | null; version: string; data?: unknown; error: Record<string, unknown> & { code: string; hint: string } };

/**
 * Parses stdout as exactly one JSON document (JSON.parse refuses anything before or after it) and
 * checks it against the envelope schema the package ships: every test that reads --json checks it.
 */
export function envelopeOf(run: Run): Envelope {
  const document = JSON.parse(run.stdout) as unknown;
  if (!validateEnvelope(document)) throw new Error(`not a valid envelope: ${ajv.errorsText(validateEnvelope.errors)}\n${run.stdout}`);
  const envelope = document as Envelope;
  // ok means exit 0, and nothing else does.
  expect(envelope.ok, run.stderr).toBe(run.code === 0);
  return envelope;
}

/** The command's result (`data`); on failure, what it found beside the `error`. */
export function onlyDocument(run: Run): Record<string, unknown> {
  const envelope = envelopeOf(run);
  if (envelope.ok) return envelope.data as Record<string, unknown>;
  return { ok: false, ...((envelope.data ?? {}) as Record<string, unknown>), error: envelope.error };
}

export interface SampleFixture {
  /** The temp folder the file works in (removed after the file's tests). */
  readonly root: string;
  /** `<root>/sample`, made by `deploystate demo` before the file's tests. */
  readonly sample: string;
  /** Runs the binary with the sample as its working folder. */
  inSample(args: string[], options?: { env?: Record<string, string> }): Promise<Run>;
}

/**
 * Registers beforeAll/afterAll for a test file: a fresh temp folder (`prefix`) and, unless
 * `demo: false`, the production-shaped sample in `<root>/sample`.
 */
export function useSample(prefix: string, options: { demo?: boolean } = {}): SampleFixture {
  let root = '';
  const fixture: SampleFixture = {
    get root() {
      return root;
    },
    get sample() {
      return join(root, 'sample');
    },
    inSample: (args, extra = {}) => deploystate(args, { cwd: fixture.sample, ...extra }),
  };
  beforeAll(async () => {
    root = await makeTempDir(prefix);
    if (options.demo === false) return;
    const created = await deploystate(['demo', fixture.sample], { cwd: root });
    expect(created.code, created.stderr).toBe(0);
  });
  afterAll(async () => {
    if (root !== '') await removeTempDir(root);
  });
  return fixture;
}

/**
 * The demo sample plus `count` generated records on chains 56, 97 and 84532, in dual-write and not
 * yet copied, at `dir`: a copy long enough to stop midway, an analyze larger than a pipe holds.
 */
export async function largeSample(dir: string, count: number): Promise<void> {
  const created = await deploystate(['demo', dir], { cwd: process.cwd() });
  expect(created.code, created.stderr).toBe(0);
  const hex = (i: number, length: number): string => i.toString(16).padStart(length, '0');
  const chains = [[56, 'bscmainnet'], [97, 'bsctestnet'], [84532, 'basesepolia']] as const;
  const lines = [JSON.stringify({ format: 'deploystate-export', version: 1 })];
  for (let i = 0; i < count; i++) {
    const [chainId, networkName] = chains[i % chains.length] as (typeof chains)[number];
    lines.push(
      JSON.stringify({
        contractName: `Generated${i}`,
        chainId,
        networkName,
        address: `0x${hex(i + 1, 40)}`,
        factoryByteCodeHash: `0x${hex(i + 7, 64)}`,
        implementationHash: `0x${hex(i + 9, 64)}`,
        deploymentArgs: [String(i)],
        timestamp: 1723001200000 + i,
      }),
    );
  }
  const file = `${dir}.ndjson`;
  await writeFile(file, `${lines.join('\n')}\n`);
  for (const args of [['init', '--yes'], ['import', file, '--to', 'leveldb', '--yes'], ['dual-write', 'enable', '--yes']]) {
    const step = await deploystate(args, { cwd: dir });
    expect(step.code, `${args.join(' ')}: ${step.stderr}`).toBe(0);
  }
}

/** The phase in `dir`'s phase.json. */
export async function phaseOf(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, '.deploystate', 'phase.json'), 'utf8')) as { phase: string }).phase;
}

/** Waits (up to 20 s) until `dir`'s phase is `phase`, and fails the test if it never is. */
export async function untilPhase(dir: string, phase: string): Promise<void> {
  const until = Date.now() + 20_000;
  while ((await phaseOf(dir)) !== phase && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await phaseOf(dir)).toBe(phase);
}

/**
 * `rollback --yes` in `dir` (at json-primary) kept waiting once it switched to rolling-back: a write
 * in flight holds the fence shared. `letGo()` ends that write.
 */
export async function rollbackBehindWrite(dir: string): Promise<{ rollback: ChildProcess; exited: Promise<number | null>; stderr: () => string; letGo: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const writer = withLock(
    join(dir, '.deploystate', 'fence.lock'),
    async () => {
      holding();
      await released;
    },
    { mode: 'shared', timeoutMs: 10_000 },
  );
  await held;
  const rollback = spawn(process.execPath, [BIN, 'rollback', '--yes'], { cwd: dir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  rollback.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  rollback.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => rollback.on('exit', (code) => resolve(code)));
  return {
    rollback,
    exited,
    stderr: () => stderr,
    letGo: async () => {
      release();
      await writer;
    },
  };
}
