// The records earlier commands keep beside the state for later ones (analysis.json,
// chain-verification.json): evidence, never the state itself. Read as there, absent, or damaged
// (named, so the report can say which to run again); a damaged one is never fatal.
import { readFile } from 'node:fs/promises';
import { errnoCode } from '@deploystate/core';

/** A record file that is there but cannot be used: run the command that writes it again. */
export interface UnreadableRecord {
  unreadable: string;
}

/** The record in `file` when `fits` accepts its JSON; null when there is no file; `{ unreadable }` otherwise. */
export async function readCommandRecord<T>(file: string, fits: (value: unknown) => value is T): Promise<T | UnreadableRecord | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? null : { unreadable: file };
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (fits(parsed)) return parsed;
  } catch {
    // Not JSON: unreadable, below.
  }
  return { unreadable: file };
}

/** The record read, or undefined when there is none or it is damaged. */
export function usable<T>(read: T | UnreadableRecord | null): T | undefined {
  return read === null || (typeof read === 'object' && 'unreadable' in (read as object)) ? undefined : (read as T);
}
