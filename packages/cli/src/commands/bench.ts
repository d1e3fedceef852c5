// `deploystate bench`: runs the bench package's built entry point when it is there (in this
// repository), passing arguments through; elsewhere it says plainly that nothing was measured, how
// to run it, and exits 1.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.js';

function benchMain(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@deploystate/bench/package.json');
    const main = join(dirname(pkg), 'dist', 'main.js');
    if (existsSync(main)) return main;
  } catch {
    // Not installed beside the CLI: try the monorepo layout below.
  }
  const sibling = fileURLToPath(new URL('../../../bench/dist/main.js', import.meta.url));
  return existsSync(sibling) ? sibling : undefined;
}

/** Runs the bench; with --json its one document on stdout is captured to become the envelope's `data`. */
function runBench(main: string, args: string[], cwd: string, json: boolean): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [main, ...args], { cwd, stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'], env: process.env });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (exit, signal) => done({ code: exit ?? (signal ? 130 : 0), stdout }));
  });
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const main = benchMain();
  const passThrough = [...(Array.isArray(args[0]) ? (args[0] as unknown[]) : []), ...((options['--'] as unknown[]) ?? [])].map(String);
  if (ctx.json) passThrough.push('--json');
  if (!main) {
    // Not a pass: a benchmark script that measured nothing must not read as green in CI.
    ctx.fail('CHECK_FAILED', 'the benchmarks are not installed here; nothing was measured', { ran: false });
    ctx.out.result(
      {
        ran: false,
        reason: 'the benchmarks (@deploystate/bench) are not part of the published CLI',
        howTo: 'in a clone of the deploystate repository: pnpm install && pnpm build && pnpm bench -- <options>',
      },
      () => [
        ctx.out.paint.red(ctx.out.paint.bold('NOT RUN: the benchmarks are not installed here; nothing was measured (exit 1).')),
        'They are not part of the published CLI. In a clone of the deploystate repository run:',
        `  pnpm install && pnpm build && pnpm bench -- ${passThrough.filter((a) => a !== '--json').join(' ')}`.trimEnd(),
      ],
    );
    return;
  }
  ctx.out.info(`running ${main} ${passThrough.join(' ')}`.trimEnd());
  const result = await runBench(main, passThrough, ctx.cwd, ctx.json);
  if (result.code !== 0) ctx.fail('CHECK_FAILED', `the bench exited ${result.code}`, { exitCode: result.code });
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
