// Text for a terminal: its visible width (colour codes not counted) and lines wrapped to a width,
// one rule for every package that prints to one (the CLI's output and help, the bench's report and
// progress): a row ends at a space where it has one, else after a path's slash, else inside a word
// longer than a whole row, so every row fits.

/** An ANSI colour code (SGR), as the CLI's palette writes them. */
// eslint-disable-next-line no-control-regex
export const ANSI_PATTERN = /\u001b\[[0-9;]*m/g;

/** The columns `text` takes on a terminal: colour codes take none. */
export function visibleLength(text: string): number {
  return text.replace(ANSI_PATTERN, '').length;
}

/**
 * Wraps a line for a terminal `width` columns wide: at a space where there is one, else after a
 * path's slash, else mid-word (a digest), continuation rows indented. Colour codes are kept whole and never counted.
 */
export function wrapToWidth(line: string, width: number, indent = '    '): string[] {
  if (width < 20) return [line];
  return wrapRows(line, width, indent);
}

interface QuoteState {
  /** Inside a command quoted in backticks. */
  quoted: boolean;
  /** Inside that command, the shell string quote it is in ('' when none). */
  stringQuote: string;
}

function nextQuoteState({ quoted, stringQuote }: QuoteState, c: string): QuoteState {
  if (c === '`') return { quoted: !quoted, stringQuote: '' };
  if (quoted && (c === '"' || c === "'") && (stringQuote === '' || stringQuote === c)) return { quoted, stringQuote: stringQuote === c ? '' : c };
  return { quoted, stringQuote };
}

/**
 * wrapToWidth at any width (a table cell's). Every row fits the width, and a value stays whole
 * wherever it can: a row ends at its last space outside a `quoted` command, else its last space,
 * else after a path's last slash, and only a word longer than a whole row (a digest at 40 columns)
 * is broken inside. So a digest, a backup's name or a command to paste goes to a row of its own
 * rather than being split. A quoted command longer than a row is broken at a space outside its
 * string quotes where it has one, the row ending in ` \`: pasted, the rows are still one command.
 */
export function wrapRows(line: string, width: number, indent: string): string[] {
  if (visibleLength(line) <= width) return [line];
  const rows: string[] = [];
  let rest = line;
  let prefix = '';
  // Where the row starts: inside a quoted command (a row before opened it), and in which of its string quotes.
  let at: QuoteState = { quoted: false, stringQuote: '' };
  while (visibleLength(prefix + rest) > width) {
    const room = width - prefix.length;
    let visible = 0;
    let i = 0;
    let { quoted, stringQuote } = at;
    let text = false;
    let lastSpace = -1;
    // A break inside a quoted command ends its row with " \\" (two more columns): the last space
    // that leaves room for it, outside the command's string quotes, else inside double quotes.
    let lastQuotedSpace = -1;
    let lastStringSpace = -1;
    let lastSlash = -1;
    while (i < rest.length && visible < room) {
      const code = /^\u001b\[[0-9;]*m/.exec(rest.slice(i));
      if (code) {
        i += code[0].length;
        continue;
      }
      const c = rest[i] as string;
      ({ quoted, stringQuote } = nextQuoteState({ quoted, stringQuote }, c));
      // The row's leading indentation is no place to break (it would leave a blank row).
      if (c !== ' ') text = true;
      if (c === ' ' && text) {
        if (!quoted) lastSpace = i;
        else if (visible + 2 <= room && stringQuote === '') lastQuotedSpace = i;
        else if (visible + 2 <= room && stringQuote === '"') lastStringSpace = i;
      }
      // A path with no space to break at breaks after a folder's slash, not inside a name.
      if (c === '/' && visible > 0) lastSlash = i + 1;
      visible++;
      i++;
    }
    // The space right after the row (the next word starts a row of its own) breaks there too.
    if (rest[i] === ' ' && !quoted) lastSpace = i;
    const inCommand = lastQuotedSpace > 0 ? lastQuotedSpace : lastStringSpace;
    const cut = lastSpace > 0 ? lastSpace : inCommand > 0 ? inCommand : lastSlash > 0 ? lastSlash : i;
    rows.push(prefix + rest.slice(0, cut).trimEnd() + (cut === inCommand ? ' \\' : ''));
    for (const c of rest.slice(0, cut)) at = nextQuoteState(at, c);
    rest = rest.slice(cut).replace(/^ +/, '');
    prefix = indent;
  }
  rows.push(prefix + rest);
  return rows;
}

/**
 * `text` wrapped to `width` columns at any width, every row (the first too) indented by `indent`
 * and counted with it: a paragraph set in from the margin. Empty text is no rows.
 */
export function wrapIndented(text: string, width: number, indent: string): string[] {
  if (text === '') return [];
  return wrapRows(text, Math.max(1, width - visibleLength(indent)), '').map((row) => indent + row);
}
