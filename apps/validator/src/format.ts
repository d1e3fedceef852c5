// Output for people (human), machines (JSON) and GitHub Actions (workflow-command annotations),
// and the exit code a result stands for.
import { isAbsolute, relative } from 'node:path';
import { stringifyLossless, type Finding, type Severity } from '@deploystate/core';
import type { ValidationResult } from './types.js';

export interface ExitCodeOptions {
  warningsAsErrors?: boolean;
}

/** 0 when clean, 1 when there is an error (or a warning, with `warningsAsErrors`). */
export function exitCodeFor(result: ValidationResult, options: ExitCodeOptions = {}): 0 | 1 {
  if (result.summary.errors > 0) return 1;
  if (options.warningsAsErrors && result.summary.warnings > 0) return 1;
  return 0;
}

/** One JSON document; big integers in compared records print exactly. */
export function formatJson(result: ValidationResult): string {
  return `${stringifyLossless(result, 2)}\n`;
}

export interface HumanFormatOptions {
  /** ANSI colour; the binary turns it on only on a TTY. */
  color?: boolean;
  /** Also list info findings (otherwise only counted). */
  verbose?: boolean;
  /** Renders the summary table (header, then rows) in place of the plain one: the CLI fits it to the terminal. */
  table?: (header: string[], rows: string[][]) => string;
  /** Absolute paths are shown relative to this folder (the CLI's working folder); others as they are. */
  root?: string;
}

/** `file` relative to `root` when both are given and the file is absolute (a path outside `root` stays absolute). */
function shownPath(file: string, root: string | undefined): string {
  if (root === undefined || !isAbsolute(file)) return file;
  const rel = relative(root, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

const ANSI = { red: 31, yellow: 33, cyan: 36, green: 32, dim: 2, bold: 1 } as const;

function painter(enabled: boolean) {
  return (style: keyof typeof ANSI, text: string): string => (enabled ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text);
}

const SEVERITY_STYLE: Record<Severity, keyof typeof ANSI> = { error: 'red', warning: 'yellow', info: 'cyan' };

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function table(rows: string[][], rightAligned: Set<number>): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, col) => (rightAligned.has(col) ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function location(f: Finding, root?: string): string {
  return `${f.file === undefined ? '?' : shownPath(f.file, root)}:${f.line ?? 1}:${f.column ?? 1}`;
}

/** A summary table (file, records, errors, warnings), then the findings grouped by file. */
export function formatHuman(result: ValidationResult, options: HumanFormatOptions = {}): string {
  const paint = painter(options.color ?? false);
  const lines: string[] = [];
  const notes: Record<string, string> = { legacy: 'legacy, not yet adopted', temp: 'leftover temp file' };
  const rows = [['file', 'chain', 'records', 'errors', 'warnings', 'note']];
  for (const report of result.files) {
    let errors = 0;
    let warnings = 0;
    for (const f of report.findings) {
      if (f.acknowledged === true) continue;
      if (f.severity === 'error') errors++;
      else if (f.severity === 'warning') warnings++;
    }
    rows.push([
      shownPath(report.file, options.root),
      report.chainId === undefined ? '-' : String(report.chainId),
      String(report.records),
      String(errors),
      String(warnings),
      notes[report.kind] ?? '',
    ]);
  }
  if (result.files.length > 0 && options.table) {
    const [header = [], ...body] = rows;
    lines.push(options.table(header, body), '');
  } else if (result.files.length > 0) {
    const [header, ...body] = table(rows, new Set([1, 2, 3, 4]));
    lines.push(paint('bold', header as string), ...body, '');
  } else {
    lines.push(`no state files in ${shownPath(result.dir, options.root)}`, '');
  }

  let hiddenInfo = 0;
  const groups = new Map<string, Finding[]>();
  for (const f of result.findings) {
    if (f.severity === 'info' && !options.verbose) {
      hiddenInfo++;
      continue;
    }
    const key = f.file ?? '?';
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const [file, findings] of groups) {
    lines.push(paint('bold', shownPath(file, options.root)));
    for (const f of findings)
      lines.push(
        f.acknowledged === true
          ? `  ${location(f, options.root)} ${paint('dim', `${f.code} ${f.severity}, acknowledged`)} ${f.message}`
          : `  ${location(f, options.root)} ${paint(SEVERITY_STYLE[f.severity], f.code)} ${paint('dim', f.severity)} ${f.message}`,
      );
    lines.push('');
  }
  if (result.skipped.length > 0) {
    lines.push(paint('bold', `skipped ${plural(result.skipped.length, 'file')}`));
    for (const s of result.skipped) lines.push(`  ${shownPath(s.file, options.root)}: ${s.reason}`);
    lines.push('');
  }
  if (result.comparison) {
    const c = result.comparison;
    lines.push(
      c.equal
        ? `store comparison: equal (${plural(c.left.count, 'record')}, digest ${c.left.digest.slice(0, 12)})`
        : `store comparison: ${c.onlyLeft.length} only in files, ${c.onlyRight.length} only in the store, ${c.differing.length} differing`,
      '',
    );
  }
  const { errors, warnings, info, files, acknowledged = 0 } = result.summary;
  const counts = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${info} info${acknowledged > 0 ? `, ${acknowledged} acknowledged` : ''} in ${plural(files, 'file')}`;
  lines.push(errors > 0 ? paint('red', `✖ ${counts}`) : warnings > 0 ? paint('yellow', `⚠ ${counts}`) : paint('green', `✔ ${counts}`));
  if (hiddenInfo > 0) lines.push(paint('dim', `(${plural(hiddenInfo, 'info finding')} not listed; --verbose lists them)`));
  return `${lines.join('\n')}\n`;
}

// GitHub's workflow-command escaping: data escapes %, CR, LF; property values also ':' and ','.
const escapeData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (text: string): string => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

const COMMAND: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice' };

export interface GithubFormatOptions {
  /** Paths in annotations are made relative to this folder (the checkout). Default: cwd. */
  root?: string;
  /** Also annotate info findings (as notices). */
  verbose?: boolean;
}

/** GitHub Actions annotations: `::error file=...,line=...,col=...,title=CODE::message`, then a summary. */
export function formatGithub(result: ValidationResult, options: GithubFormatOptions = {}): string {
  const root = options.root ?? process.cwd();
  const lines: string[] = [];
  for (const f of result.findings) {
    if (f.severity === 'info' && !options.verbose) continue;
    const file = f.file === undefined ? undefined : isAbsolute(f.file) ? relative(root, f.file) : f.file;
    const props = [
      ...(file !== undefined ? [`file=${escapeProperty(file.split('\\').join('/'))}`] : []),
      `line=${f.line ?? 1}`,
      `col=${f.column ?? 1}`,
      `title=${escapeProperty(f.code)}`,
    ];
    // An acknowledged finding is a notice: shown, never failing the check.
    const command = f.acknowledged === true ? 'notice' : COMMAND[f.severity];
    lines.push(`::${command} ${props.join(',')}::${escapeData(`${f.code}${f.acknowledged === true ? ' (acknowledged)' : ''}: ${f.message}`)}`);
  }
  const { errors, warnings, info, files, acknowledged = 0 } = result.summary;
  lines.push(
    `deploystate-validate: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${info} info${acknowledged > 0 ? `, ${acknowledged} acknowledged` : ''} in ${plural(files, 'file')}; ${result.skipped.length} skipped`,
  );
  return `${lines.join('\n')}\n`;
}
