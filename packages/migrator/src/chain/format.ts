// The chain verification for people (an aligned table plus one line per problem) and for machines
// (the report itself as JSON). Neither ever holds an endpoint's credentials: the report has none.
import { ErrorCodes, StateError } from '@deploystate/core';
import type { ChainVerificationReport } from './types.js';

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** The report as text: endpoints, one row per record, then every warning and error in full. */
export function formatChainReport(report: ChainVerificationReport): string[] {
  const lines: string[] = ['Endpoints'];
  lines.push(
    ...table(
      ['chainId', 'network', 'endpoint', 'status', 'records'],
      report.chains.map((c) => [
        String(c.chainId),
        c.network,
        c.endpoint ?? '-',
        c.status === 'error' ? `error ${c.error?.code ?? ''}`.trim() : c.status,
        String(c.records),
      ]),
    ).map((l) => `  ${l}`),
  );
  lines.push('', 'Records');
  const mark = (status: string | undefined): string =>
    status === undefined ? '' : status === 'ok' ? 'ok' : status === 'skipped' ? '-' : status;
  lines.push(
    ...table(
      ['key', 'status', 'code', 'proxy', 'slot', 'hash'],
      report.records.map((r) => {
        const by = (name: string): string | undefined => r.checks.find((c) => c.name === name)?.status;
        return [
          r.key,
          r.status,
          mark(by('implementation-code')),
          mark(by('proxy-code')),
          mark(by('eip1967-slot')),
          mark(by('implementation-hash')),
        ];
      }),
    ).map((l) => `  ${l}`),
  );
  // A chain-wide problem (unreachable, wrong chain) is one line, not one per record.
  const chainWide = new Set(report.chains.filter((c) => c.status === 'error').map((c) => c.chainId));
  if (chainWide.size > 0) {
    lines.push(
      '',
      'Endpoint problems',
      ...report.chains.filter((c) => c.error).map((c) => `  ERROR chain ${c.chainId} [${c.error?.code}]: ${c.error?.message}`),
    );
  }
  const problems = report.records
    .filter((r) => !chainWide.has(r.chainId))
    .flatMap((r) =>
      r.checks
        .filter((c) => c.status === 'error' || c.status === 'warn')
        .map((c) => `  ${c.status === 'error' ? 'ERROR' : 'WARN '} ${r.key} ${c.name}${c.code ? ` [${c.code}]` : ''}: ${c.detail}`),
    );
  if (problems.length > 0) lines.push('', 'Problems', ...problems);
  const unreadable = report.unreadable ?? [];
  if (unreadable.length > 0)
    lines.push('', 'Not checked: files that cannot be read', ...unreadable.map((u) => `  ERROR ${u.file} [${u.code}]: ${u.message}`));
  const excluded = report.excluded ?? [];
  if (excluded.length > 0) lines.push('', `Not checked: excluded from the migration (as verify leaves them out): ${excluded.join(', ')}`);
  const { counts } = report;
  lines.push(
    '',
    `${counts.records} records: ${counts.ok} ok, ${counts.warn} warning, ${counts.error} error, ${counts.notChecked} not checked (no endpoint)`,
  );
  return lines;
}

/** The report as one JSON document (2-space indent, trailing newline). */
export function chainReportJson(report: ChainVerificationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** True when every endpoint that was tried could not be reached (none configured is not "unreachable"). */
export function allEndpointsUnavailable(report: ChainVerificationReport): boolean {
  const tried = report.chains.filter((c) => c.status !== 'not-configured');
  return tried.length > 0 && tried.every((c) => c.error?.code === ErrorCodes.ENDPOINT_UNAVAILABLE);
}

/** Throws ENDPOINT_UNAVAILABLE when no configured endpoint could be reached: nothing was verified. */
export function assertSomeEndpointReachable(report: ChainVerificationReport): void {
  if (!allEndpointsUnavailable(report)) return;
  const tried = report.chains.filter((c) => c.status !== 'not-configured');
  throw new StateError(
    ErrorCodes.ENDPOINT_UNAVAILABLE,
    `no RPC endpoint could be reached: ${tried.map((c) => `chain ${c.chainId} at ${c.endpoint ?? '?'}`).join(', ')}`,
    {
      hint: 'check the URLs (--rpc <chainId>=<url>, "rpc" in deploystate.config.json, RPC_URL_<chainId>) and the network; timeouts and retries are --timeout and --retries',
    },
  );
}
