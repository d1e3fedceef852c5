// Turns a run into text for people: the console summary and the Markdown report (which links the
// SVG charts saved beside it). Pure: a run in, strings out.
import { formatMs } from './chart.js';
import type { BenchRun, GateResult, Measurement, MemoryMeasurement, SuiteName } from './results.js';
import { SUITE_NAMES } from './results.js';
import { criteria, hanging, sortCriteria, summaryLines, worstCase } from './summary.js';

function formatRate(perSec: number | null): string {
  if (perSec === null) return '-';
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k/s`;
  return `${perSec.toFixed(1)}/s`;
}

export function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb.toFixed(1)} MB`;
}

// Gates in milliseconds (the validator's) have a limit of 100 or more; the rest are ratios.
function isTimeGate(gate: GateResult): boolean {
  return gate.limit !== null && gate.limit >= 100;
}

function formatValue(gate: GateResult): string {
  if (gate.value === null) return '-';
  return isTimeGate(gate) ? formatMs(gate.value) : `${gate.value.toFixed(2)}x`;
}

function formatLimit(gate: GateResult): string {
  if (gate.limit === null) return '-';
  return isTimeGate(gate) ? `${gate.comparison} ${formatMs(gate.limit)}` : `${gate.comparison} ${gate.limit}x`;
}

/** Rows of plain cells; the console pads them, Markdown pipes them. */
function measurementRows(measurements: readonly Measurement[]): string[][] {
  return measurements.map((m) => [
    m.operation,
    String(m.size),
    m.subject,
    formatMs(m.latencyMs.p50),
    formatMs(m.latencyMs.p99),
    String(m.latencyMs.n),
    formatRate(m.throughputPerSec),
  ]);
}
const MEASUREMENT_HEAD = ['operation', 'size', 'subject', 'p50', 'p99', 'runs', 'throughput'];

function memoryRows(memory: readonly MemoryMeasurement[]): string[][] {
  return memory.map((m) => [
    String(m.size),
    m.subject,
    formatBytes(m.rssBytes),
    formatBytes(m.heapUsedBytes),
    formatBytes(m.rssDeltaBytes),
  ]);
}
const MEMORY_HEAD = ['size', 'subject', 'RSS', 'heap used', 'RSS growth'];

function gateRows(gates: readonly GateResult[]): string[][] {
  return gates.map((g) => [g.status, g.suite, String(g.size), g.name, formatValue(g), formatLimit(g), g.source]);
}
const GATE_HEAD = ['status', 'suite', 'size', 'gate', 'value', 'limit', 'source'];

/** The console's gate rows: no source column, and `cut` names cut at 44, so a row fits in 100 columns (the summary names sources). */
function consoleGateRows(gates: readonly GateResult[], cut = true): string[][] {
  return gates.map((g) => [
    g.status,
    g.suite,
    String(g.size),
    cut && g.name.length > 44 ? `${g.name.slice(0, 43)}…` : g.name,
    formatValue(g),
    formatLimit(g),
  ]);
}
const CONSOLE_GATE_HEAD = ['status', 'suite', 'size', 'gate', 'value', 'limit'];

/** Terminal width for the console report. */
export const CONSOLE_WIDTH = 100;

function alignedLines(head: readonly string[], rows: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Whether the table's aligned columns fit `width`. */
const tableFits = (head: readonly string[], rows: readonly string[][], width: number): boolean =>
  alignedLines(head, rows).every((line) => line.length <= width);

/**
 * Aligned columns; when they are wider than `width` (a narrow terminal, which would cut them), one
 * block per row instead: each cell after its column's name, wrapped, nothing left out.
 */
export function padTable(head: readonly string[], rows: readonly string[][], width = Number.POSITIVE_INFINITY): string {
  const aligned = alignedLines(head, rows);
  if (aligned.every((line) => line.length <= width)) return aligned.join('\n');
  const name = Math.max(...head.map((h) => h.length)) + 2;
  return rows
    .map((row) => head.flatMap((h, i) => textLines(`${h.padEnd(name)}${row[i] ?? ''}`, width, ' '.repeat(name))).join('\n'))
    .join('\n\n');
}

/** A line of text wrapped to `width`, its continuations indented by `indent` (its leading line breaks kept). */
function textLines(text: string, width: number, indent = '    '): string[] {
  const body = text.trimStart();
  const [first = '', ...rest] = hanging(body, width, '', indent);
  return [`${text.slice(0, text.length - body.length)}${first}`, ...rest];
}

export function markdownTable(head: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function suitesIn(run: BenchRun): SuiteName[] {
  return SUITE_NAMES.filter((s) => run.measurements.some((m) => m.suite === s));
}

/** Quick runs warm up once and take a handful of samples: cold caches dominate some figures. */
export const QUICK_WARNING = 'quick run: few samples, one warm-up; it checks the harness, not for go/no-go (drop --quick)';

/** What a project run measured, in words (the records of a copy; the project's folders only read). */
export function projectLine(project: NonNullable<BenchRun['options']['project']>): string {
  const from = project.source === 'leveldb' ? 'LevelDB' : 'deployments folder';
  const skipped = project.invalid > 0 ? `, ${project.invalid} non-record entries left out` : '';
  return `your store: ${project.records} records from a copy of your ${from}${skipped}; ${project.long ? 'long run' : 'short run (--long for more rounds)'}`;
}

/** The console summary printed after a run. */
/** The report for a terminal `width` columns wide (at most CONSOLE_WIDTH): wrapped by the bench, never cut by the terminal. */
export function consoleReport(run: BenchRun, width = CONSOLE_WIDTH): string {
  const out: string[] = [];
  const text = (line: string): string => textLines(line, width).join('\n');
  const summary = summaryLines(run.gates, width);
  if (run.options.project) out.push(text(projectLine(run.options.project)));
  if (summary.length > 0) out.push(...summary);
  if (run.options.quick) out.push(text(QUICK_WARNING));
  for (const suite of suitesIn(run)) {
    out.push(`\n== ${suite}`, padTable(MEASUREMENT_HEAD, measurementRows(run.measurements.filter((m) => m.suite === suite)), width));
  }
  if (run.memory.length > 0)
    out.push('\n== memory (each subject alone in a child process)', padTable(MEMORY_HEAD, memoryRows(run.memory), width));
  if (run.gates.length > 0) {
    // Names are cut only to fit the aligned table; a block per row has room for them whole.
    const cut = consoleGateRows(run.gates);
    const rows = tableFits(CONSOLE_GATE_HEAD, cut, width) ? cut : consoleGateRows(run.gates, false);
    out.push(text('\n== gates (ratios of medians from this run; INFO = above the gated sizes)'), padTable(CONSOLE_GATE_HEAD, rows, width));
  }
  for (const s of run.skipped) out.push(text(`\n${s.suite}: ${s.reason}`));
  if (run.baseline) {
    const b = run.baseline;
    out.push(
      text(
        `\n== baseline ${b.file}: ${b.regressions} regression(s) over ${Math.round(b.threshold * 100)}% in ${b.entries.length} compared${b.missing.length ? `, ${b.missing.length} not measured this run` : ''}`,
      ),
    );
    const worse = b.entries.filter((e) => e.regressed);
    if (worse.length)
      out.push(
        padTable(
          ['id', 'metric', 'baseline', 'now', 'change'],
          worse.map((e) => [
            e.id,
            e.metric,
            fmtMetric(e.metric, e.baseline),
            fmtMetric(e.metric, e.current),
            `+${(e.change * 100).toFixed(0)}%`,
          ]),
          width,
        ),
      );
  }
  const counts = countGates(run.gates);
  out.push(`\ngates: ${counts.PASS} PASS, ${counts.FAIL} FAIL, ${counts.INFO} INFO, ${counts['N/A']} N/A`);
  if (run.options.quick) out.push(text(QUICK_WARNING));
  return out.join('\n');
}

function fmtMetric(metric: 'p50' | 'rss', value: number): string {
  return metric === 'rss' ? formatBytes(value) : formatMs(value);
}

export function countGates(gates: readonly GateResult[]): Record<GateResult['status'], number> {
  const counts = { PASS: 0, FAIL: 0, INFO: 0, 'N/A': 0 };
  for (const g of gates) counts[g.status]++;
  return counts;
}

/** The Markdown report; `charts` maps a suite to the SVG file name saved beside the report. */
export function markdownReport(
  run: BenchRun,
  charts: Partial<Record<SuiteName, string>>,
  ratioCharts: ReadonlyArray<{ title: string; file: string }> = [],
): string {
  const counts = countGates(run.gates);
  const out: string[] = [
    '# deploystate bench',
    '',
    `Run ${run.startedAt} on Node ${run.environment.node}, ${run.environment.platform}/${run.environment.arch}, ${run.environment.cpus} CPU (${run.environment.cpuModel}).`,
    `Options: ${run.options.quick ? 'quick, ' : ''}sizes ${run.options.sizes.join(', ')}; suites ${run.options.suites.join(', ')}; ${run.options.iterations} iterations, ${run.options.warmup} warm-up.`,
    ...(run.options.project ? [`Measured: ${projectLine(run.options.project)}.`] : []),
    '',
    `**Gates: ${counts.PASS} PASS, ${counts.FAIL} FAIL, ${counts.INFO} INFO, ${counts['N/A']} N/A.** Ratios are medians from this run; the runbook limits apply at production size (28 records) and up to 100 records per network; larger sizes are INFO.`,
    '',
  ];
  if (run.options.quick) out.push(`> ${QUICK_WARNING}`, '');
  const list = sortCriteria(criteria(run.gates));
  if (list.length > 0) {
    out.push(
      '## Summary',
      '',
      markdownTable(
        ['criterion', 'from', 'result', 'worst case'],
        list.map((c) => [c.title, c.source, c.status, worstCase(c.worst)]),
      ),
      '',
    );
    for (const chart of ratioCharts) out.push(`![${chart.title}](${chart.file})`, '');
  }
  if (run.gates.length > 0) out.push('## Gates', '', markdownTable(GATE_HEAD, gateRows(run.gates)), '');
  for (const suite of suitesIn(run)) {
    out.push(`## ${suite}`, '');
    const chart = charts[suite];
    if (chart) out.push(`![p50 latency, ${suite}](${chart})`, '');
    out.push(
      markdownTable(
        [...MEASUREMENT_HEAD, 'note'],
        run.measurements.filter((m) => m.suite === suite).map((m) => [...(measurementRows([m])[0] ?? []), m.note ?? '']),
      ),
      '',
    );
  }
  if (run.memory.length > 0)
    out.push(
      '## Memory',
      '',
      'Each backend measured alone in a child process (`--expose-gc`): load, read every record, list every chain, query, scan.',
      '',
      markdownTable(MEMORY_HEAD, memoryRows(run.memory)),
      '',
    );
  if (run.skipped.length > 0) out.push('## Skipped', '', ...run.skipped.map((s) => `- ${s.suite}: ${s.reason}`), '');
  if (run.baseline) {
    const b = run.baseline;
    out.push(
      '## Baseline',
      '',
      `Compared with \`${b.file}\`: ${b.regressions} regression(s) over ${Math.round(b.threshold * 100)}% in ${b.entries.length} figures.`,
      '',
    );
    if (b.entries.length)
      out.push(
        markdownTable(
          ['id', 'metric', 'baseline', 'now', 'change', 'flag'],
          b.entries.map((e) => [
            e.id,
            e.metric,
            fmtMetric(e.metric, e.baseline),
            fmtMetric(e.metric, e.current),
            `${e.change >= 0 ? '+' : ''}${(e.change * 100).toFixed(0)}%`,
            e.regressed ? 'REGRESSED' : '',
          ]),
        ),
        '',
      );
    if (b.missing.length) out.push(`Not measured this run: ${b.missing.join(', ')}`, '');
  }
  return out.join('\n');
}
