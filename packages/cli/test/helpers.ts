// Runs the BUILT binary as a child process, the way an operator or a script does; and the temp
// folders and sample stores the test files share.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withLock } from '@deploystate/backend-json/lock';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import type { DeploymentRecord } from '@deploystate/core';
import { createStateStore } from '@deploystate/migrator';
import type { Ajv, ValidateFunction } from 'ajv';
import { afterAll, beforeAll, expect, inject } from 'vitest';

const execFileAsync = promisify(execFile);

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

/**
 * Copies a project folder exactly (`cp -a`): modes, nanosecond times and the hard links within it. A
 * network file and the backup of the version the store last wrote are one inode, named with the
 * file's size and mtime in nanoseconds; restore and the co-owned check rely on both. No process may
 * hold a store in it open meanwhile.
 */
export async function copyProject(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await execFileAsync('cp', ['-a', '--', from, to]);
}

/**
 * What a prepared sample starts from: `deploystate demo` (the sample in leveldb-only), or
 * `deploystate migrate --demo` (the sample taken through every phase, cut over).
 */
export type SampleStart = 'demo' | 'migrate --demo';

const preparing = new Map<string, Promise<string>>();

/**
 * The sample from `start` taken through `steps` (each run with --yes, each expected to exit 0), made
 * by the real CLI once per run (in the folder prepared-samples-root.ts keeps) from the sample one
 * step short of it. Nobody works in it: a test works in its own copy (sampleAt).
 */
function preparedSample(start: SampleStart, steps: readonly string[][]): Promise<string> {
  const key = JSON.stringify([start, steps]);
  let prepared = preparing.get(key);
  if (prepared === undefined) {
    prepared = prepare(key, start, steps);
    preparing.set(key, prepared);
  }
  return prepared;
}

async function prepare(key: string, start: SampleStart, steps: readonly string[][]): Promise<string> {
  const root = inject('preparedSamplesRoot');
  const folder = join(root, createHash('sha256').update(key).digest('hex').slice(0, 16));
  // An earlier test file of this run made it.
  if (existsSync(folder)) return folder;
  const building = `${folder}.${process.pid}`;
  const last = steps.at(-1);
  if (last === undefined) {
    const created = await deploystate([...start.split(' '), building], { cwd: root });
    expect(created.code, created.stderr).toBe(0);
  } else {
    await copyProject(await preparedSample(start, steps.slice(0, -1)), building);
    await runSteps(building, [last]);
  }
  try {
    await rename(building, folder);
  } catch (error) {
    // A test file running beside this one made it first: theirs is the same.
    if (!existsSync(folder)) throw error;
    await removeTempDir(building);
  }
  return folder;
}

/**
 * Makes `dir` (which must not exist) the sample from `start` taken through `steps` by the real CLI,
 * each step with --yes: a copy of the one made once per run (preparedSample). Paths the CLI recorded
 * inside it (the copy's progress, a report's text) name the folder it was made in. Returns `dir`.
 */
export async function sampleAt(dir: string, steps: readonly string[][] = [], start: SampleStart = 'demo'): Promise<string> {
  await copyProject(await preparedSample(start, steps), dir);
  return dir;
}

let envelopeSchema: { ajv: Ajv; validate: ValidateFunction } | undefined;

/**
 * The envelope schema's validator, made on first use: loading Ajv and compiling the schema takes
 * about a third of a second, which a test file that reads no --json need not pay.
 */
function envelopeValidator(): { ajv: Ajv; validate: ValidateFunction } {
  if (envelopeSchema === undefined) {
    const ajv = new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({ allErrors: true, strict: false });
    envelopeSchema = { ajv, validate: ajv.compile(JSON.parse(readFileSync(new URL('../envelope.schema.json', import.meta.url), 'utf8')) as object) };
  }
  return envelopeSchema;
}

export type Envelope =
  | { ok: true; command: string | null; version: string; data: unknown }
  | { ok: false; command: string | null; version: string; data?: unknown; error: Record<string, unknown> & { code: string; hint: string } };

/**
 * Parses stdout as exactly one JSON document (JSON.parse refuses anything before or after it) and
 * checks it against the envelope schema the package ships: every test that reads --json checks it.
 */
export function envelopeOf(run: Run): Envelope {
  const document = JSON.parse(run.stdout) as unknown;
  const { ajv, validate } = envelopeValidator();
  if (!validate(document)) throw new Error(`not a valid envelope: ${ajv.errorsText(validate.errors)}\n${run.stdout}`);
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
  /** `<root>/sample`, the demo sample (`deploystate demo`, copied: sampleAt) before the file's tests. */
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
    if (options.demo !== false) await sampleAt(fixture.sample);
  });
  afterAll(async () => {
    if (root !== '') await removeTempDir(root);
  });
  return fixture;
}

/**
 * The demo sample plus `count` generated records on chains 56, 97 and 84532, in dual-write and not
 * yet copied, at `dir`: a copy long enough to stop midway, an analyze larger than a pipe holds.
 * Imported by the real CLI once per run (sampleAt), copied here.
 */
export async function largeSample(dir: string, count: number): Promise<void> {
  const file = join(inject('preparedSamplesRoot'), `generated-${count}.ndjson`);
  if (!existsSync(file)) await writeFile(file, generatedRecords(count));
  await sampleAt(dir, [['init'], ['import', file, '--to', 'leveldb'], ['dual-write', 'enable']]);
}

/** An export file (ndjson) of `count` records on chains 56, 97 and 84532, none of them in the demo sample. */
function generatedRecords(count: number): string {
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
  return `${lines.join('\n')}\n`;
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

/** One put through createStateStore() in the project at `cwd`, as a deploy script makes it (its store closed after). */
export async function putThroughStore(cwd: string, record: DeploymentRecord): Promise<void> {
  const store = createStateStore({ cwd, env: {} });
  await store.open();
  try {
    await store.put(record);
  } finally {
    await store.close();
  }
}
