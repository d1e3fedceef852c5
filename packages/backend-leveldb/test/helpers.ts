// Shared test plumbing: temp folders, file inventories and real child processes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { LevelDbStore } from '../src/index.js';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

export function rec(chainId: number, contractName: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { ...sampleRecord(chainId, contractName, chainId === 56 ? 'bscmainnet' : `chain-${chainId}`), ...overrides };
}

/** Every file in a folder with its size, to prove a failed open left the files untouched. */
export async function inventory(dir: string): Promise<Array<[string, number]>> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => [name, (await stat(join(dir, name))).size] as [string, number]));
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line that contains `text`. */
  waitFor(text: string): Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

/**
 * Runs an ES module script with `node`, resolving packages from this package's node_modules. With
 * `fileSizeKb`, under that soft limit on the size of any file it writes (RLIMIT_FSIZE: a write
 * past it fails with EFBIG, as on a full disk; `prlimit` lifts it while the child runs).
 */
export function runNode(args: string[], options: { fileSizeKb?: number } = {}): Child {
  const child =
    options.fileSizeKb === undefined
      ? spawn(process.execPath, args, { cwd: packageDir, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -S -f ${options.fileSizeKb} && exec "$0" "$@"`, process.execPath, ...args], {
          cwd: packageDir,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
  let out = '';
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of waiters.splice(0)) out.includes(w.text) ? w.resolve() : waiters.push(w);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    exited,
    output: () => `${out}\n${err}`,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exited.then((code) => reject(new Error(`child exited (${code}) before "${text}": ${out}\n${err}`)));
      }),
  };
}

/** A child that holds the LevelDB lock at `path` until it reads a line on stdin. */
export function holdLock(path: string): Child {
  const script = `
    import { Level } from 'level';
    const db = new Level(process.argv[1], { createIfMissing: false });
    await db.open();
    console.log('holding');
    process.stdin.once('data', async () => { await db.close(); console.log('released'); process.exit(0); });
  `;
  return runNode(['--input-type=module', '-e', script, path]);
}

/** Whether another process can open the folder now ('opened') or finds it locked ('refused'); the child joins `children`. */
export async function outsiderOpens(path: string, children: Child[]): Promise<string> {
  const script = `
    import { Level } from 'level';
    const db = new Level(process.argv[1], { createIfMissing: false });
    db.open().then(() => { console.log('opened'); return db.close(); }, () => console.log('refused'));
  `;
  const child = runNode(['--input-type=module', '-e', script, path]);
  children.push(child);
  await child.exited;
  return child.output().trim();
}

export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGKILL');
  await child.exited;
}

/** Where one test's store lives; read the fields inside a test (they change for every test). */
export interface StoreFolder {
  /** The test's temp folder (removed after the test). */
  readonly dir: string;
  /** `<dir>/leveldb`: the store's path. */
  readonly path: string;
  /** Child processes the test started: killed after the test. */
  readonly children: Child[];
}

/**
 * Registers the per-test setup every store test shares: a fresh temp folder before each test and
 * its removal (after killing the test's children) after it. With `seed`, the store at `path` is
 * created holding one record (56-Seed), so a test can start from an existing store. With `git`, the
 * folder is a git repository (branch main, nothing committed) from the start: a store that looked
 * for one before it was made would take up to a second to find it (core's gitAtWork).
 */
export function storeFolderPerTest(name: string, options: { seed?: boolean; git?: boolean } = {}): StoreFolder {
  let dir = '';
  const children: Child[] = [];
  beforeEach(async () => {
    dir = await makeTempDir(`deploystate-leveldb-${name}-`);
    if (options.git) execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    if (!options.seed) return;
    const store = new LevelDbStore({ path: join(dir, 'leveldb'), create: true, idleCloseMs: 0 });
    await store.open();
    await store.put(rec(56, 'Seed'));
    await store.close();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await stopChild(child);
    await removeTempDir(dir);
  });
  return {
    get dir() {
      return dir;
    },
    get path() {
      return join(dir, 'leveldb');
    },
    children,
  };
}
