// `deploystate analyze`: the runbook's current-state inventory. Read-only; exit 1 when not ok.
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { table } from '../output.js';
import { carriedFindingsNote, decisionLines, renderFindings, verdict } from '../render.js';
import { chainLines, chainOptions, requireReachable } from './verify-chain.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const expected = typeof options.expected === 'string' ? resolve(ctx.cwd, options.expected) : undefined;
  const chain = options.chain === true ? await chainOptions(ctx, options) : undefined;
  const scripts = [options.scripts ?? []].flat().map((s) => resolve(ctx.cwd, String(s)));
  const report = await withMigration(ctx, (migration) =>
    migration.analyze({
      snapshot: options.snapshot === true,
      ...(expected !== undefined && { expectedInventory: expected }),
      ...(chain !== undefined && { chain }),
      ...(scripts.length > 0 && { scripts }),
    }),
  );
  if (report.chain) await requireReachable(report.chain);
  if (!report.ok || report.chain?.ok === false) ctx.exitCode = 1;
  const chainText = report.chain ? ['', ctx.out.paint.bold('Chain verification (--chain)'), ...(await chainLines(report.chain))] : [];
  const p = ctx.out.paint;
  ctx.out.result(report, () => [
    p.bold(
      `LevelDB ${report.source.path}${report.source.snapshot ? ' (snapshot)' : ''}: ${report.total} records on ${report.chains.length} chains`,
    ),
    table(
      ['chainId', 'network', 'tier', 'known', 'records', 'networkName values'],
      report.chains.map((c) => [
        c.chainId,
        c.network,
        c.tier,
        c.known ? 'yes' : 'no',
        c.count,
        Object.entries(c.networkNames)
          .map(([n, k]) => `${n}×${k}`)
          .join(' '),
      ]),
      p,
    ),
    '',
    p.bold('Findings'),
    ...renderFindings(report.findings, p),
    '',
    `big numbers: ${report.numericAudit.bigLiterals} bare literals, ${report.numericAudit.bigStrings} decimal strings; lossless round trip: ${report.roundTrip.checked} checked, ${report.roundTrip.failures.length} failed`,
    ...report.roundTrip.failures.slice(0, 10).map((f) => `  ${p.red('round trip')} ${f.key}: ${f.problem}`),
    ...(report.crossCheck.length > 0
      ? ['', p.bold('Cross-check (legacy files, expected inventory)'), ...renderFindings(report.crossCheck, p)]
      : []),
    // [coowned] Scripts that write the network files themselves, each with the change to make.
    ...(report.directWrites && report.directWrites.length > 0
      ? [
          '',
          p.bold(`Direct writes to deployments/*.json (${report.directWrites.length}): each can drop what the store wrote to records`),
          ...report.directWrites.map((w) => `  ${p.yellow(`${w.file}:${w.line}`)} ${w.call}: ${w.text}
    ${p.dim(`fix: ${w.fix}`)}`),
        ]
      : []),
    ...(report.unmigratable.length > 0 ? [p.yellow(`unmigratable unless excluded: ${report.unmigratable.join(', ')}`)] : []),
    ...chainText,
    ...decisionLines(report.proposals, p),
    `digest ${report.digest.digest} (${report.digest.count} records)`,
    verdict(report.ok, p, 'analysis passed', 'analysis found problems (see above)'),
    ...carriedFindingsNote(report.ok, report.findings, p),
  ]);
}
