// Two processes that both judge the same dead holder stale must not both end up holding the lock:
// the slower breaker must not delete the lock the faster one created after breaking.
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireLock, readLockHolder, type LockHolder } from '../src/index.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('lock-race');
const LOCK_MODULE = new URL('../src/lock.ts', import.meta.url).href;
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
// Above any pid_max Linux allows (2^22), so never a live process.
const DEAD_PID = 2 ** 22 + 12345;

/** A lock file left behind by a process on this host that is gone. */
async function leaveDeadLock(file: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  const dead: LockHolder = { pid: DEAD_PID, host: hostname(), since: '2020-01-01T00:00:00.000Z', command: 'crashed' };
  await writeFile(file, JSON.stringify(dead));
}

/**
 * A real second process that acquires `file` (breaking the dead holder itself), prints "held",
 * and keeps the lock until its stdin closes; then it releases and exits 0.
 */
function startHolder(file: string): { held: Promise<void>; finish: () => Promise<number | null>; pid: number } {
  const code = `
    const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const lock = await acquireLock(${JSON.stringify(file)}, { waitMs: 20000, command: 'second breaker' });
    process.stdout.write('held\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: PACKAGE_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const held = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    void exited.then((code) => reject(new Error(`holder exited (${code}) before holding the lock: ${stderr}`)));
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
  it('a breaker delayed after judging the holder dead does not remove the lock another process took meanwhile', async () => {
    const file = join(tempDir(), 'migration.lock');
    await leaveDeadLock(file);
    let holder: ReturnType<typeof startHolder> | undefined;
    let pausedOn: LockHolder | undefined;
    // This process reads the dead holder, then pauses; a second process breaks it and takes the lock.
    const slow = acquireLock(file, {
      waitMs: 0,
      command: 'first breaker',
      onBeforeBreak: async (stale) => {
        if (holder) return;
        pausedOn = stale;
        holder = startHolder(file);
        await holder.held;
      },
    });
    const outcome = await slow.then(
      async (lock) => {
        await lock.release();
        return 'acquired';
      },
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(pausedOn?.pid).toBe(DEAD_PID);
    expect(holder).toBeDefined();
    // Only one may hold it: the second process does, so the resumed breaker is refused.
    expect(outcome).toBe('LOCKED');
    expect((await readLockHolder(file))?.pid).toBe(holder?.pid);
    expect(await holder?.finish()).toBe(0);
  });

  it('while another live process is breaking (fresh breaker file), a stale lock is left to it', async () => {
    const file = join(tempDir(), 'state.lock');
    await leaveDeadLock(file);
    const breaker = `${file}.break`;
    await writeFile(breaker, JSON.stringify({ pid: process.ppid, host: hostname(), since: new Date().toISOString() }));
    await expect(acquireLock(file, { waitMs: 0 })).rejects.toMatchObject({ code: 'LOCKED' });
    // Neither the dead holder's lock nor the live breaker was touched.
    expect((await readLockHolder(file))?.pid).toBe(DEAD_PID);
    expect(JSON.parse(await readFile(breaker, 'utf8'))).toMatchObject({ pid: process.ppid });
  });

  it.each([
    ['left by a process that is gone', { pid: DEAD_PID, age: 0 }],
    ['older than the breaker timeout', { pid: process.ppid, age: 60_000 }],
  ])('a breaker %s does not block recovery forever', async (_name, { pid, age }) => {
    const file = join(tempDir(), 'state.lock');
    await leaveDeadLock(file);
    const breaker = `${file}.break`;
    await writeFile(breaker, JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));
    const past = new Date((await stat(breaker)).mtimeMs - age);
    await utimes(breaker, past, past);
    const lock = await acquireLock(file, { waitMs: 5_000 });
    expect((await readLockHolder(file))?.pid).toBe(process.pid);
    await lock.release();
  });
});
