// A hand-written SVG chart: one horizontal bar per subject (backend) for each operation and size,
// length = p50 latency on a log scale (latencies span microseconds to seconds), value printed at
// the end of the bar. Plain SVG, no script, so it renders on GitHub and in any browser.
import type { Measurement } from './results.js';

export const SUBJECT_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

/** One colour per subject in every chart, so a backend looks the same wherever it appears. */
const FIXED_COLOURS: Record<string, string> = {
  leveldb: '#4e79a7',
  'leveldb sync': '#76b7b2',
  json: '#f28e2b',
  factory: '#59a14f',
  'dual-write': '#e15759',
  'rewrite floor': '#9c755f',
  level: '#bab0ac',
  'level sync': '#ff9da7',
  lossless: '#edc948',
  native: '#b07aa1',
};

export function colourOf(subject: string): string {
  const fixed = FIXED_COLOURS[subject];
  if (fixed) return fixed;
  let hash = 0;
  for (const ch of subject) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return SUBJECT_COLOURS[hash % SUBJECT_COLOURS.length] as string;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Milliseconds for people: 35 us, 1.24 ms, 2.1 s. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} us`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export interface ChartGroup {
  label: string;
  bars: Array<{ subject: string; p50: number }>;
}

/** Groups measurements by operation and size, in the order they were measured. */
export function chartGroups(measurements: readonly Measurement[]): ChartGroup[] {
  const groups = new Map<string, ChartGroup>();
  for (const m of measurements) {
    const label = `${m.operation} @ ${m.size}`;
    const group = groups.get(label) ?? { label, bars: [] };
    group.bars.push({ subject: m.subject, p50: m.latencyMs.p50 });
    groups.set(label, group);
  }
  return [...groups.values()];
}

const BAR = 14;
const GAP = 10;
const LABEL_WIDTH = 190;
const PLOT_WIDTH = 460;
const VALUE_WIDTH = 90;

export function latencyChart(measurements: readonly Measurement[], title: string): string {
  const groups = chartGroups(measurements);
  const subjects = [...new Set(measurements.map((m) => m.subject))];
  const colour = colourOf;
  const values = measurements.map((m) => m.latencyMs.p50).filter((v) => v > 0);
  // Log scale from one decade under the fastest to the slowest, so every bar has a visible length.
  const lo = Math.log10(values.length ? Math.min(...values) : 0.001) - 1;
  const hi = Math.log10(values.length ? Math.max(...values) : 1);
  const span = Math.max(hi - lo, 1e-9);
  const width = (v: number): number => Math.max(1, ((Math.log10(Math.max(v, 1e-9)) - lo) / span) * PLOT_WIDTH);

  const legendHeight = 22;
  const top = 36 + legendHeight;
  const rows: string[] = [];
  let y = top;
  for (const group of groups) {
    const groupHeight = group.bars.length * BAR;
    rows.push(
      `<text class="label" x="${LABEL_WIDTH - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end">${escapeXml(group.label)}</text>`,
    );
    for (const bar of group.bars) {
      const w = width(bar.p50);
      rows.push(
        `<rect class="bar" x="${LABEL_WIDTH}" y="${y}" width="${w.toFixed(1)}" height="${BAR - 2}" fill="${colour(bar.subject)}"><title>${escapeXml(`${bar.subject}, ${group.label}: p50 ${formatMs(bar.p50)}`)}</title></rect>`,
        `<text class="value" x="${(LABEL_WIDTH + w + 4).toFixed(1)}" y="${y + BAR - 4}">${escapeXml(formatMs(bar.p50))}</text>`,
      );
      y += BAR;
    }
    y += GAP;
  }
  const legend = subjects
    .map(
      (subject, i) =>
        `<rect x="${LABEL_WIDTH + i * 130}" y="30" width="12" height="12" fill="${colour(subject)}"/><text class="value" x="${LABEL_WIDTH + i * 130 + 16}" y="40">${escapeXml(subject)}</text>`,
    )
    .join('');
  const height = y + 24;
  const totalWidth = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${height}" viewBox="0 0 ${totalWidth} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    '<style>text{font-family:system-ui,sans-serif;font-size:11px;fill:#222}.title{font-size:14px;font-weight:600}.note{fill:#666}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text class="title" x="8" y="20">${escapeXml(title)}</text>`,
    legend,
    ...rows,
    `<text class="note" x="${LABEL_WIDTH}" y="${height - 8}">p50 latency per run, log scale (shorter is faster)</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export interface RatioRow {
  label: string;
  value: number | null;
  limit: number;
  comparison: '<=' | '>=';
  /** The subject measured against the reference; it picks the bar's colour. */
  subject: string;
}

/**
 * One criterion's ratios against its limit on a linear scale, the limit drawn as a line. A bar far
 * past the limit is cut at the axis end and marked, its value printed, so the others stay legible.
 */
export function ratioChart(rows: readonly RatioRow[], title: string): string {
  const limit = rows[0]?.limit ?? 1;
  const values = rows.map((r) => r.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const axisMax = Math.max(limit * 2, ...values.filter((v) => v <= limit * 4));
  const x = (v: number): number => (Math.min(v, axisMax) / axisMax) * PLOT_WIDTH;
  const top = 36;
  const parts: string[] = [];
  let y = top;
  for (const row of rows) {
    parts.push(`<text class="label" x="${LABEL_WIDTH - 8}" y="${y + BAR - 3}" text-anchor="end">${escapeXml(row.label)}</text>`);
    if (row.value !== null && Number.isFinite(row.value)) {
      const w = Math.max(1, x(row.value));
      const cut = row.value > axisMax;
      const ok = row.comparison === '<=' ? row.value <= row.limit : row.value >= row.limit;
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${w.toFixed(1)}" height="${BAR - 2}" fill="${colourOf(row.subject)}"><title>${escapeXml(`${row.label}: ${row.value.toFixed(2)}x, limit ${row.comparison} ${row.limit}x`)}</title></rect>`,
        `<text class="value" x="${(LABEL_WIDTH + w + 4).toFixed(1)}" y="${y + BAR - 3}">${cut ? '» ' : ''}${row.value.toFixed(2)}x ${ok ? 'PASS' : 'FAIL'}</text>`,
      );
    } else {
      parts.push(`<text class="value" x="${LABEL_WIDTH + 4}" y="${y + BAR - 3}">not measured</text>`);
    }
    y += BAR + 4;
  }
  const lx = (LABEL_WIDTH + x(limit)).toFixed(1);
  parts.push(
    `<line x1="${lx}" y1="${top - 6}" x2="${lx}" y2="${y}" stroke="#c00" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<text class="note" x="${lx}" y="${top - 10}" text-anchor="middle">limit ${rows[0]?.comparison ?? '<='} ${limit}x</text>`,
  );
  const subjects = [...new Set(rows.map((r) => r.subject))];
  const legendY = y + 14;
  const legend = subjects
    .map(
      (subject, i) =>
        `<rect x="${LABEL_WIDTH + i * 130}" y="${legendY - 10}" width="12" height="12" fill="${colourOf(subject)}"/><text class="value" x="${LABEL_WIDTH + i * 130 + 16}" y="${legendY}">${escapeXml(subject)}</text>`,
    )
    .join('');
  const height = legendY + 26;
  const totalWidth = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${height}" viewBox="0 0 ${totalWidth} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    '<style>text{font-family:system-ui,sans-serif;font-size:11px;fill:#222}.title{font-size:14px;font-weight:600}.note{fill:#666}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text class="title" x="8" y="18">${escapeXml(title)}</text>`,
    ...parts,
    legend,
    `<text class="note" x="${LABEL_WIDTH}" y="${height - 6}">ratio of medians, linear scale from 0; » marks a bar cut at the axis end</text>`,
    '</svg>',
    '',
  ].join('\n');
}
