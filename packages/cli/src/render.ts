// Text renderings shared by several commands: findings, comparisons, verdict lines.
import type { Finding, StoreComparison } from '@deploystate/core';
import { canonicalEncode, stringifyLossless, wrapRows } from '@deploystate/core';
import type { DecisionProposals, UnreadableEntry } from '@deploystate/migrator';
import { stdoutColumns, table, type Palette } from './output.js';

export function verdict(ok: boolean, paint: Palette, good: string, bad: string): string {
  return ok ? paint.green(paint.bold(`✔ ${good}`)) : paint.red(paint.bold(`✘ ${bad}`));
}

/** A readiness result (dual-write verify, rollback --ready): one row per check, then the verdict. */
export function renderReadiness(
  result: { ready: boolean; checks: ReadonlyArray<{ name: string; ok: boolean; detail: string }> },
  paint: Palette,
  good: string,
  bad: string,
): string[] {
  return [
    table(
      ['check', 'ok', 'detail'],
      result.checks.map((c) => [c.name, c.ok ? paint.green('yes') : paint.red('no'), c.detail]),
      paint,
    ),
    verdict(result.ready, paint, good, bad),
  ];
}

function severityPaint(severity: string, paint: Palette): (text: string) => string {
  if (severity === 'error') return paint.red;
  if (severity === 'warning') return paint.yellow;
  return paint.dim;
}

/**
 * Counts per finding code, then the first `limit` findings one per line. On a terminal `columns`
 * wide each finding's message wraps under where the messages start, the same column for every
 * code (the general rule went on under a padded code's value, but under a code as wide as the
 * column, with one space after it, four columns in).
 */
export function renderFindings(findings: readonly Finding[], paint: Palette, limit = 15, columns = stdoutColumns()): string[] {
  if (findings.length === 0) return [paint.green('no findings')];
  const byCode = new Map<string, { severity: string; count: number }>();
  for (const f of findings) {
    const entry = byCode.get(f.code) ?? { severity: f.severity, count: 0 };
    entry.count++;
    byCode.set(f.code, entry);
  }
  const lines = [
    table(
      ['finding', 'severity', 'count'],
      [...byCode].map(([code, { severity, count }]) => [code, severityPaint(severity, paint)(severity), count]),
      paint,
    ),
  ];
  const rank: Record<string, number> = { error: 0, warning: 1, info: 2 };
  // Errors and warnings first; info findings are counted above and listed only when nothing worse is.
  const worst = [...findings].sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3));
  const listed = worst.some((f) => f.severity !== 'info') ? worst.filter((f) => f.severity !== 'info') : worst;
  // Codes padded to the longest one listed, so every message starts in one column.
  const codeWidth = Math.max(0, ...listed.slice(0, limit).map((f) => f.code.length));
  for (const f of listed.slice(0, limit)) {
    const where = [f.key, f.file && `${f.file}${f.pointer ? `#${f.pointer}` : ''}`, f.field && `field ${f.field}`]
      .filter(Boolean)
      .join(' ');
    // The key is named once: a message that starts with it (a stored value's) says the rest.
    const message = f.key !== undefined && f.message.startsWith(`${f.key}: `) ? f.message.slice(f.key.length + 2) : f.message;
    const code = `  ${severityPaint(f.severity, paint)(f.code.padEnd(codeWidth))} `;
    const text = `${where ? `${where}: ` : ''}${message}`;
    const at = codeWidth + 3;
    // A code column wider than half the terminal leaves the message too little room: the general wrap then.
    if (columns === undefined || at > columns / 2) lines.push(code + text);
    else lines.push(...wrapRows(text, columns - at, '').map((row, i) => (i === 0 ? code : ' '.repeat(at)) + row));
  }
  if (listed.length > limit) lines.push(paint.dim(`  ... and ${listed.length - limit} more (--json lists all)`));
  if (listed.length < findings.length)
    lines.push(paint.dim(`  (${findings.length - listed.length} info findings counted above; --json lists all)`));
  return lines;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * Where inside a field two values first differ: the path (`deploymentArgs[3]`, `proxy.admin`) and
 * the values there, descending while both are arrays of one length or objects of one key set.
 */
export function firstDifference(field: string, left: unknown, right: unknown): { path: string; left: unknown; right: unknown } {
  let path = field;
  for (;;) {
    let step: string | number | undefined;
    const [l, r] = [left, right];
    if (Array.isArray(l) && Array.isArray(r) && l.length === r.length) step = l.findIndex((value, i) => canonicalEncode(value) !== canonicalEncode(r[i]));
    else if (isPlainObject(l) && isPlainObject(r) && canonicalEncode(Object.keys(l).sort()) === canonicalEncode(Object.keys(r).sort()))
      step = Object.keys(l).find((key) => canonicalEncode(l[key]) !== canonicalEncode(r[key]));
    if (step === undefined || step === -1) return { path, left, right };
    path += typeof step === 'number' ? `[${step}]` : `.${step}`;
    left = (left as Record<string | number, unknown>)[step];
    right = (right as Record<string | number, unknown>)[step];
  }
}

/**
 * The two values' texts, each at most `width` characters: a long pair is shown from a little before
 * the first character where they differ, so the difference is in view on both (a cut at the same
 * place from the start hid it when two long values differ near their end).
 */
export function sideTexts(left: unknown, right: unknown, width: number): [string, string] {
  const a = left === undefined ? '(absent)' : stringifyLossless(left);
  const b = right === undefined ? '(absent)' : stringifyLossless(right);
  if (a.length <= width && b.length <= width) return [a, b];
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  const start = Math.max(0, Math.min(at - 16, Math.max(a.length, b.length) - (width - 2)));
  const cut = (text: string): string => {
    const shown = text.slice(start, start + width - 2);
    return `${start > 0 ? '…' : ''}${shown}${start + shown.length < text.length ? '…' : ''}`;
  };
  return [cut(a), cut(b)];
}

/** A differing field's lines: one when both values are short, else each side on its own line. */
function fieldLines(field: { field: string; left: unknown; right: unknown }, names: [string, string]): string[] {
  const at = firstDifference(field.field, field.left, field.right);
  const [a, b] = sideTexts(at.left, at.right, 50);
  if (`      ${at.path}: ${names[0]} ${a}  ${names[1]} ${b}`.length <= 70) return [`      ${at.path}: ${names[0]} ${a}  ${names[1]} ${b}`];
  const label = Math.max(names[0].length, names[1].length);
  return [`      ${at.path}:`, `        ${names[0].padEnd(label)} ${a}`, `        ${names[1].padEnd(label)} ${b}`];
}

/** Entries either side could not read that the state does not account for: they fail compare and verify. */
export const unknownUnreadable = (comparison: { unreadable?: readonly UnreadableEntry[] }): UnreadableEntry[] =>
  (comparison.unreadable ?? []).filter((u) => !u.known);

/** Where each side's data lives, named on an unreadable entry that carries no file of its own (a LevelDB value). */
export interface SideLocations {
  leveldb: string;
  json: string;
}

/** One line per entry a side could not read: side, key, file and finding code, and whether the state accounts for it. */
export function renderUnreadable(
  unreadable: readonly UnreadableEntry[],
  paint: Palette,
  limit: number,
  locations?: SideLocations,
): string[] {
  const lines = unreadable.slice(0, limit).map((u) => {
    const label = u.known ? paint.dim(`unreadable ${u.side}`.padEnd(19)) : paint.red(`unreadable ${u.side}`.padEnd(19));
    const file = u.file ?? locations?.[u.side];
    const where = file !== undefined ? ` ${file}` : '';
    return `  ${label} ${u.key}${where}: ${u.finding.code}${u.known ? ' (excluded or listed unmigratable: not compared)' : ''}`;
  });
  if (unreadable.length > limit) lines.push(paint.dim(`  ... ${unreadable.length - limit} more unreadable entries (--json lists all)`));
  return lines;
}

/** The first `limit` items, and how many more there are. */
export function listed(items: readonly string[], limit = 5): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
}

export function renderComparison(
  comparison: StoreComparison & {
    unreadable?: readonly UnreadableEntry[];
    writtenSinceCutover?: readonly string[];
    writtenElsewhere?: readonly string[];
    pending?: readonly string[];
    awaitingCopy?: { differing: number; onlyRight: number; keys: readonly string[] };
  },
  paint: Palette,
  limit: number,
  options: {
    names?: [string, string];
    locations?: SideLocations;
    /**
     * dual-write before the bulk copy has completed ('not-run': it never began): records only in
     * LevelDB are the copy's work still to do, not a failure. When they are the only difference the
     * verdict says so, and what to run, instead of a red "stores differ" on a command that passes.
     */
    copyPending?: 'not-run' | 'not-completed';
    /** What lists more differences than the cap, said when the comparison's lists were cut short. */
    raiseCap?: string;
  } = {},
): string[] {
  const { names = ['leveldb', 'json'], locations, copyPending, raiseCap } = options;
  const { counts } = comparison;
  const [left, right] = names;
  const unreadable = comparison.unreadable ?? [];
  const unknown = unknownUnreadable(comparison).length;
  const lines = [
    table(
      ['side', 'records', 'digest'],
      [
        [left, comparison.left.count, comparison.left.digest],
        [right, comparison.right.count, comparison.right.digest],
      ],
      paint,
    ),
  ];
  if (comparison.excluded.length > 0) lines.push(paint.dim(`excluded from both sides: ${comparison.excluded.join(', ')}`));
  const pending = comparison.pending ?? [];
  if (pending.length > 0)
    lines.push(
      paint.dim(
        // json-only (the comparison lists writes since the cut-over): no gate writes LevelDB any more.
        comparison.writtenSinceCutover !== undefined
          ? `pending (written while it read; not a difference): ${listed(pending, limit)}`
          : `pending (written while it read, or not yet on both sides; the next gate completes it; not a difference): ${listed(pending, limit)}`,
      ),
    );
  lines.push(...renderUnreadable(unreadable, paint, limit, locations));
  const sinceCutover = comparison.writtenSinceCutover ?? [];
  if (sinceCutover.length > 0)
    lines.push(
      paint.dim(
        `written since the cut-over, in ${right} as journalled (${left} stays as the cut-over left it): ${listed(sinceCutover, limit)}`,
      ),
    );
  const elsewhere = comparison.writtenElsewhere ?? [];
  if (elsewhere.length > 0)
    lines.push(
      paint.dim(
        `new or newer in ${right} since the cut-over, not written here (a teammate's write through git, or another program; ${left} is as the cut-over left it): ${listed(elsewhere, limit)}`,
      ),
    );
  let shown = 0;
  // Before the copy, a record only in LevelDB awaits it: listed, not marked as a failure.
  const onlyLeftLabel = copyPending ? paint.yellow('awaits the copy'.padEnd(16)) : paint.red(`only in ${left}`.padEnd(16));
  for (const entry of comparison.onlyLeft) if (shown++ < limit) lines.push(`  ${onlyLeftLabel} ${entry.key}`);
  // A record JSON holds as an earlier cycle left it (no write since dual-write enable) awaits it too.
  const awaiting = new Set(copyPending ? (comparison.awaitingCopy?.keys ?? []) : []);
  const awaitingLabel = paint.yellow('awaits the copy'.padEnd(16));
  for (const entry of comparison.onlyRight)
    if (shown++ < limit) lines.push(`  ${awaiting.has(entry.key) ? awaitingLabel : paint.red(`only in ${right}`.padEnd(16))} ${entry.key}`);
  for (const diff of comparison.differing) {
    if (shown++ >= limit) continue;
    lines.push(`  ${awaiting.has(diff.key) ? awaitingLabel : paint.yellow('differs'.padEnd(16))} ${diff.key}`);
    for (const field of diff.fields) lines.push(...fieldLines(field, [left, right]));
  }
  // The lists stop at the comparison's cap; the counts never do.
  const listedTotal = comparison.onlyLeft.length + comparison.onlyRight.length + comparison.differing.length;
  const total = counts.onlyLeft + counts.onlyRight + counts.differing;
  shown = Math.min(shown, limit);
  if (comparison.truncated)
    lines.push(
      paint.dim(
        `  ... ${total - shown} more differences (showing the first ${shown}; --json lists the first ${listedTotal} of ${total}${raiseCap ? `, ${raiseCap}` : ''})`,
      ),
    );
  else if (total > shown) lines.push(paint.dim(`  ... ${total - shown} more differences (--json lists all)`));
  const equal = comparison.equal && unknown === 0;
  const stale = copyPending !== undefined ? (comparison.awaitingCopy ?? { differing: 0, onlyRight: 0 }) : { differing: 0, onlyRight: 0 };
  const onlyAwaitingCopy =
    copyPending !== undefined && !equal && unknown === 0 && counts.onlyRight === stale.onlyRight && counts.differing === stale.differing;
  if (onlyAwaitingCopy) {
    const held = comparison.right.count - stale.differing - stale.onlyRight;
    const older = stale.differing + stale.onlyRight;
    const waiting = `${[
      ...(counts.onlyLeft > 0 || older === 0 ? [`${counts.onlyLeft} record(s) are only in ${left}`] : []),
      ...(older > 0 ? [`${older} in ${right} are as an earlier cycle left them`] : []),
    ].join(' and ')} until it does`;
    lines.push(
      verdict(true, paint, `consistent so far: ${held > 0 ? `the ${held}${older > 0 ? ' other' : ''} record(s) both sides hold are equal` : `${right} holds no record yet`}`, ''),
      paint.yellow(
        copyPending === 'not-run'
          ? `  the bulk copy has not run yet: ${waiting}; run \`deploystate migrate\``
          : `  the bulk copy has not completed: ${waiting}; run \`deploystate migrate --resume\``,
      ),
    );
    return lines;
  }
  lines.push(
    verdict(
      equal,
      paint,
      sinceCutover.length + elsewhere.length > 0
        ? `stores agree but for ${sinceCutover.length + elsewhere.length + pending.length} key(s) written since the cut-over (${comparison.right.count} records in ${right})`
        : pending.length > 0
          ? `stores are identical but for ${pending.length} pending key(s) (${pendingCounts(comparison.left.count, comparison.right.count, left, right)})`
          : `stores are identical (${comparison.left.count} records)`,
      `stores differ: ${counts.onlyLeft} only in ${left}, ${counts.onlyRight} only in ${right}, ${counts.differing} differing${unknown > 0 ? `, ${unknown} unreadable` : ''}`,
    ),
  );
  if (copyPending !== undefined && !equal && counts.onlyLeft > 0)
    lines.push(paint.yellow(`  the ${counts.onlyLeft} only in ${left} await the bulk copy; the other differences are what fails`));
  return lines;
}

/**
 * The counts beside pending keys. A key written while the sides were read counts on each side that
 * held it then (an outbox entry not yet applied counts on neither), so the two can differ.
 */
function pendingCounts(leftCount: number, rightCount: number, left: string, right: string): string {
  return leftCount === rightCount ? `${leftCount} records each` : `${leftCount} records in ${left}, ${rightCount} in ${right}`;
}

/**
 * Why a passing analyze/check can list error findings: the gate is that every record copies
 * losslessly; what the records say (a bad address on a dev chain) is carried as stored and is
 * acknowledged at cut-over. Empty when there is nothing to explain.
 */
export function carriedFindingsNote(ok: boolean, findings: ReadonlyArray<{ severity: string }>, paint: Palette, proposalsShown = true): string[] {
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (!ok || errors === 0) return [];
  return [
    paint.dim(
      `  every record copies losslessly; the ${errors} error finding${errors === 1 ? '' : 's'} above ${errors === 1 ? 'is' : 'are'} carried as stored unless excluded; cutover asks you to decide on each (${proposalsShown ? 'see the proposals above' : '`deploystate analyze` proposes a decision for each'})`,
    ),
  ];
}

/** json-only: LevelDB's changes since the cut-over recorded it, by key, with the command that folds them in. */
export function leveldbSinceCutoverLines(
  since: { cutoverAt: string; changed: boolean; changes: Array<{ key: string; change: string }> } | undefined,
  p: Palette,
): string[] {
  if (!since) return [];
  if (!since.changed) return [`${p.bold('leveldb     ')} unchanged since cut-over (${since.cutoverAt})`];
  return [
    p.yellow(`${p.bold('leveldb     ')} changed since cut-over (${since.cutoverAt}): ${since.changes.length} key(s) written there after it (fold-in says which the JSON files deploy scripts read lack)`),
    ...since.changes.slice(0, 20).map((c) => p.yellow(`              ${c.change.padEnd(7)} ${c.key}`)),
    ...(since.changes.length > 20 ? [p.yellow(`              ... and ${since.changes.length - 20} more (--json lists all)`)] : []),
    `              next: deploystate fold-in --dry-run, then deploystate fold-in`,
  ];
}

/** analyze's proposed decisions, each with the exact command that records it (nothing is decided for you). */
export function decisionLines(proposals: DecisionProposals | undefined, p: Palette): string[] {
  if (!proposals) return [];
  const lines: string[] = [];
  if (proposals.exclude) {
    lines.push(p.bold(`Proposed: exclude ${proposals.exclude.keys.length} development-chain record(s) that cannot be valid`));
    lines.push(`  ${p.cyan(proposals.exclude.command)}`);
  }
  if (proposals.acknowledge.length > 0) {
    lines.push(p.bold(`Proposed: acknowledge ${proposals.acknowledge.length} finding(s) record by record, if you accept them as they are`));
    for (const a of proposals.acknowledge) lines.push(`  ${p.cyan(a.command)}`);
  }
  if (proposals.toFix.length > 0)
    lines.push(
      p.yellow(
        `Not proposed: ${proposals.toFix.length} error(s) on real chains are data to fix: ${[...new Set(proposals.toFix.map((f) => `${f.code} ${f.key}`))].join(', ')}`,
      ),
    );
  const recorded = proposals.recorded.excluded.length + proposals.recorded.acknowledged.length;
  if (recorded > 0) lines.push(p.green(`Recorded decisions: ${proposals.recorded.excluded.length} excluded, ${proposals.recorded.acknowledged.length} acknowledged`));
  return lines.length > 0 ? ['', ...lines, ...(proposals.exclude || proposals.acknowledge.length > 0 ? ['  (each writes deploystate.config.json: commit it)'] : [])] : [];
}
