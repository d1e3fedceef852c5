// `deploystate check`: integrity of the LevelDB data and big-number precision (runbook step 1.2).
// Read-only; exit 1 when a record is damaged or a number would not survive the round trip.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { carriedFindingsNote, renderFindings, verdict } from '../render.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const report = await withMigration(ctx, (migration) => migration.check());
  const precisionOnly = options.precision === true;
  const precisionOk = report.roundTrip.failures.length === 0 && report.numericAudit.findings.every((f) => f.severity !== 'error');
  const ok = precisionOnly ? precisionOk : report.ok && precisionOk;
  if (!ok) ctx.exitCode = 1;
  const p = ctx.out.paint;
  // A pass beside error findings says so in its own line, not only in the note after it.
  const errorFindings = report.findings.filter((f) => f.severity === 'error').length;
  const document = precisionOnly
    ? { ok, source: report.source, total: report.total, numericAudit: report.numericAudit, roundTrip: report.roundTrip }
    : { ...report, ok };
  ctx.out.result(document, () => [
    p.bold(`${report.source.path}: ${report.total} records`),
    ...(precisionOnly
      ? []
      : [
          p.bold('Integrity'),
          ...renderFindings(
            report.findings.filter((f) => f.severity !== 'info'),
            p,
          ),
        ]),
    p.bold('Big numbers'),
    `  ${report.numericAudit.bigLiterals} bare literals beyond 2^53, ${report.numericAudit.bigStrings} big decimal strings`,
    `  lossless round trip: ${report.roundTrip.checked} records checked, ${report.roundTrip.failures.length} failed`,
    ...report.roundTrip.failures.slice(0, 10).map((f) => `  ${p.red('✘')} ${f.key}: ${f.problem}`),
    ...(!precisionOnly && report.unmigratable.length > 0
      ? [p.yellow(`unmigratable unless excluded: ${report.unmigratable.join(', ')}`)]
      : []),
    verdict(
      ok,
      p,
      precisionOnly
        ? 'every big number survives the round trip'
        : `data integrity check passed${errorFindings > 0 ? `, with ${errorFindings} error finding${errorFindings === 1 ? '' : 's'} to decide on (carried as stored)` : ''}`,
      precisionOnly ? 'precision check failed' : 'data integrity check failed',
    ),
    ...(precisionOnly ? [] : carriedFindingsNote(ok, report.findings, p, false)),
  ]);
}
