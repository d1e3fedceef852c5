// `deploystate demo [dir]`: the production-shaped sample in a folder; `migrate --demo` runs every
// phase on it (the migrator's runDemo) and prints each phase and the report's summary.
import { resolve } from 'node:path';
import type { DemoStep } from '@deploystate/migrator';
import type { Context } from '../context.js';
import type { Palette } from '../output.js';

export async function runDemoCommand(ctx: Context, dir: string, everyPhase: boolean): Promise<void> {
  const p = ctx.out.paint;
  const migrator = await import('@deploystate/migrator');
  if (!everyPhase) {
    const created = await migrator.createDemo(dir);
    ctx.out.result({ dir, created }, () => [
      p.green(p.bold(`✔ sample created in ${dir}`)),
      `  leveldb:     ${resolve(dir, 'leveldb')}`,
      `  deployments: ${resolve(dir, 'deployments')}`,
      '',
      'try it:',
      `  cd ${dir}`,
      '  deploystate analyze',
      '  deploystate dual-write enable',
      '  deploystate migrate',
      '  deploystate verify',
    ]);
    return;
  }
  ctx.out.info(p.bold(`Running every migration phase on a fresh sample in ${dir}`));
  let step = 0;
  const result = await migrator.runDemo(dir, {
    onStep: (event) => {
      step++;
      ctx.out.info(describeStep(step, event, ctx.out.errPaint));
    },
  });
  const report = result.report;
  ctx.out.result({ dir, ...result }, () => [
    '',
    report.markdown.trimEnd(),
    '',
    p.bold(`Migration status: ${report.status}`),
    `Report files:`,
    `  ${report.files.markdown}`,
    `  ${report.files.json}`,
    `Sample and state kept in ${dir}`,
  ]);
  if (report.status !== 'SUCCESS') ctx.exitCode = 1;
}

function describeStep(n: number, step: DemoStep, p: Palette): string {
  const failed = /fail|refus|error/i.test(step.status);
  const mark = failed ? p.red('✘') : p.green('✔');
  return `${String(n).padStart(2)}. ${mark} ${p.bold(step.phase)} ${step.status}${step.detail !== undefined ? p.dim(`: ${step.detail}`) : ''}`;
}

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const dir = resolve(ctx.cwd, typeof args[0] === 'string' ? args[0] : 'deploystate-demo');
  await runDemoCommand(ctx, dir, false);
}
