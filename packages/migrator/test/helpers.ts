import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, onTestFinished } from 'vitest';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareStores, MemoryStore, sampleRecord, StoreDigest, WARNING_CHANNEL, type DeploymentRecord, type StoreComparison, type Warning } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { createDemo, createStateStore, initialState, Migration, stateFiles, writeState, type MigrationPhase, type MigrationStateStore } from '../src/index.js';
import type { Journal } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';

/** A fresh temp folder for each test of the calling file, removed after it; call the result for its path. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await makeTempDir(prefix);
  });
  afterEach(async () => {
    if (dir !== undefined) await removeTempDir(dir);
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error('useTempDir: the folder exists only inside a test');
    return dir;
  };
}

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface Child {
  process: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [fixture(script), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { process: child, done };
}

/** The child's first line on stdout; rejects if it exits first (with what it printed). */
export function firstLine(child: Child): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.process.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      const end = text.indexOf('\n');
      if (end >= 0) resolve(text.slice(0, end));
    });
    void child.done.then((exit) => reject(new Error(`exited (${exit.code ?? exit.signal}) before a line: ${exit.stdout}${exit.stderr}`)));
  });
}

/** Resolves once the process is stopped (state T in /proc): a child that paused itself mid-write with SIGSTOP. */
export async function untilStopped(pid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} never stopped`);
}

/** Both sides compared directly (no exclusions), opened and closed here. */
export async function compareDirect(dir: string): Promise<StoreComparison> {
  const paths = resolvePaths({ cwd: dir });
  const leveldb = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
  const json = new JsonFileStore({ dir: paths.deployments, cache: false });
  await leveldb.open();
  await json.open();
  try {
    return await compareStores(leveldb.iterate({ onInvalid: () => undefined }), json.iterate({ onInvalid: () => undefined }));
  } finally {
    await leveldb.close();
    await json.close();
  }
}

/** What compareDirect finds on either side alone or differing: all empty when the sides hold the same records. */
export async function sidesDiffer(dir: string): Promise<Pick<StoreComparison, 'onlyLeft' | 'onlyRight' | 'differing'>> {
  const { onlyLeft, onlyRight, differing } = await compareDirect(dir);
  return { onlyLeft, onlyRight, differing };
}

export async function retry<T>(times: number, fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < times; i++) {
    try {
      return await fn();
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

/** How far `demoMigration` walks the demo: each step includes the ones before it. */
/** A LevelDB at `dir`/leveldb holding `records`, closed again (as a legacy project leaves it). */
export async function seedLevelDb(dir: string, records: readonly DeploymentRecord[]): Promise<void> {
  const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), create: true, idleCloseMs: 0 });
  await leveldb.open();
  await leveldb.putMany(records);
  await leveldb.close();
}

/** `dual-write enable` and the copy in the project at `dir`, its migration closed after, so either side can be edited. */
export async function copyOnce(dir: string): Promise<void> {
  const migration = await Migration.open({ cwd: dir });
  try {
    await migration.enableDualWrite();
    await migration.migrate();
  } finally {
    await migration.close();
  }
}

/**
 * `records` seeded into LevelDB at `dir` and walked to json-only (a real copy, verify, promote,
 * cut-over), the analysis's findings acknowledged by code (by key, the state would hold a line per
 * record the generator marks). Returns the migration, open.
 */
export async function jsonOnlyWith(dir: string, records: readonly DeploymentRecord[]): Promise<Migration> {
  await seedLevelDb(dir, records);
  return walkTo(await Migration.open({ cwd: dir }), 'json-only', async (migration) => {
    const findings = (await migration.analyze()).findings.filter((f) => f.severity !== 'info');
    return [...new Set(findings.map((f) => f.code))];
  });
}

export type DemoStage = 'created' | 'dual-write' | 'copied' | 'json-primary' | 'json-only';

/**
 * The demo store in `dir` and a Migration on it, walked to `stage` (json-primary needs a clean verify).
 * Past 'created', the walk is made once per test file and stage (demoTemplate) and copied into `dir`:
 * the walk took a quarter of the suite's test time, made again by most tests. The Migration returned
 * is opened on the copy, as each CLI command opens one; the copy's folder is the test's own.
 */
export async function demoMigration(dir: string, stage: DemoStage = 'created'): Promise<Migration> {
  if (stage === 'created') {
    await createDemo(dir);
    return Migration.open({ cwd: dir });
  }
  const template = await demoTemplate(stage);
  await mkdir(dir, { recursive: true });
  const present = await readdir(dir);
  if (present.includes('leveldb') || present.includes('deployments') || present.includes('.deploystate')) {
    throw new Error(`demoMigration: ${dir} already holds deployment state; the demo needs a fresh folder`);
  }
  // cp -a keeps what the stores tie to a file's identity: a network file and its written backup stay
  // one inode, with the nanosecond mtime the backup's name records (lastWrittenVersion).
  await execFileAsync('cp', ['-a', `${template}/.`, dir]);
  // The copy's progress names the file it was at by its path: the test's folder, not the template's.
  const progress = stateFiles(resolvePaths({ cwd: dir })).progress;
  const text = await readFile(progress, 'utf8').catch(() => undefined);
  if (text !== undefined) await writeFile(progress, text.replaceAll(template, dir));
  return Migration.open({ cwd: dir });
}

const execFileAsync = promisify(execFile);
// Taken when this module loads: a test may point TMPDIR at a folder whose contents it checks.
const templateTmp = tmpdir();
const demoTemplates = new Map<DemoStage, Promise<string>>();
const templateRoots: Promise<string>[] = [];

/** The demo walked to `stage` in a folder of its own, its Migration closed; made at the first call of the test file. */
function demoTemplate(stage: DemoStage): Promise<string> {
  let template = demoTemplates.get(stage);
  if (template === undefined) {
    const root = mkdtemp(join(templateTmp, 'migrator-demo-template-'));
    templateRoots.push(root);
    template = (async () => {
      const dir = join(await root, 'project');
      await createDemo(dir);
      await (await walkTo(await Migration.open({ cwd: dir }), stage, acknowledgeAll)).close();
      return dir;
    })();
    demoTemplates.set(stage, template);
  }
  return template;
}

afterAll(async () => {
  await Promise.allSettled(demoTemplates.values());
  demoTemplates.clear();
  for (const root of templateRoots.splice(0)) await removeTempDir(await root);
});

/** `migration` walked the runbook's way to `stage`; the cut-over acknowledges what `acknowledge` lists. */
async function walkTo(migration: Migration, stage: DemoStage, acknowledge: (migration: Migration) => Promise<string[]>): Promise<Migration> {
  if (stage === 'created') return migration;
  await migration.enableDualWrite();
  if (stage === 'dual-write') return migration;
  await migration.migrate();
  if (stage === 'copied') return migration;
  const verify = await migration.verify();
  if (!verify.clean) throw new Error(`verify after the copy is not clean (${verify.evidence.differences} difference(s))`);
  await migration.promote();
  if (stage === 'json-primary') return migration;
  await migration.cutover({ acknowledge: await acknowledge(migration) });
  return migration;
}

/** One put through createStateStore() in `dir`, as a deploy script makes it (its store closed after). */
export async function putThroughStore(dir: string, record: DeploymentRecord): Promise<void> {
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    await store.putContract(record.chainId, record);
  } finally {
    await store.close();
  }
}

/**
 * `store`'s writes wait `ms` for a rollback in progress before WRITES_REFUSED, instead of
 * ROLLING_BACK_WAIT_MS: for a test of the refusal, not of how long it waits (put-known-route keeps that).
 */
export function shortRollingBackWait(store: MigrationStateStore, ms: number): void {
  const writer = (store as unknown as { writer?: { rollingBackWaitMs?: number } }).writer;
  if (writer === undefined) throw new Error('shortRollingBackWait: the store has no writer to shorten the wait of');
  writer.rollingBackWaitMs = ms;
}

/** An empty project in `dir` whose migration is at `phase`: an empty LevelDB, a deployments folder, the state file. */
export async function emptyProjectIn(dir: string, phase: MigrationPhase): Promise<{ paths: ReturnType<typeof resolvePaths>; files: ReturnType<typeof stateFiles> }> {
  const paths = resolvePaths({ cwd: dir });
  const files = stateFiles(paths);
  const leveldb = new LevelDbStore({ path: paths.leveldb, create: true });
  await leveldb.open();
  await leveldb.close();
  await mkdir(paths.deployments, { recursive: true });
  await mkdir(files.stateDir, { recursive: true });
  // A json-only state records LevelDB at its cut-over (here: the empty LevelDB above).
  const cutoverLeveldb = phase === 'json-only' ? { at: new Date().toISOString(), count: 0, digest: new StoreDigest().digest(), records: {} } : null;
  await writeState(files, { ...initialState(), phase, dualWriteSinceSeq: 0, cutoverLeveldb });
  return { paths, files };
}

/** Two in-memory sides that disagree on 56/Token on purpose, so each answer shows which side served it. */
export async function disagreeingSides(): Promise<{ leveldb: MemoryStore; json: MemoryStore; fromLevelDb: DeploymentRecord; fromJson: DeploymentRecord }> {
  const leveldb = new MemoryStore();
  const json = new MemoryStore();
  await leveldb.open();
  await json.open();
  const fromLevelDb = sampleRecord(56, 'Token', 'bscmainnet', 1);
  const fromJson = sampleRecord(56, 'Token', 'bscmainnet', 2);
  await leveldb.put(fromLevelDb);
  await json.put(fromJson);
  return { leveldb, json, fromLevelDb, fromJson };
}

/** Every finding the demo's analysis raises above info, by key or code: what a cut-over of it must acknowledge. */
export async function acknowledgeAll(migration: Migration): Promise<string[]> {
  const analysis = await migration.analyze();
  return [...new Set(analysis.findings.filter((f) => f.severity !== 'info').map((f) => f.key ?? f.code))];
}

/**
 * Once the store's first journal intent from now on is appended, a teammate's `git pull` replaces
 * phase.json with `state` (fixtures/edit-phase.mjs), without the fence; the append's promise ends
 * when the pull has. Returns whether it happened so far.
 */
export function pullPhaseAfterNextIntent(store: MigrationStateStore, dir: string, state: Record<string, unknown>): () => boolean {
  const journal = (store as unknown as { journal: Journal }).journal;
  const appendPrinted = journal.appendPrinted.bind(journal);
  let pulled = false;
  journal.appendPrinted = (text) => {
    const appended = appendPrinted(text);
    if (pulled || !text.includes('"type":"intent"')) return appended;
    pulled = true;
    return (async () => {
      await appended;
      const { code, stderr } = await runNode('edit-phase.mjs', [dir, 'pull', JSON.stringify(state)]).done;
      if (code !== 0) throw new Error(stderr);
    })();
  };
  return () => pulled;
}

/** A `git` first on PATH, for the test that calls it, that logs its subcommand and runs the real git; returns a reader of that log. */
export async function countGitRuns(dir: string): Promise<() => Promise<string[]>> {
  const saved = { PATH: process.env.PATH, GIT_CALLS: process.env.GIT_CALLS };
  onTestFinished(() => {
    process.env.PATH = saved.PATH;
    if (saved.GIT_CALLS === undefined) delete process.env.GIT_CALLS;
    else process.env.GIT_CALLS = saved.GIT_CALLS;
  });
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const log = join(dir, 'git-runs.log');
  await writeFile(log, '');
  await writeFile(join(bin, 'git'), `#!/bin/sh\necho "$1" >> "$GIT_CALLS"\nexec '${realGit}' "$@"\n`);
  await chmod(join(bin, 'git'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  process.env.GIT_CALLS = log;
  return async () => {
    const runs = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    await writeFile(log, '');
    return runs;
  };
}

/** git in `cwd` as a teammate runs it (a name and address of its own, branches called main); its output. */
export function teamGit(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Everything in the work tree committed (an empty commit when nothing changed); the commit's hash. */
export function commitAll(repo: string, message: string): string {
  teamGit(repo, 'add', '-A');
  teamGit(repo, 'commit', '-q', '--allow-empty', '-m', message);
  return teamGit(repo, 'rev-parse', 'HEAD').trim();
}

/** The warnings published while `work` runs (core's warning channel), with its result. */
export async function collectWarnings<T>(work: () => Promise<T>): Promise<{ value: T; warnings: Warning[] }> {
  const warnings: Warning[] = [];
  const listener = (w: unknown): void => void warnings.push(w as Warning);
  subscribe(WARNING_CHANNEL, listener);
  try {
    return { value: await work(), warnings };
  } finally {
    unsubscribe(WARNING_CHANNEL, listener);
  }
}
