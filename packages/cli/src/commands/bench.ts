// `deploystate bench`: runs the bench package's built entry point when it is there (in this
// repository), passing arguments through; elsewhere it says how to run it.
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

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const main = benchMain();
  const passThrough = [...(Array.isArray(args[0]) ? (args[0] as unknown[]) : []), ...((options['--'] as unknown[]) ?? [])].map(String);
  if (ctx.json) passThrough.push('--json');
  if (!main) {
    ctx.exitCode = 1;
    ctx.out.result(
      {
        ran: false,
        reason: 'the bench package is not built or not installed',
        howTo: 'in the deploystate repository: pnpm build && pnpm bench',
      },
      () => [
        ctx.out.paint.yellow('The benchmarks are not available here (the @deploystate/bench package is not built or not installed).'),
        'In the deploystate repository run: pnpm build && pnpm bench',
      ],
    );
    return;
  }
  ctx.out.info(`running ${main} ${passThrough.join(' ')}`.trimEnd());
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, [main, ...passThrough], { cwd: ctx.cwd, stdio: 'inherit', env: process.env });
    child.on('error', fail);
    child.on('exit', (exit, signal) => done(exit ?? (signal ? 5 : 0)));
  });
  // The bench printed its own document with --json; ours would be a second one.
  ctx.exitCode = code;
}
