// `deploystate project-check <name>`: the runbook names checks that only the user's own project can
// run (compiling contracts, Hardhat tests, their own tooling). This runs the command the project
// configured for the check ("projectChecks" in deploystate.config.json) and exits with its code;
// with none configured it says how to configure one and exits 1, never a green that ran nothing.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ErrorCodes, registerInterruptCleanup, StateError } from '@deploystate/core';
import { DEFAULT_CONFIG_FILE, type Context } from '../context.js';

/** What each runbook check is for, and a command that usually does it (shown when none is configured). */
const PROJECT_CHECKS: Readonly<Record<string, { what: string; example: string }>> = {
  compile: { what: 'compile your contracts with your own toolchain', example: 'npx hardhat compile' },
  'integration-existing-tools': {
    what: 'run your own helper scripts and CI jobs against the deployments/ folder',
    example: 'npm run lint:deployments',
  },
  'hardhat-integration': {
    what: 'run your Hardhat tests or deploy tasks with the factory store (`createStateStore()` from @deploystate/migrator)',
    example: 'npx hardhat test',
  },
  'post-migration-comprehensive': {
    what: 'run your full deployment test suite (deploystate itself checks the data with `validate` and `drill json-backend`)',
    example: 'npx hardhat test',
  },
};

/** Names older scripts used for checks that deploystate now runs itself, on a copy of the data. */
const NOW_DRILLS: Readonly<Record<string, string>> = {
  'deployment-with-json': 'json-backend',
  'json-backend-comprehensive': 'json-backend',
  'post-cutover-deployment': 'json-backend',
  'edge-cases-json-backend': 'edge-cases',
  'error-recovery': 'error-recovery',
};

/** A process and every process below it (parents read from /proc, so on Linux; elsewhere, the process alone). */
function treeOf(root: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // The parent pid is the 4th field, after the command in parentheses (which may hold spaces).
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    // No /proc: the process alone.
  }
  const tree: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Whether `pid` still runs: a zombie (dead, its parent not yet told) does not. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

/** How long a stopped command has to end on SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 500;

/**
 * SIGTERM to a process and every process below it, then SIGKILL to whatever still runs after a
 * short grace (a command that ignores SIGTERM). The whole tree is listed before any is signalled,
 * so each is found before its parent dies and it is handed to init. Synchronous: it runs as the
 * process stops, when no timer would fire.
 */
function stopTree(root: number | undefined): void {
  if (root === undefined) return;
  const tree = treeOf(root);
  signalEach(tree, 'SIGTERM');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + TERM_GRACE_MS; tree.some(running) && Date.now() < end; ) Atomics.wait(pause, 0, 0, 20);
  // What the surviving processes started meanwhile is below them now.
  signalEach([...new Set([...tree, ...tree.filter(running).flatMap(treeOf)])].filter(running), 'SIGKILL');
}

/** Runs `command` through the shell in `cwd`; its output goes to stderr with --json, so stdout keeps one document. */
function runShell(command: string, cwd: string, json: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { cwd, shell: true, stdio: ['inherit', json ? process.stderr : 'inherit', 'inherit'] });
    // Stopped with this process if a signal stops it (a terminal's Ctrl-C reaches it anyway; a kill
    // of this pid alone does not): the shell and what it started.
    child.once('exit', registerInterruptCleanup(() => stopTree(child.pid)));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const name = String(args[0]);
  const drill = NOW_DRILLS[name];
  if (drill !== undefined) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `"${name}" is run by deploystate itself, on a copy of your data`, {
      hint: `deploystate drill ${drill}`,
    });
  }
  const command = ctx.config.projectChecks[name];
  const known = PROJECT_CHECKS[name];
  const configFile = ctx.config.file ?? DEFAULT_CONFIG_FILE;
  if (command === undefined) {
    const example = known?.example ?? '<your command>';
    ctx.fail('CHECK_FAILED', `no command is configured for the project check "${name}"; nothing was run`, { check: name, configured: false });
    ctx.out.result({ check: name, configured: false, ran: false, configFile, example: { projectChecks: { [name]: example } } }, () => [
      ctx.out.paint.red(ctx.out.paint.bold(`NOT RUN: no command is configured for "${name}" (exit 1, so CI does not read it as a pass).`)),
      ...(known ? [`what it is for: ${known.what}`] : []),
      `configure it in ${configFile}:  "projectChecks": { ${JSON.stringify(name)}: ${JSON.stringify(example)} }`,
    ]);
    return;
  }
  ctx.out.info(`project-check ${name}: running \`${command}\``);
  const code = await runShell(command, ctx.cwd, ctx.json);
  if (code !== 0) ctx.fail('CHECK_FAILED', `project check "${name}" failed: \`${command}\` exited ${code}`, { check: name, command, exitCode: code });
  ctx.out.result({ check: name, configured: true, ran: true, command, exitCode: code }, () =>
    code === 0
      ? ctx.out.paint.green(`✔ project check "${name}" passed (\`${command}\`)`)
      : ctx.out.paint.red(`✘ project check "${name}" failed: \`${command}\` exited ${code}`),
  );
}
