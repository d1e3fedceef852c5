// The lock module under real processes: a paused holder keeps its lock whatever the clocks say,
// a killed one frees it at once, shared and exclusive modes exclude each other across processes,
// and where the operating system's lock cannot be had the module refuses instead of guessing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readdir, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { acquireLock, hasWaiters, isLockHeld, LockLease, readLockHolder, withLock, type LockMode } from '../src/lock.js';

const CHILD = fileURLToPath(new URL('./fixtures/lock-child.mjs', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./fixtures/lock-preload.cjs', import.meta.url));

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await removeTempDir(dir);
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('lock-race-');
  dirs.push(dir);
  return dir;
}

interface Child {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first line that satisfies `match`, seen already or to come; rejects if the child exits first. */
  line(match: (line: string) => boolean): Promise<string>;
  exited: Promise<void>;
  /** performance.now() when the parent learnt of the child's exit ('exit' event). */
  exitedAt(): number | undefined;
  send(line: string): void;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': every line the child wrote has been read by then.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let exitedAt: number | undefined;
  child.on('exit', () => (exitedAt = performance.now()));
  void exited.then(() => {
    for (const waiter of waiters.splice(0))
      waiter.reject(new Error(`child exited (${child.exitCode ?? child.signalCode}) first: ${stderr}`));
  });
  return {
    process: child,
    lines,
    exited,
    exitedAt: () => exitedAt,
    send: (line) => child.stdin?.write(`${line}\n`),
    line: (match) => {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`child exited first: ${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
  };
}

const is = (text: string) => (line: string) => line === text;
const startsWith = (text: string) => (line: string) => line.startsWith(text);
/** The counts a `count` child acknowledged for its pair k. */
const acks = (child: Child, k = 0): number[] => child.lines.filter(startsWith(`ack ${k} `)).map((line) => Number(line.split(' ')[2]));

/** A child that takes the lock in `mode` and keeps it until told (stdin end) or killed. */
async function holder(lock: string, mode: LockMode): Promise<Child> {
  const child = start(['hold', lock, mode]);
  await child.line(is('held'));
  return child;
}

/** One try from another process, waiting at most timeoutMs: "got" or the error code. */
async function tryFromChild(lock: string, mode: LockMode, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  const child = start(['try', lock, mode, String(timeoutMs)], env);
  await child.exited;
  return child.lines[0] ?? `no output (${child.process.exitCode ?? child.process.signalCode})`;
}

const codeOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'got',
    (error: unknown) => String((error as { code?: unknown }).code),
  );

async function tryHere(lock: string, mode: LockMode, timeoutMs = 0): Promise<string> {
  return codeOf(acquireLock(lock, { mode, timeoutMs }).then((held) => held.release()));
}

describe('a paused holder keeps its lock', () => {
  it.each([
    ['clocks agree', 0],
    ['lock files dated 60 s in the past', -60_000],
    ['lock files dated an hour in the future', 3_600_000],
  ])('SIGSTOP past the waiters timeouts, then SIGCONT (%s): no acknowledged write lost, never two holders', async (_name, skewMs) => {
    const dir = await tempDir();
    const lock = join(dir, 'counter.lock');
    const counter = join(dir, 'counter.json');
    const paused = start(['count', 'paused', '1', 'pause', lock, counter]);
    await paused.line(is('read 0'));
    paused.process.kill('SIGSTOP');
    try {
      if (skewMs !== 0) {
        const when = new Date(Date.now() + skewMs);
        for (const name of await readdir(dir)) await utimes(join(dir, name), when, when);
      }
      // A patient writer waits through the pause; an impatient one gives up with LOCKED, writing nothing.
      const patient = start(['count', 'patient', '3', 'go', lock, counter]);
      await patient.line(is('start'));
      expect(await tryFromChild(lock, 'exclusive', 300)).toBe('LOCKED');
      expect(await tryHere(lock, 'exclusive', 300)).toBe('LOCKED');
      // Named as paused, with what frees it: no wait does.
      const refused = await acquireLock(lock, { mode: 'exclusive', timeoutMs: 0 }).then(
        (held) => held.release().then(() => undefined),
        (error: unknown) => error as { message: string; hint?: string },
      );
      expect(refused?.message).toMatch(/, paused;/);
      expect(refused?.hint).toContain(`kill -CONT ${paused.process.pid}`);
      expect(acks(patient)).toEqual([]);
      paused.process.kill('SIGCONT');
      paused.send('go');
      await Promise.all([paused.exited, patient.exited]);
      expect(acks(paused)).toEqual([1]);
      expect(acks(patient)).toEqual([2, 3, 4]);
    } finally {
      paused.process.kill('SIGCONT');
    }
    const state = JSON.parse(readFileSync(counter, 'utf8')) as { n: number; log: string[] };
    expect(state).toEqual({ n: 4, log: ['paused:1', 'patient:2', 'patient:3', 'patient:4'] });
  });
});

/**
 * A process waiting for `lock` (it shows as a waiter), then paused with SIGSTOP. Both happen inside
 * a use of `lease`, so the waiter cannot take the lock before its stop lands: an idle lease lets go
 * for a waiter within a few ms, and the waiter could take the lock (and keep it, stopped) or come
 * and go between two looks for it (3 runs in 10 on a quiet machine).
 */
async function pausedWaiter(lock: string, lease: LockLease): Promise<Child> {
  let waiter: Child | undefined;
  await lease.run(async () => {
    waiter = start(['try', lock, 'exclusive', '30000']);
    for (let i = 0; i < 2_500 && !hasWaiters(lock); i++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(hasWaiters(lock)).toBe(true);
    waiter.process.kill('SIGSTOP');
  });
  return waiter as Child;
}

/** The paused waiter never had the lock; resumed, it gets it once the lease lets go. */
async function resumedGetsTheLock(waiter: Child, lease: LockLease): Promise<void> {
  expect(waiter.lines).toEqual([]);
  waiter.process.kill('SIGCONT');
  await lease.release();
  await waiter.exited;
  expect(waiter.lines).toEqual(['got']);
}

describe('a paused waiter', () => {
  it('costs a lease one handover, not one per use; resumed, it is handed the lock', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'state.lock');
    const lease = new LockLease(lock, { lockFile: lock, idleMs: 60_000, timeoutMs: 5_000 });
    try {
      await lease.run(async () => undefined);
      expect(lease.takes).toBe(1);
      const waiter = await pausedWaiter(lock, lease);
      // The first use hands over and the grace runs out; the next ones keep the lock, as if nobody waited.
      for (let use = 0; use < 4; use++) await lease.run(async () => undefined);
      expect(lease.takes).toBe(2);
      await resumedGetsTheLock(waiter, lease);
    } finally {
      await lease.release();
    }
  });
});

describe('a paused waiter and an idle lease', () => {
  it('the idle lease lets go for it once; uses after the grace keep the lock, however far apart', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'state.lock');
    const lease = new LockLease(lock, { lockFile: lock, idleMs: 60_000, timeoutMs: 5_000 });
    try {
      await lease.run(async () => undefined);
      const waiter = await pausedWaiter(lock, lease);
      // Idle, the lease sees the waiter and lets go (it polls for waiters every few ms).
      for (let i = 0; i < 500 && lease.held; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(lease.held).toBe(false);
      // The next use gives the paused waiter its grace, then takes the lock; later ones, each after
      // the idle lease had time to look again, keep it.
      for (let use = 0; use < 4; use++) {
        await lease.run(async () => undefined);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(lease.takes).toBe(2);
      await resumedGetsTheLock(waiter, lease);
    } finally {
      await lease.release();
    }
  });
});

describe('a live waiter behind a long holder, and a new lease', () => {
  // The new lease gave the waiter its grace while a third process held the lock (a write longer than
  // the grace), took the waiter for paused, and then kept the lock from it a whole second of uses
  // (the waiter got the lock about 850 ms after the holder let go, 2 runs in 3; 20 ms otherwise).
  it('the lease answers the waiter at its next use', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'state.lock');
    // A few rounds: the holder's release is raced by the waiter and the lease, and only a lease that wins shows it.
    for (let round = 0; round < 6; round++) {
      const holder = start(['hold', lock, 'exclusive']);
      await holder.line((l) => l === 'held');
      const waiter = start(['try', lock, 'exclusive', '20000']);
      for (let i = 0; i < 2_500 && !hasWaiters(lock); i++) await new Promise((resolve) => setTimeout(resolve, 2));
      const lease = new LockLease(lock, { lockFile: lock, idleMs: 60_000, timeoutMs: 10_000 });
      try {
        const first = lease.run(async () => undefined);
        // Past the lease's grace for the waiter (150 ms), with the holder still holding.
        await new Promise((resolve) => setTimeout(resolve, 300));
        holder.process.stdin?.end();
        await first;
        for (let use = 0; use < 20; use++) {
          await lease.run(async () => undefined);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(waiter.lines).toEqual(['got']);
      } finally {
        await lease.release();
      }
      await waiter.exited;
      await holder.exited;
    }
  });
});

describe('a killed holder frees the lock at once', () => {
  it('SIGKILL while taking, holding or releasing: the next writer takes it, and every acknowledged write is kept (200 trials)', async () => {
    // One child runs PAIRS independent writer loops, each on its own lock and counter file, so one
    // SIGKILL ends PAIRS holders, each at its own point of taking, holding or releasing its lock.
    const ROUNDS = 10;
    const PAIRS = 20;
    const dir = await tempDir();
    const pairs = Array.from({ length: PAIRS }, (_, k) => ({
      lock: join(dir, `w${k}.lock`),
      counter: join(dir, `w${k}.json`),
      acknowledged: 0,
    }));
    const latencies: number[] = [];
    const exits: number[] = []; // kill to the parent's 'exit' event: how long the OS took to end the child
    let midWrite = 0; // killed between creating its temp file and the rename
    let unacknowledged = 0; // killed after its rename, before it acknowledged
    for (let round = 0; round < ROUNDS; round++) {
      const writer = start(['count', 'child', '1000000', 'go', ...pairs.flatMap((p) => [p.lock, p.counter])]);
      await writer.line(startsWith('ack '));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      const killed = performance.now();
      writer.process.kill('SIGKILL');
      // The next writers: waiting from the moment of the kill, as deploy scripts would.
      const held = await Promise.all(
        pairs.map((p) =>
          acquireLock(p.lock, { timeoutMs: 10_000 }).then((lock) => {
            latencies.push(performance.now() - killed);
            return lock;
          }),
        ),
      );
      await writer.exited;
      exits.push((writer.exitedAt() ?? NaN) - killed);
      const leftovers = (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
      midWrite += leftovers.length;
      for (const name of leftovers) await unlink(join(dir, name));
      for (const [k, p] of pairs.entries()) {
        const lock = held[k]!;
        const childAcks = acks(writer, k);
        if (childAcks.length > 0) p.acknowledged = Math.max(...childAcks);
        const state = existsSync(p.counter)
          ? (JSON.parse(readFileSync(p.counter, 'utf8')) as { n: number; log: string[] })
          : { n: 0, log: [] };
        // The write in flight at the kill may have landed unacknowledged; none acknowledged is missing.
        expect([p.acknowledged, p.acknowledged + 1]).toContain(state.n);
        if (state.n === p.acknowledged + 1) unacknowledged++;
        const next = { n: state.n + 1, log: [...state.log, `parent:${state.n + 1}`] };
        await writeFile(`${p.counter}.parent`, JSON.stringify(next));
        lock.assertHeld();
        await rename(`${p.counter}.parent`, p.counter);
        p.acknowledged = next.n;
        await lock.release();
      }
    }
    for (const p of pairs) {
      const final = JSON.parse(readFileSync(p.counter, 'utf8')) as { n: number; log: string[] };
      // Every number 1..n written exactly once, in order: no two writers ever held a lock together.
      expect(final.log.map((entry) => Number(entry.split(':')[1]))).toEqual(Array.from({ length: final.n }, (_, i) => i + 1));
    }
    expect(latencies.length).toBe(ROUNDS * PAIRS);
    const quantile = (values: number[], q: number): string => {
      const sorted = [...values].sort((a, b) => a - b);
      return (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(1);
    };
    const at = (q: number): string => quantile(latencies, q);
    console.log(
      `${latencies.length} holders SIGKILLed: kill to next holder median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms ` +
        `(kill to the parent seeing the exit, ${exits.length} processes: median ${quantile(exits, 0.5)} ms, max ${quantile(exits, 1)} ms); ` +
        `${midWrite} killed mid-write (temp file left), ${unacknowledged} after their rename and before acknowledging`,
    );
    // Kills that never landed inside a write would prove nothing about a holder dying mid-write.
    expect(midWrite + unacknowledged).toBeGreaterThan(0);
  }, 180_000);
});

describe('shared and exclusive across processes', () => {
  it('shared holders coexist and keep an exclusive one out; an exclusive holder keeps everyone out', async () => {
    const lock = join(await tempDir(), 'fence.lock');
    const reader = await holder(lock, 'shared');
    expect(isLockHeld(lock)).toBe(true);
    expect(await tryFromChild(lock, 'shared', 0)).toBe('got');
    expect(await tryHere(lock, 'shared')).toBe('got');
    expect(await tryHere(lock, 'exclusive', 50)).toBe('LOCKED');
    // A gate waiting for the writers in flight gets the lock once the last shared holder is gone.
    const second = await holder(lock, 'shared');
    const gate = acquireLock(lock, { mode: 'exclusive', timeoutMs: 20_000 });
    reader.process.stdin?.end();
    await reader.line(is('released'));
    second.process.kill('SIGKILL');
    const held = await gate;
    expect(await tryFromChild(lock, 'shared', 0)).toBe('LOCKED');
    expect(await tryFromChild(lock, 'exclusive', 0)).toBe('LOCKED');
    await held.release();

    const writer = await holder(lock, 'exclusive');
    expect(await tryHere(lock, 'shared')).toBe('LOCKED');
    expect(await tryHere(lock, 'exclusive')).toBe('LOCKED');
    writer.process.stdin?.end();
    await writer.exited;
    expect(await tryHere(lock, 'exclusive')).toBe('got');
  });

  it('LOCKED names the exclusive holder', async () => {
    const lock = join(await tempDir(), 'migration.lock');
    const child = await holder(lock, 'exclusive');
    const error = await acquireLock(lock, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LOCKED', file: lock });
    expect(String((error as Error).message)).toContain(String(child.process.pid));
    expect(readLockHolder(lock)).toMatchObject({ pid: child.process.pid, purpose: 'test holder' });
  });

  it.runIf(process.platform === 'linux')('LOCKED names the shared holders too (they leave no name in the lock file: the kernel knows them)', async () => {
    const lock = join(await tempDir(), 'fence.lock');
    const first = await holder(lock, 'shared');
    const second = await holder(lock, 'shared');
    try {
      const error = await acquireLock(lock, { mode: 'exclusive', timeoutMs: 0 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LOCKED', file: lock });
      const message = String((error as Error).message);
      expect(message).toContain(`pid ${first.process.pid} (node)`);
      expect(message).toContain(`pid ${second.process.pid} (node)`);
    } finally {
      first.process.kill('SIGKILL');
      second.process.kill('SIGKILL');
      await Promise.all([first.exited, second.exited]);
    }
  });

  it('a process that may only read the lock file still sees an exclusive holder (another user\'s lock, a read-only mount)', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'migration.lock');
    const look = async (): Promise<{ writable: boolean; held: boolean }> => {
      const child = start(['look', lock]);
      return JSON.parse(await child.line((line) => line.startsWith('{'))) as { writable: boolean; held: boolean };
    };
    const writer = await holder(lock, 'exclusive');
    // Root's child drops to nobody; anyone else's finds the file read-only. Either way the lock file
    // cannot be opened for writing there, which is the case looked at.
    await chmod(dir, 0o755);
    await chmod(lock, 0o444);
    expect(await look()).toEqual({ writable: false, held: true });
    writer.process.stdin?.end();
    await writer.exited;
    expect(await look()).toEqual({ writable: false, held: false });
  });

  it('two descriptors of one process exclude each other too', async () => {
    const lock = join(await tempDir(), 'one.lock');
    await withLock(lock, async () => {
      expect(await tryHere(lock, 'exclusive')).toBe('LOCKED');
      expect(await tryHere(lock, 'shared')).toBe('LOCKED');
    });
    expect(await tryHere(lock, 'exclusive')).toBe('got');
  });
});

describe('no lock, no write', () => {
  it('a lock file removed or replaced while held is seen before any rename, and the next lock is on the new file', async () => {
    const lock = join(await tempDir(), 'state.lock');
    const held = await acquireLock(lock);
    expect(held.isHeld()).toBe(true);
    await unlink(lock);
    expect(held.isHeld()).toBe(false);
    expect(() => held.assertHeld()).toThrow(expect.objectContaining({ code: 'LOCK_UNAVAILABLE' }));
    // Another process locks the new file: this one must not believe it still holds anything.
    const other = await holder(lock, 'exclusive');
    expect(held.isHeld()).toBe(false);
    await held.release();
    expect(() => held.assertHeld()).toThrow(expect.objectContaining({ code: 'LOCK_UNAVAILABLE' }));
    expect(await tryHere(lock, 'exclusive')).toBe('LOCKED');
    other.process.stdin?.end();
    await other.exited;
  });

  it.each([
    ['the native module cannot load', 'no-native'],
    ['the file system grants a second descriptor the same lock', 'ignores-locks'],
    ['the file system refuses locks', 'refuses-locks'],
  ])('%s: LOCK_UNAVAILABLE, and no lock taken', async (_name, fault) => {
    const lock = join(await tempDir(), 'x.lock');
    const env = { NODE_OPTIONS: `--require ${PRELOAD}`, LOCK_FAULT: fault };
    expect(await tryFromChild(lock, 'exclusive', 1_000, env)).toBe('LOCK_UNAVAILABLE');
    expect(await tryFromChild(lock, 'shared', 1_000, env)).toBe('LOCK_UNAVAILABLE');
    expect(await tryHere(lock, 'exclusive')).toBe('got');
  });
});
