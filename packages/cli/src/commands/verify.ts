// `deploystate verify`: compare + schema validation, recorded as evidence for the gates.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { renderComparison, renderFindings, verdict } from '../render.js';
import { comparisonDocument } from './compare.js';

export async function run(ctx: Context): Promise<void> {
  const report = await withMigration(ctx, (migration) => migration.verify());
  if (!report.clean) ctx.exitCode = 1;
  const p = ctx.out.paint;
  ctx.out.result({ clean: report.clean, comparison: comparisonDocument(report.comparison), schema: report.schema, evidence: report.evidence }, () => [
    p.bold('Comparison'),
    ...renderComparison(report.comparison, p, 20),
    '',
    p.bold(`Schema (${report.schema.files} files)`),
    ...renderFindings(report.schema.errors, p),
    ...report.schema.skipped.map((s) => p.dim(`  skipped ${s.file}: ${s.reason}`)),
    '',
    verdict(report.clean, p, `verify clean, recorded at ${report.evidence.at}`, `verify not clean: ${report.evidence.differences} differences, ${report.evidence.schemaErrors} schema errors`),
  ]);
}
