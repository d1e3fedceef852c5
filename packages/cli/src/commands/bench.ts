// `deploystate bench`: runs the bench (`@deploystate/bench`, a dependency of the CLI) with the
// arguments after `--`. In a project (a deploystate.config.json, or --leveldb/--deployments given)
// it measures a copy of the project's own store, short by default, and keeps its results in the
// state folder, which git ignores; elsewhere (this repository) it measures generated data as before.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.js';
import { stdoutState } from '../stdout-state.js';

export const BENCH_PACKAGE = '@deploystate/bench';

function benchMain(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve(`${BENCH_PACKAGE}/package.json`);
    const main = join(dirname(pkg), 'dist', 'main.js');
    if (existsSync(main)) return main;
  } catch {
    // Not resolvable from here: try the monorepo layout below.
  }
  const sibling = fileURLToPath(new URL('../../../bench/dist/main.js', import.meta.url));
  return existsSync(sibling) ? sibling : undefined;
}

/** Options that choose the data themselves: with any of them the project's store is not injected. */
const OWN_DATA = ['--sizes', '--quick', '--from-leveldb', '--from-deployments'];

/**
 * In a project: the arguments that make the bench measure a copy of its store, and, whatever data
 * the options choose (`--quick` too), results in the state folder, which git ignores (in the
 * project's own folder `./bench-results` was left for `git status` to show).
 */
async function projectArgs(ctx: Context, passThrough: readonly string[]): Promise<string[]> {
  const given = passThrough.map((a) => a.split('=')[0]);
  const inProject = ctx.config.file !== undefined || ctx.options.leveldb !== undefined || ctx.options.deployments !== undefined;
  if (!inProject || given.includes('--help') || given.includes('-h')) return [];
  const args = given.some((a) => OWN_DATA.includes(a as string)) ? [] : ['--from-leveldb', ctx.paths.leveldb, '--from-deployments', ctx.paths.deployments];
  if (!given.includes('--out')) {
    // The state folder's .gitignore keeps results and the saved baseline out of git.
    const stateDir = ctx.paths.stateDir ?? resolve(ctx.cwd, '.deploystate');
    await mkdir(stateDir, { recursive: true });
    const { ensureStateGitignore } = await import('@deploystate/migrator');
    await ensureStateGitignore(stateDir);
    args.push('--out', join(stateDir, 'bench-results'));
  }
  return args;
}

/** Runs the bench; with --json its one document on stdout is captured to become the envelope's `data`. */
function runBench(main: string, args: string[], cwd: string, json: boolean): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd,
      stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'],
      env: process.env,
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (exit, signal) => done({ code: exit ?? (signal ? 130 : 0), stdout }));
  });
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const main = benchMain();
  const passThrough = [...(Array.isArray(args[0]) ? (args[0] as unknown[]) : []), ...((options['--'] as unknown[]) ?? [])].map(String);
  if (!main) {
    // A broken install (the bench ships with the CLI): measured nothing, so not a pass.
    ctx.fail('BENCH_NOT_INSTALLED', `${BENCH_PACKAGE} is not installed beside the CLI; nothing was measured`, {
      ran: false,
      package: BENCH_PACKAGE,
    });
    // Not a core code, so no table hint: say what to do here.
    if (stdoutState.failure) stdoutState.failure.hint = `npm install --save-dev ${BENCH_PACKAGE} (it normally comes with the CLI)`;
    ctx.out.result({ ran: false, package: BENCH_PACKAGE, howTo: `npm install --save-dev ${BENCH_PACKAGE}` }, () => [
      ctx.out.paint.red(ctx.out.paint.bold(`NOT RUN: ${BENCH_PACKAGE} is not installed here; nothing was measured (exit 1).`)),
      `Install it beside the CLI: npm install --save-dev ${BENCH_PACKAGE}`,
    ]);
    return;
  }
  const benchArgs = [...(await projectArgs(ctx, passThrough)), ...passThrough];
  if (ctx.json) benchArgs.push('--json');
  ctx.out.info(`running ${BENCH_PACKAGE} ${benchArgs.join(' ')}`.trimEnd());
  const result = await runBench(main, benchArgs, ctx.cwd, ctx.json);
  if (result.code === 2) {
    ctx.fail('USAGE', 'the bench refused its arguments or found nothing to measure (its message is above)', { exitCode: 2 });
    ctx.exitCode = 2;
  } else if (result.code !== 0) ctx.fail('CHECK_FAILED', `the bench exited ${result.code}`, { exitCode: result.code });
  if (ctx.json) {
    let data: unknown = null;
    try {
      data = JSON.parse(result.stdout);
    } catch {
      data = { output: result.stdout };
    }
    ctx.out.result(data, () => []);
  }
}
