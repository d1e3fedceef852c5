// `drill error-recovery`: on the copy, real writer processes are SIGKILLed in the middle of their
// work. After each kill the file must parse and hold every write the writer had acknowledged (and
// the user's records as they were); temp files the dead writers left are removed by the next
// open; a lock whose holder died is taken over, while a live holder's lock is respected.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, LEFTOVER_MIN_AGE_MS, registerInterruptCleanup, type DeploymentRecord } from '@deploystate/core';
import { STATE_DIR, type JsonFileStore } from '@deploystate/backend-json';
import { uncachedJsonStore } from '@deploystate/migrator';
import { failureCode, type DrillChecks } from './checks.js';
import { crashRecord } from './crash-record.js';
import { DRILL_PREFIX, digestOf, drillRecord, listed, plural, type DrillEnv } from './scenario.js';
import { existsSync } from 'node:fs';

const WRITER = fileURLToPath(new URL('./crash-writer.js', import.meta.url));
/** Acknowledged writes after which each round's writer is killed: early, mid-run, later. */
const KILL_AFTER = [2, 5, 9];
const CHILD_TIMEOUT_MS = 30_000;

interface Child {
  process: ChildProcess;
  acks: number[];
  /** Resolves once stdout has shown `count` acks (or the line `locked`). */
  until(count: number | 'locked'): Promise<void>;
}

function startChild(env: DrillEnv, mode: 'write' | 'hold-lock', chainId: number, first: number): Child {
  const child = spawn(process.execPath, [WRITER, mode, env.workspace.deployments, String(chainId), String(first)], {
    env: { ...process.env, DEPLOYSTATE_DRILL_NETWORKS: JSON.stringify(env.networks) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Killed with the drill if a signal stops it (a hold-lock child would otherwise wait forever).
  child.once('exit', registerInterruptCleanup(() => child.kill('SIGKILL')));
  const acks: number[] = [];
  let locked = false;
  let stderr = '';
  let buffer = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'locked') locked = true;
      const match = /^ack (\d+)$/.exec(line);
      if (match) acks.push(Number(match[1]));
    }
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const until = (count: number | 'locked'): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${mode} child did not get there in ${CHILD_TIMEOUT_MS} ms`)), CHILD_TIMEOUT_MS);
      const check = (): void => {
        if (count === 'locked' ? locked : acks.length >= count) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ${mode} child exited early (${code}): ${stderr.trim()}`));
      });
      check();
    });
  return { process: child, acks, until };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const fresh = (env: DrillEnv, timeoutMs = 5000): JsonFileStore => uncachedJsonStore(env.workspace.deployments, env.registry, { lockWaitMs: timeoutMs });

/** The chain the writers work on: the one with the most user records (their bytes are rewritten every write). */
async function pickChain(env: DrillEnv): Promise<{ chainId: number; users: DeploymentRecord[] }> {
  const store = fresh(env);
  await store.open();
  try {
    let best: { chainId: number; users: DeploymentRecord[] } | undefined;
    for (const { chainId } of await store.listStateFiles()) {
      const users = await store.list(chainId).catch(() => null);
      if (users !== null && users.length > (best?.users.length ?? -1)) best = { chainId, users };
    }
    // No readable state file at all: the writers create hardhat's (31337).
    return best ?? { chainId: 31337, users: [] };
  } finally {
    await store.close();
  }
}

async function deadWriterTemps(env: DrillEnv, pids: ReadonlySet<number>): Promise<string[]> {
  const folder = join(env.workspace.deployments, STATE_DIR, 'tmp');
  if (!existsSync(folder)) return [];
  return (await readdir(folder)).filter((name) => pids.has(Number(/\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name)?.[1])));
}

export async function errorRecoveryDrill(env: DrillEnv, checks: DrillChecks): Promise<void> {
  const { chainId, users } = await pickChain(env);
  const network = env.registry.get(chainId).name;
  env.note(`drill: killing writers of a copy of ${network}'s file (${plural(users.length, 'user record')})`);
  const acknowledged: number[] = [];
  const deadPids = new Set<number>();
  let next = 0;
  for (const [round, after] of KILL_AFTER.entries()) {
    const label = `SIGKILL round ${round + 1} (after ${plural(after, 'acknowledged write')})`;
    await checks.attempt(label, async () => {
      const child = startChild(env, 'write', chainId, next);
      try {
        await child.until(after);
      } finally {
        await kill(child.process);
      }
      if (child.process.pid !== undefined) deadPids.add(child.process.pid);
      acknowledged.push(...child.acks);
      next = Math.max(next, ...child.acks) + 2;
      const store = fresh(env);
      await store.open();
      try {
        const stored = new Map((await store.list(chainId)).map((r) => [r.contractName, digestOf(r)]));
        const lost = acknowledged.filter(
          (n) => stored.get(crashRecord(env.registry, chainId, n).contractName) !== digestOf(crashRecord(env.registry, chainId, n)),
        );
        const changedUsers = users.filter((r) => stored.get(r.contractName) !== digestOf(r)).map((r) => r.contractName);
        checks.expect(
          label,
          lost.length === 0 && changedUsers.length === 0,
          `the file parses and holds all ${plural(acknowledged.length, 'acknowledged write')} so far and the user's records (${users.length}) unchanged`,
          [
            lost.length > 0 && `lost acknowledged writes: ${listed(lost.map(String))}`,
            changedUsers.length > 0 && `user records changed: ${listed(changedUsers)}`,
          ]
            .filter(Boolean)
            .join('; '),
        );
      } finally {
        await store.close();
      }
    });
  }

  const tempCheck = 'temp files of killed writers are kept while recent and removed on the next open once old';
  await checks.attempt(tempCheck, async () => {
    let left = await deadWriterTemps(env, deadPids);
    let planted = false;
    const pid = [...deadPids][0];
    if (left.length === 0 && pid !== undefined) {
      // No kill landed mid-write this time: leave what such a kill leaves, a temp file named for the dead pid.
      const name = `${network}.json.${pid}.${'0'.repeat(12)}.tmp`;
      await writeFile(join(env.workspace.deployments, STATE_DIR, 'tmp', name), '{"cut sh');
      left = [name];
      planted = true;
    }
    const openOnce = async (): Promise<string[]> => {
      const store = fresh(env);
      await store.open();
      await store.close();
      return deadWriterTemps(env, deadPids);
    };
    // Recent: a pid that looks dead from here may be a live writer in another pid namespace (a container).
    const keptWhileRecent = await openOnce();
    // Ten minutes on (their times moved back, as the clock would have moved on), the next open removes them.
    const longAgo = (Date.now() - LEFTOVER_MIN_AGE_MS - 60_000) / 1000;
    for (const name of left) await utimes(join(env.workspace.deployments, STATE_DIR, 'tmp', name), longAgo, longAgo).catch(() => undefined);
    const remaining = await openOnce();
    checks.expect(
      tempCheck,
      left.length > 0 && keptWhileRecent.length === left.length && remaining.length === 0,
      `${plural(left.length, 'temp file')} ${planted ? '(none left by the kills this time; one planted as a dead writer leaves it) ' : 'left by the killed writers '}kept while recent, removed by the first open once ${LEFTOVER_MIN_AGE_MS / 60_000} minutes old`,
      keptWhileRecent.length !== left.length
        ? `a recent temp file of a writer that looks dead was removed (${listed(left.filter((n) => !keptWhileRecent.includes(n)))}): it may be a live writer in another pid namespace`
        : `${plural(remaining.length, 'temp file')} of dead writers still there: ${listed(remaining)}`,
    );
  });

  await checks.attempt("a dead holder's lock is recovered", async () => {
    const holder = startChild(env, 'hold-lock', chainId, 0);
    const record = drillRecord(env.registry, chainId, `${DRILL_PREFIX}AfterLock`);
    let whileHeld: string | undefined;
    try {
      await holder.until('locked');
      const store = fresh(env, 300);
      await store.open();
      whileHeld = await failureCode(() => store.put(record)).finally(() => store.close());
    } finally {
      await kill(holder.process);
    }
    const store = fresh(env);
    await store.open();
    try {
      const afterDeath = await failureCode(() => store.put(record));
      const reads = digestOf(await store.get(chainId, record.contractName)) === digestOf(record);
      checks.expect(
        "a dead holder's lock is recovered",
        whileHeld === ErrorCodes.LOCKED && afterDeath === undefined && reads,
        'while the holder lived a write waited and gave LOCKED; after its SIGKILL the operating system released its lock and the next write took it and succeeded',
        `while held: ${whileHeld ?? 'no error'} (expected LOCKED); after the holder died: ${afterDeath ?? 'ok'}${reads ? '' : ', record did not read back'}`,
      );
    } finally {
      await store.close();
    }
  });
}
