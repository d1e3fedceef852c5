// One journal line read back: the entry it holds, or torn (a crash mid-append), with a line
// glued to a torn fragment recovered from its own start.
import { parseLossless } from '@deploystate/core';
import type { JournalEntry } from './journal.js';

const TYPES = new Set(['intent', 'outcome', 'shadow-mismatch', 'event']);
/** Every entry is printed with `type` first, so a line glued to a torn fragment can be found again. */
const ENTRY_START = '{"type":"';

function asEntry(value: unknown): JournalEntry | null {
  return typeof value === 'object' && value !== null && TYPES.has((value as { type?: unknown }).type as string)
    ? (value as JournalEntry)
    : null;
}

/**
 * One line: the entry, or null and torn. A process that crashed mid-append can leave a fragment
 * that the next writer's line is glued to: the entry is then the suffix that parses on its own.
 */
export function parseLine(line: string): { entry: JournalEntry | null; torn: boolean } {
  if (line.trim() === '') return { entry: null, torn: false };
  try {
    return { entry: asEntry(parseLossless(line)), torn: false };
  } catch {
    for (let at = line.indexOf(ENTRY_START, 1); at > 0; at = line.indexOf(ENTRY_START, at + 1)) {
      try {
        const entry = asEntry(parseLossless(line.slice(at)));
        if (entry) return { entry, torn: true };
      } catch {
        // not this one
      }
    }
    return { entry: null, torn: true };
  }
}

/** What a journal outcome (and the drain's failure record) keeps of an error: its code, when it has one, and its message. */
export function errorSummary(error: unknown): { code?: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return { ...(typeof code === 'string' && { code }), message: error instanceof Error ? error.message : String(error) };
}
