// `--help` laid out for the terminal it is read on: cac pads every list (commands, options, exit
// codes) into two columns at the longest name, which runs past a narrow terminal, where the
// terminal would cut words. Each list is wrapped inside its description column, or, when that
// column would be too narrow to read, each description goes under its name.
import { wrapIndented, wrapToWidth } from '@deploystate/core';

/** Narrower than this, a description column is stacked under the names instead. */
const MIN_DESCRIPTION_COLUMNS = 30;
/** How far a stacked description is indented past its name. */
const STACKED_INDENT = 4;

/** A row of a two-column list: indent, name, and the description after a gap of two spaces or more. */
const ROW = /^( +)(\S(?:.*?\S)?)( {2,})(\S.*)$/;

/** Lines that fit in `width`, each starting at `indent` columns. */
const wrapAt = (text: string, indent: number, width: number): string[] => wrapIndented(text, width, ' '.repeat(indent));

function layoutBlock(lines: string[], columns: number): string[] {
  const rows = lines.map((line) => ROW.exec(line));
  if (lines.every((line) => line.length <= columns)) return lines;
  // The description column of the list: where the padded descriptions start.
  const column = Math.max(0, ...rows.map((row) => (row ? row[1]!.length + row[2]!.length + row[3]!.length : 0)));
  const stacked = columns - column < MIN_DESCRIPTION_COLUMNS;
  return lines.flatMap((line, i) => {
    const row = rows[i];
    // Other lines (an example, a title) go on under themselves, a little further in.
    if (!row) return wrapToWidth(line, columns, ' '.repeat(line.length - line.trimStart().length + STACKED_INDENT));
    const [, indent = '', name = '', , description = ''] = row;
    if (stacked) return [...wrapAt(name, indent.length, columns), ...wrapAt(description, indent.length + STACKED_INDENT, columns)];
    const [first = '', ...rest] = wrapAt(description, column, columns);
    return [`${indent}${name.padEnd(column - indent.length)}${first.slice(column)}`, ...rest];
  });
}

/** cac's help text for a terminal `columns` wide (undefined: not a terminal, the text as it is). */
export function layoutHelp(text: string, columns: number | undefined): string {
  const trimmed = text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  if (columns === undefined || columns <= 0) return trimmed;
  return trimmed
    .split('\n\n')
    .map((block) => layoutBlock(block.split('\n'), columns).join('\n'))
    .join('\n\n');
}
