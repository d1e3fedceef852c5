// `deploystate report`: writes the migration report (Markdown + JSON) and prints its summary.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';

export async function run(ctx: Context): Promise<void> {
  const report = await withMigration(ctx, (migration) => migration.report());
  if (report.status === 'FAILED') ctx.exitCode = 1;
  const p = ctx.out.paint;
  ctx.out.result({ status: report.status, files: report.files, report: report.json }, () => [
    report.markdown.trimEnd(),
    '',
    p.bold(`status ${report.status}`),
    `report files: ${report.files.markdown}`,
    `              ${report.files.json}`,
  ]);
}
