// The report's first part, for a person: each criterion in plain words, where it comes from,
// PASS or FAIL over every gated size, and the worst case with its absolute times beside the ratio.
import { wrapIndented, wrapRows } from '@deploystate/core';
import { formatMs } from './chart.js';
import type { GateResult, GateStatus } from './results.js';

export interface Criterion {
  title: string;
  source: string;
  /** FAIL if any gated measurement fails, PASS if all gated ones pass, else INFO or N/A. */
  status: GateStatus;
  /** The gate furthest from its limit among the gated ones (or among all, when none is gated). */
  worst: GateResult;
  gates: GateResult[];
}

/** `<=`: larger is worse; `>=`: smaller is worse. */
function worseThan(a: GateResult, b: GateResult): boolean {
  if (a.value === null) return false;
  if (b.value === null) return true;
  const ra = a.limit ? a.value / a.limit : a.value;
  const rb = b.limit ? b.value / b.limit : b.value;
  return a.comparison === '>=' ? ra < rb : ra > rb;
}

export function criteria(gates: readonly GateResult[]): Criterion[] {
  const groups = new Map<string, GateResult[]>();
  for (const gate of gates) {
    if (gate.title === undefined) continue;
    groups.set(gate.title, [...(groups.get(gate.title) ?? []), gate]);
  }
  return [...groups].map(([title, group]) => {
    const gated = group.filter((g) => g.status === 'PASS' || g.status === 'FAIL');
    const status: GateStatus = gated.some((g) => g.status === 'FAIL')
      ? 'FAIL'
      : gated.length > 0
        ? 'PASS'
        : group.some((g) => g.status === 'INFO')
          ? 'INFO'
          : 'N/A';
    const pool = gated.length > 0 ? gated : group;
    const worst = pool.reduce((a, b) => (worseThan(b, a) ? b : a));
    return { title, source: (group[0] as GateResult).source.split(':')[0] as string, status, worst, gates: group };
  });
}

/** Runbook criteria first, in step order; our own targets after. */
export function sortCriteria(list: readonly Criterion[]): Criterion[] {
  const rank = (c: Criterion): string => (c.source.startsWith('runbook') ? `0 ${c.source}` : `1 ${c.source}`);
  return [...list].sort((a, b) => rank(a).localeCompare(rank(b)));
}

/** The worst case in words: `factory get json-only @ 500: 0.59x (27.3 us vs 46.2 us)`. */
export function worstCase(gate: GateResult): string {
  if (gate.value === null) return `${gate.name} @ ${gate.size}: not measured`;
  const isTime = gate.limit !== null && gate.limit >= 100;
  const value = isTime ? formatMs(gate.value) : `${gate.value.toFixed(2)}x`;
  const limit = gate.limit === null ? '' : ` (limit ${gate.comparison} ${isTime ? formatMs(gate.limit) : `${gate.limit}x`})`;
  const times = gate.times
    ? `; ${gate.candidate ?? 'candidate'} ${formatMs(gate.times.candidate)} vs ${gate.reference ?? 'reference'} ${formatMs(gate.times.reference)}`
    : '';
  const mb = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  const rss = gate.bytes
    ? `; ${gate.candidate ?? 'candidate'} ${mb(gate.bytes.candidate)} vs ${gate.reference ?? 'reference'} ${mb(gate.bytes.reference)} RSS`
    : '';
  return `${gate.name} @ ${gate.size}: ${value}${limit}${times}${rss}`;
}

/** Wraps words to `width` columns, the first line indented by `first` and the others by `rest`. */
export function hanging(text: string, width: number, first: string, rest: string): string[] {
  return text === '' ? [] : wrapRows(`${first}${text}`, width, rest);
}

/**
 * A progress line as the terminal gets it: `bench: ` and the text, wrapped to `width` columns, the
 * lines after the first indented (each line of a text that has several, a stack say, wrapped alike).
 * A word wider than a whole line (a long path) is broken after a slash, so every line fits.
 */
export function progressLines(text: string, width = 100): string[] {
  const out: string[] = [];
  text.split('\n').forEach((part, i) => {
    if (i > 0) {
      out.push(...wrapIndented(part.trim(), width, '    '));
      return;
    }
    out.push(...hanging(part, width, 'bench: ', '    '));
  });
  return out;
}

/** The summary as terminal lines, none wider than `width`. */
export function summaryLines(gates: readonly GateResult[], width = 100): string[] {
  const list = sortCriteria(criteria(gates));
  if (list.length === 0) return [];
  const out = hanging('What the runbook asks, and what this run measured (ratios of medians, same run):', width, '', '    ');
  for (const c of list) {
    out.push(...hanging(`${c.status.padEnd(4)}  ${c.title} (${c.source})`, width, '  ', '        '));
    out.push(...hanging(`worst: ${worstCase(c.worst)}`, width, '        ', '          '));
  }
  return out;
}
