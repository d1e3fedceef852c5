// Two processes that both judge the same lock stale must not both end up holding it: the slower
// breaker must not delete the lock the faster one created after breaking; and a breaker at work
// (the `.break` file) neither blocks recovery forever once stale nor makes a waiter spin past its timeout.
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { lockFileFor, withFileLock } from '../src/index.js';

const LOCK_MODULE = new URL('../src/lock.ts', import.meta.url).href;
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
// Above any pid_max Linux allows (2^22), so never a live process.
const DEAD_PID = 2 ** 22 + 12345;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

/** A target file whose lock was left behind by a process on this host that is gone. */
async function targetWithDeadLock(): Promise<{ target: string; lock: string }> {
  dir = await makeTempDir('json-lock-race');
  const target = join(dir, '56.json');
  const lock = lockFileFor(target);
  await mkdir(dirname(lock), { recursive: true });
  await writeFile(lock, JSON.stringify({ pid: DEAD_PID, host: hostname(), nonce: 'dead', acquiredAt: '2020-01-01T00:00:00.000Z' }));
  return { target, lock };
}

async function lockPid(lock: string): Promise<unknown> {
  return (JSON.parse(await readFile(lock, 'utf8')) as { pid?: unknown }).pid;
}

/**
 * A real second process that takes the lock on `target` (breaking the dead owner itself), prints
 * "held", and keeps it until its stdin closes; then it releases and exits 0.
 */
function startHolder(target: string): { held: Promise<void>; finish: () => Promise<number | null>; pid: number } {
  const code = `
    const { withFileLock } = await import(${JSON.stringify(LOCK_MODULE)});
    await withFileLock(${JSON.stringify(target)}, async () => {
      process.stdout.write('held\\n');
      process.stdin.resume();
      await new Promise((resolve) => process.stdin.on('end', resolve));
    }, { timeoutMs: 20000, staleMs: 60000 });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: PACKAGE_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  const held = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    void exited.then((exitCode) => reject(new Error(`holder exited (${exitCode}) before holding the lock: ${stderr}`)));
  });
  return {
    held,
    pid: child.pid ?? -1,
    finish: async () => {
      child.stdin.end();
      return exited;
    },
  };
}

describe('stale lock recovery under a race', () => {
  it('a breaker delayed after judging the owner dead does not remove the lock another process took meanwhile', async () => {
    const { target, lock } = await targetWithDeadLock();
    let holder: ReturnType<typeof startHolder> | undefined;
    let pausedOn: { pid?: number } | undefined;
    // This process judges the dead owner stale, then pauses; a second process breaks it and takes the lock.
    const outcome = await withFileLock(target, async () => 'acquired', {
      timeoutMs: 0,
      staleMs: 60_000,
      onBeforeBreak: async (owner) => {
        if (holder) return;
        pausedOn = owner;
        holder = startHolder(target);
        await holder.held;
      },
    }).catch((error: unknown) => (error as { code?: string }).code);
    expect(pausedOn?.pid).toBe(DEAD_PID);
    expect(holder).toBeDefined();
    // Only one may hold it: the second process does, so the resumed breaker is refused.
    expect(outcome).toBe('LOCKED');
    expect(await lockPid(lock)).toBe(holder?.pid);
    expect(await holder?.finish()).toBe(0);
  });

  it('while a live process is breaking (fresh .break file), a waiter leaves the lock to it and gives up with LOCKED at its timeout', async () => {
    const { target, lock } = await targetWithDeadLock();
    const breaker = `${lock}.break`;
    const breakerText = JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'live', acquiredAt: new Date().toISOString() });
    await writeFile(breaker, breakerText);
    // A waiter that looped on the busy breaker without its deadline check would spin until the test times out.
    await expect(withFileLock(target, async () => 'acquired', { timeoutMs: 100, staleMs: 600_000 })).rejects.toMatchObject({
      code: 'LOCKED',
    });
    expect(await lockPid(lock)).toBe(DEAD_PID);
    expect(await readFile(breaker, 'utf8')).toBe(breakerText);
  }, 20_000);

  it.each([
    ['left by a process that is gone', { pid: DEAD_PID, age: 0 }],
    ['older than staleMs', { pid: process.ppid, age: 60_000 }],
  ])('a breaker %s does not block recovery forever', async (_name, { pid, age }) => {
    const { target, lock } = await targetWithDeadLock();
    const breaker = `${lock}.break`;
    await writeFile(breaker, JSON.stringify({ pid, host: hostname(), nonce: 'breaker', acquiredAt: new Date().toISOString() }));
    const past = new Date((await stat(breaker)).mtimeMs - age);
    await utimes(breaker, past, past);
    const seen = await withFileLock(target, async () => lockPid(lock), { timeoutMs: 5_000, staleMs: 10_000 });
    expect(seen).toBe(process.pid);
  });
});
