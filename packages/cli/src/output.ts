// Everything the CLI prints goes through here: people get colour (on a TTY only), tables and a
// progress bar on stderr; with --json, stdout carries exactly one JSON document and nothing else.
import { stringifyLossless } from '@deploystate/core';
import { stdoutState } from './stdout-state.js';

type Paint = (text: string) => string;

export interface Palette {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

const plain: Paint = (text) => text;
const ansi =
  (open: number, close: number): Paint =>
  (text) =>
    `\u001b[${open}m${text}\u001b[${close}m`;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  return { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39), cyan: ansi(36, 39) };
}

/** Colour only when the stream is a terminal and nobody asked for none. */
export function colourWanted(stream: NodeJS.WriteStream, option: boolean): boolean {
  return option && stream.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
}

// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => text.replace(ANSI_PATTERN, '').length;

/** A plain-text table with aligned columns; right-aligns columns whose cells are all numbers. */
export function table(header: string[], rows: Array<Array<string | number>>, paint: Palette = palette(false)): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = header.map((title, i) => Math.max(visibleLength(title), ...cells.map((row) => visibleLength(row[i] ?? ''))));
  const numeric = header.map(
    (_, i) => cells.length > 0 && cells.every((row) => /^-?[\d.,]+%?$/.test((row[i] ?? '').replace(ANSI_PATTERN, ''))),
  );
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(text)));
    return numeric[i] ? gap + text : text + gap;
  };
  const lines = [paint.bold(header.map(pad).join('  ').trimEnd()), paint.dim(widths.map((w) => '-'.repeat(w)).join('  '))];
  for (const row of cells)
    lines.push(
      header
        .map((_, i) => pad(row[i] ?? '', i))
        .join('  ')
        .trimEnd(),
    );
  return lines.join('\n');
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export interface ProgressUpdate {
  done: number;
  total: number;
  rate?: number;
  etaMs?: number;
  label?: string;
}

/**
 * A progress bar with rate and ETA, redrawn in place on a terminal; elsewhere (CI logs, pipes) one
 * plain line per tenth of the work or per new label, so logs stay short and readable.
 */
export class ProgressBar {
  private lastDecile = -1;
  private lastLabel: string | undefined;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly paint: Palette,
    private readonly title: string,
  ) {}

  update(progress: ProgressUpdate): void {
    const total = Math.max(progress.total, 0);
    const ratio = total === 0 ? 1 : Math.min(1, progress.done / total);
    const rate =
      progress.rate !== undefined && Number.isFinite(progress.rate) ? `${progress.rate.toFixed(progress.rate < 10 ? 1 : 0)} rec/s` : '';
    const eta = progress.etaMs !== undefined && progress.done < total ? `ETA ${formatDuration(progress.etaMs)}` : '';
    const label = progress.label ?? '';
    const counts = `${progress.done}/${total}`;
    const percent = `${Math.floor(ratio * 100)}%`;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round(ratio * width);
      const bar = this.paint.green('#'.repeat(filled)) + this.paint.dim('.'.repeat(width - filled));
      const line = `${this.title} [${bar}] ${percent} ${counts} ${rate} ${eta} ${this.paint.dim(label)}`.replace(/\s+$/, '');
      this.stream.write(`\r\u001b[2K${line}`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(ratio * 10);
    if (decile === this.lastDecile && label === this.lastLabel) return;
    this.lastDecile = decile;
    this.lastLabel = label;
    this.stream.write(`${[this.title, percent, counts, rate, eta, label].filter(Boolean).join(' ')}\n`);
  }

  /** Ends the in-place line so whatever comes next starts on its own line. */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

/** Where a command's result goes: a JSON document for --json, text for a person otherwise. */
export class Output {
  readonly paint: Palette;
  readonly errPaint: Palette;
  /** Whether stdout gets colour (a terminal, no --no-color, no --json). */
  readonly colour: boolean;
  private jsonWritten = false;
  private readonly writeStdout: (text: string) => void;

  constructor(
    readonly json: boolean,
    colour: boolean,
  ) {
    this.colour = !json && colourWanted(process.stdout, colour);
    this.paint = palette(this.colour);
    this.errPaint = palette(colourWanted(process.stderr, colour));
    const stdout = process.stdout;
    this.writeStdout = (text) => {
      stdout.write(text);
    };
    if (json) {
      // Anything a library logs must not spoil the one JSON document on stdout.
      const toStderr = (...args: unknown[]): void => {
        process.stderr.write(`${args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ')}\n`);
      };
      console.log = toStderr;
      console.info = toStderr;
      console.debug = toStderr;
    }
  }

  /** The command's result: the JSON document with --json, or `human()` text. */
  result(document: unknown, human: () => string | string[]): void {
    if (this.json) {
      this.document(document);
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length > 0) this.writeStdout(`${lines.join('\n')}\n`);
  }

  /** Writes the single JSON document (later calls are refused: one document per run). */
  document(document: unknown): void {
    if (this.jsonWritten) throw new Error('a second JSON document was about to be written to stdout');
    this.jsonWritten = true;
    stdoutState.documentWritten = true;
    this.writeStdout(`${stringifyLossless(document, 2)}\n`);
  }

  get wroteDocument(): boolean {
    return this.jsonWritten;
  }

  /** Progress and notes for a person: stderr, always, so stdout stays clean for --json. */
  info(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** Text that is the command's human result (stdout), suppressed with --json. */
  say(line: string): void {
    if (!this.json) this.writeStdout(`${line}\n`);
  }

  progress(title: string): ProgressBar {
    return new ProgressBar(process.stderr, this.errPaint, title);
  }
}
