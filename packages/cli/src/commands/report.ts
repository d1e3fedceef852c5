// `deploystate report`: writes the migration report (Markdown + JSON) and prints its summary. The
// findings in the deployments files are counted by the validator, as `deploystate validate` counts them.
import { existsSync } from 'node:fs';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { validatorInputs } from '../validator-inputs.js';

async function fileFindings(ctx: Context) {
  if (!existsSync(ctx.paths.deployments)) return undefined;
  const { validateDeployments } = await import('@deploystate/validator');
  return (await validateDeployments(ctx.paths.deployments, { registry: ctx.registry(), ...(await validatorInputs(ctx)) })).summary;
}

export async function run(ctx: Context): Promise<void> {
  const summary = await fileFindings(ctx);
  const report = await withMigration(ctx, (migration) => migration.report(summary !== undefined ? { fileFindings: summary } : {}));
  if (report.status === 'FAILED') {
    const reasons = (report.json.failedBecause as string[] | undefined) ?? [];
    ctx.fail('CHECK_FAILED', `the migration report says FAILED: ${reasons.join('; ') || 'see the report'}`, { failedBecause: reasons, report: report.files.markdown });
  }
  const p = ctx.out.paint;
  ctx.out.result({ status: report.status, files: report.files, report: report.json }, () => [
    report.markdown.trimEnd(),
    '',
    p.bold(`status ${report.status}`),
    // Each path on a row of its own, so a narrow terminal breaks none inside a name.
    'report files:',
    `  ${report.files.markdown}`,
    `  ${report.files.json}`,
  ]);
}
