// `deploystate verify`: compare + schema validation, recorded as evidence for the gates.
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { leveldbSinceCutoverLines, renderComparison, renderFindings, unknownUnreadable, verdict } from '../render.js';
import { comparisonDocument, differingKeys, sideLocations } from './compare.js';
import { chainLines, chainOptions, requireReachable } from './verify-chain.js';

export async function run(ctx: Context, _args: unknown[] = [], options: Record<string, unknown> = {}): Promise<void> {
  const chain = options.chain === true ? await chainOptions(ctx, options) : undefined;
  const report = await withMigration(ctx, (migration) => migration.verify(chain !== undefined ? { chain } : {}));
  if (report.chain) await requireReachable(report.chain);
  const unreadable = unknownUnreadable(report.comparison).length;
  const leveldbChanged = report.leveldbSinceCutover?.changed === true;
  // One verdict for the exit code and the last line: a LevelDB written since the cut-over, or records
  // the chains contradict, fail the run as differences do.
  const clean = report.clean && unreadable === 0 && report.chain?.ok !== false && !leveldbChanged;
  if (!clean)
    ctx.fail('CHECK_FAILED', 'verify is not clean', {
      ...differingKeys(report.comparison),
      schemaErrors: report.schema.errors.map((f) => ({ code: f.code, ...(f.key !== undefined && { key: f.key }), ...(f.file !== undefined && { file: f.file }) })),
      ...(report.chain?.ok === false && { chain: 'records with errors against the chains (see data.chain)' }),
      ...(leveldbChanged && { leveldbChangedSinceCutover: true }),
      ...(report.next !== undefined && { next: report.next }),
    });
  const chainText = report.chain ? ['', ctx.out.paint.bold('Chain verification (--chain)'), ...(await chainLines(report.chain))] : [];
  const p = ctx.out.paint;
  ctx.out.result(
    {
      clean: report.clean,
      comparison: comparisonDocument(report.comparison),
      schema: report.schema,
      evidence: report.evidence,
      ...(report.files && { files: report.files }),
      ...(report.chain && { chain: report.chain }),
      ...(report.leveldbSinceCutover && { leveldbSinceCutover: report.leveldbSinceCutover }),
    },
    () => [
      p.bold('Comparison'),
      ...renderComparison(report.comparison, p, 20, { locations: sideLocations(ctx), raiseCap: '`deploystate compare --max-details <n>` lists more' }),
      '',
      p.bold(
        `Schema (${report.schema.files} files against the published schema; \`deploystate validate\` also checks what the records say)`,
      ),
      ...renderFindings(report.schema.errors, p),
      ...report.schema.skipped.map((s) => p.dim(`  skipped ${s.file}: ${s.reason}`)),
      ...chainText,
      ...leveldbSinceCutoverLines(report.leveldbSinceCutover, p),
      // [coowned] Records another program's rewrite dropped from a network file, by file and key.
      ...(report.files && report.files.findings.length > 0
        ? [
            '',
            p.bold('Network files (records the store wrote that the file no longer holds)'),
            ...report.files.findings.map((f) =>
              // seq 0: written without a journal line (the copy, a restore, an import).
              p.red(`  FOREIGN_OVERWRITE ${f.file}: ${f.key} ${f.kind} (${f.seq > 0 ? `journal seq ${f.seq}` : 'written by the copy, a restore or an import'})`),
            ),
            '  next: `deploystate repair-files` puts them back; then change the script that rewrote the file to use updateDeploymentFile()',
          ]
        : []),
      ...(report.files?.changedElsewhere ?? []).map((c) =>
        p.dim(
          c.kind === 'removed'
            ? `  removed elsewhere (a teammate's delete, kept): ${c.key} in ${c.file}`
            : c.kind === 'other-branch'
              ? `  on another branch (committed there, not in this checkout): ${c.key} in ${c.file}`
              : `  changed elsewhere (a later record, kept): ${c.key} in ${c.file}`,
        ),
      ),
      ...(report.next !== undefined ? ['', `next: ${report.next}`] : []),
      '',
      verdict(
        clean,
        p,
        `verify clean, recorded at ${report.evidence.at}`,
        `verify not clean: ${report.evidence.differences} differences${unreadable > 0 ? ` (${unreadable} unreadable)` : ''}, ${report.evidence.schemaErrors} schema errors${report.evidence.foreignOverwrites ? `, ${report.evidence.foreignOverwrites} record(s) lost from network files` : ''}${report.chain?.ok === false ? ', records the chains contradict' : ''}${leveldbChanged ? `, LevelDB written since the cut-over (${report.leveldbSinceCutover?.changes.length ?? 0} key(s))` : ''}`,
      ),
    ],
  );
}
