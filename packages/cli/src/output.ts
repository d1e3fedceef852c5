// Everything the CLI prints goes through here: people get colour (on a TTY only), tables and a
// progress bar on stderr; with --json, stdout carries exactly one JSON document and nothing else.
import { ANSI_PATTERN, visibleLength, wrapRows, wrapToWidth } from '@deploystate/core';
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

/**
 * Whether to colour a stream: never with --no-color; FORCE_COLOR (non-empty, not "0") forces it
 * even off a terminal, and FORCE_COLOR=0 turns it off; NO_COLOR (non-empty, as no-color.org says)
 * turns it off; otherwise only on a terminal that is not "dumb".
 */
export function colourWanted(stream: { isTTY?: boolean }, option: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!option) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}


/** The width of stdout when it is a terminal (tables fit it); undefined elsewhere (a pipe, a file). */
export function stdoutColumns(): number | undefined {
  return process.stdout.isTTY === true && process.stdout.columns > 0 ? process.stdout.columns : undefined;
}

const GAP = 2;
/** A fitted table never shrinks a column below this (or its header), so a wrapped cell stays readable. */
const MIN_SHRUNK_COLUMN = 12;

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * Column widths for a table `columns` wide: the widest columns shrink first, to a common cap, none
 * below its floor; undefined when even the floors do not fit.
 */
export function fitColumnWidths(widths: number[], floors: number[], columns: number): number[] | undefined {
  const room = columns - GAP * Math.max(0, widths.length - 1);
  if (sum(widths) <= room) return widths;
  if (sum(floors) > room) return undefined;
  const capped = (cap: number): number[] => widths.map((w, i) => Math.min(w, Math.max(cap, floors[i] ?? 0)));
  let cap = Math.max(...widths);
  while (sum(capped(cap)) > room) cap--;
  const fitted = capped(cap);
  // The cap moves in whole columns: hand what is left back to the shrunk ones.
  let spare = room - sum(fitted);
  for (let i = 0; i < fitted.length && spare > 0; i++)
    if ((fitted[i] ?? 0) < (widths[i] ?? 0)) {
      fitted[i] = (fitted[i] ?? 0) + 1;
      spare--;
    }
  return fitted;
}

/**
 * A plain-text table with aligned columns; right-aligns columns whose cells are all numbers. On a
 * terminal narrower than the table (`columns`), the widest columns shrink and their cells wrap
 * inside them; when even that does not fit, each row becomes a block of "header  value" lines.
 */
export function table(
  header: string[],
  rows: Array<Array<string | number>>,
  paint: Palette = palette(false),
  columns: number | undefined = stdoutColumns(),
): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const natural = header.map((title, i) => Math.max(visibleLength(title), ...cells.map((row) => visibleLength(row[i] ?? ''))));
  const floors = natural.map((w, i) => Math.min(w, Math.max(visibleLength(header[i] ?? ''), MIN_SHRUNK_COLUMN)));
  const widths = columns === undefined ? natural : fitColumnWidths(natural, floors, columns);
  // A cell shrunk below a word it holds (a digest, a key, a path) would break that word across rows,
  // which no one can copy or compare: one block per row instead, where it has a row of its own.
  if (widths === undefined || cells.some((row) => row.some((cell, i) => longestWord(cell) > (widths[i] ?? 0))))
    return recordBlocks(header, cells, paint, columns ?? 0);
  const numeric = header.map(
    (_, i) => cells.length > 0 && cells.every((row) => /^-?[\d.,]+%?$/.test((row[i] ?? '').replace(ANSI_PATTERN, ''))),
  );
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(text)));
    return numeric[i] ? gap + text : text + gap;
  };
  /** A row's physical lines: each cell wrapped inside its column, the others blank below it. */
  const physical = (row: string[]): string[] => {
    const parts = header.map((_, i) => wrapRows(row[i] ?? '', widths[i] ?? 0, ''));
    const height = Math.max(1, ...parts.map((p) => p.length));
    return Array.from({ length: height }, (_, line) =>
      header
        .map((_, i) => pad(parts[i]?.[line] ?? '', i))
        .join(' '.repeat(GAP))
        .trimEnd(),
    );
  };
  const lines = [
    ...physical(header).map((line) => paint.bold(line)),
    paint.dim(widths.map((w) => '-'.repeat(w)).join(' '.repeat(GAP))),
  ];
  for (const row of cells) lines.push(...physical(row));
  return lines.join('\n');
}

/** A table too wide for `columns` even shrunk: one block per row, a "header  value" line per cell. */
function recordBlocks(header: string[], cells: string[][], paint: Palette, columns: number): string {
  const label = Math.max(...header.map(visibleLength)) + GAP;
  const room = Math.max(MIN_SHRUNK_COLUMN, columns - label);
  const blocks = cells.map((row) =>
    header
      .flatMap((title, i) => {
        const value = row[i] ?? '';
        // A word wider than the room beside the label (a 64-character digest at 70 columns) goes under
        // it, indented by two, so it stays whole where the terminal's width holds it.
        if (longestWord(value) > room && longestWord(value) <= columns - GAP)
          return [paint.bold(title), ...wrapRows(value, columns - GAP, '').map((line) => ' '.repeat(GAP) + line)];
        const [first = '', ...rest] = wrapRows(value, room, '');
        return [`${paint.bold(title.padEnd(label))}${first}`, ...rest.map((line) => ' '.repeat(label) + line)];
      })
      .join('\n'),
  );
  return blocks.join('\n\n');
}

/** The visible width of a cell's longest run a row can only hold whole: no space in it, nor a path's slash to end a row after. */
function longestWord(cell: string): number {
  let longest = 0;
  for (const word of cell.replace(ANSI_PATTERN, '').split(/ |(?<=\/)/)) longest = Math.max(longest, visibleLength(word));
  return longest;
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
  /** False when nothing counted the work beforehand: the bar shows a count and a rate, no percentage. */
  totalKnown?: boolean;
  rate?: number;
  etaMs?: number;
  label?: string;
}

/** Cuts a line to `width` visible characters (colour codes kept whole), marking the cut with "…". */
export function fitToWidth(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  const parts = line.split(/(\u001b\[[0-9;]*m)/);
  let out = '';
  let room = Math.max(0, width - 1);
  for (const part of parts) {
    if (part.startsWith('\u001b[')) out += part;
    else {
      out += [...part].slice(0, room).join('');
      room = Math.max(0, room - [...part].length);
    }
  }
  return `${out}…${line.includes('\u001b[') ? '\u001b[0m' : ''}`;
}


/**
 * Text for a stream: on a terminal every line wrapped to its width, elsewhere as it is, but for a
 * line that is one command and nothing else (init's `git config` lines): it goes out without its
 * backticks, so the line pastes as it is (bash would run a backticked command in a substitution).
 * On a terminal it is wrapped as a quoted command first, each broken row ending in ` \`.
 */
export function fitToTerminal(text: string, stream: { isTTY?: boolean; columns?: number }): string {
  const columns = stream.isTTY === true && stream.columns ? stream.columns : undefined;
  if (columns === undefined && !text.includes('`')) return text;
  return text
    .split('\n')
    .flatMap((line) => {
      const rows = columns === undefined ? [line] : wrapToWidth(line, columns, continuationIndent(line, columns));
      return WHOLE_COMMAND.test(line) ? withoutCommandQuotes(rows) : rows;
    })
    .join('\n');
}

/** A line that is one backticked command, indented, with no colour. */
const WHOLE_COMMAND = /^ *`[^`\u001b]+`$/;

/** The rows of a WHOLE_COMMAND line without its two backticks (the first row's first, the last row's last). */
function withoutCommandQuotes(rows: string[]): string[] {
  const out = [...rows];
  out[0] = (out[0] as string).replace('`', '');
  const last = out.length - 1;
  out[last] = (out[last] as string).replace(/`$/, '');
  return out;
}

/**
 * Where a wrapped line's rows go on: under its value (a `status` row's `leveldb      /path`), under
 * the text of a list item (`  - switch ...`), else four columns in (two past a line's own indent).
 * Never more than a third of the width, so a wide label leaves its value room.
 */
export function continuationIndent(line: string, columns: number): string {
  const plain = line.replace(/\u001b\[[0-9;]*m/g, '');
  const lead = plain.length - plain.trimStart().length;
  const label = /^(\s*\S+(?: \S+)?\s{2,})\S/.exec(plain)?.[1]?.length;
  const item = /^(\s*[-•] )\S/.exec(plain)?.[1]?.length;
  const at = label ?? item ?? Math.max(4, lead + 2);
  return ' '.repeat(Math.min(at, Math.floor(columns / 3)));
}

const fitted = new WeakSet<object>();

/**
 * On a terminal, every whole line that other code writes to the stream (a library's warning, Node's
 * own) is wrapped to its width too, as this CLI's own output is. Chunks that redraw in place
 * (carriage returns) or are not whole lines pass as they are. Installed once per stream.
 */
export function fitLinesWrittenTo(stream: NodeJS.WriteStream): void {
  if (stream.isTTY !== true || fitted.has(stream)) return;
  fitted.add(stream);
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean =>
    write(typeof chunk === 'string' && chunk.endsWith('\n') && !chunk.includes('\r') ? fitToTerminal(chunk, stream) : chunk, ...rest)) as typeof stream.write;
}

/** At most this many cells of a progress row's label. */
const LABEL_CELLS = 24;

const formatRate = (rate: number | undefined): string =>
  rate !== undefined && Number.isFinite(rate) ? `${rate.toFixed(rate < 10 ? 1 : 0)} rec/s` : '';

/**
 * A progress row with rate and ETA, redrawn in place on a terminal and cut to its width (so it
 * stays one row at any width); elsewhere (CI logs, pipes) one plain line per tenth of the work or
 * per new label. An unknown total shows as a count and a rate, never a percentage.
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

  /** The row as text for a terminal `columns` wide (exported through `render` for tests). */
  render(progress: ProgressUpdate, columns: number): string {
    const known = progress.totalKnown !== false && progress.total > 0;
    const rate = formatRate(progress.rate);
    // The label (the file being written) keeps up to LABEL_CELLS cells, cut at its start: its end names it.
    const labelText = progress.label ?? '';
    const shownLabel = labelText.length > LABEL_CELLS ? `…${labelText.slice(labelText.length - LABEL_CELLS + 1)}` : labelText;
    const label = this.paint.dim(shownLabel);
    if (!known) return fitToWidth(`${this.title} ${progress.done} records ${rate} ${label}`.replace(/\s+$/, ''), columns - 1);
    const total = progress.total;
    const ratio = Math.min(1, progress.done / total);
    const eta = progress.etaMs !== undefined && progress.done < total ? `ETA ${formatDuration(progress.etaMs)}` : '';
    const text = `${Math.floor(ratio * 100)}% ${progress.done}/${total} ${rate} ${eta}`.replace(/\s+/g, ' ').trim();
    // The bar takes what is left of the row after the words and the label, between 10 and 30 cells.
    const room = columns - 1 - visibleLength(`${this.title} [] ${text} ${shownLabel}`);
    const width = Math.max(0, Math.min(30, room - 1));
    const bar = width >= 10 ? `[${this.paint.green('#'.repeat(Math.round(ratio * width)))}${this.paint.dim('.'.repeat(width - Math.round(ratio * width)))}] ` : '';
    return fitToWidth(`${this.title} ${bar}${text} ${label}`.replace(/\s+$/, ''), columns - 1);
  }

  update(progress: ProgressUpdate): void {
    // After Ctrl-C a redraw would leave a row with no newline for the interrupt's message to run on from.
    if (stdoutState.interrupted === true) return;
    if (this.stream.isTTY) {
      // Three columns spare: the last cell (a terminal wraps on it) and the "^C" the terminal echoes
      // on Ctrl-C, so an interrupted row still fits.
      const columns = (this.stream.columns && this.stream.columns > 0 ? this.stream.columns : 80) - 2;
      // Carriage return, clear the row, draw: the row is updated in place and never wraps.
      this.stream.write(`\r\u001b[2K${this.render(progress, columns)}`);
      this.drawn = true;
      return;
    }
    const known = progress.totalKnown !== false && progress.total > 0;
    const label = progress.label ?? '';
    const decile = known ? Math.floor(Math.min(1, progress.done / progress.total) * 10) : -1;
    if (decile === this.lastDecile && label === this.lastLabel) return;
    this.lastDecile = decile;
    this.lastLabel = label;
    // Each line is read on its own in a log: the count says it is the whole copy's so far, the file where it is.
    const counts = known ? `${Math.floor(Math.min(1, progress.done / progress.total) * 100)}% ${progress.done}/${progress.total}` : `${progress.done} records so far`;
    const parts = [counts, formatRate(progress.rate), label === '' ? '' : `at ${label}`].filter(Boolean);
    this.stream.write(`${this.title} ${parts.join(', ')}\n`);
  }

  /** Ends the in-place row so whatever comes next starts on its own line. */
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
    fitLinesWrittenTo(process.stderr);
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
    if (lines.length > 0) this.writeStdout(`${fitToTerminal(lines.join('\n'), process.stdout)}\n`);
  }

  /**
   * Hands the command's result to the run's one JSON document: bin.ts wraps it in the envelope
   * (`data`) and writes it when the command ends (later calls are refused: one result per run).
   */
  document(document: unknown): void {
    if (this.jsonWritten) throw new Error('a second JSON document was about to be written to stdout');
    this.jsonWritten = true;
    stdoutState.hasPayload = true;
    stdoutState.payload = document;
  }

  get wroteDocument(): boolean {
    return this.jsonWritten;
  }

  /** Progress and notes for a person: stderr, always, so stdout stays clean for --json. */
  info(line: string): void {
    process.stderr.write(`${fitToTerminal(line, process.stderr)}\n`);
  }

  /** Text that is the command's human result (stdout), suppressed with --json. */
  say(line: string): void {
    if (!this.json) this.writeStdout(`${fitToTerminal(line, process.stdout)}\n`);
  }

  progress(title: string): ProgressBar {
    return new ProgressBar(process.stderr, this.errPaint, title);
  }
}
