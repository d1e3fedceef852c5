// An unfinished merge in a state file: git's line-conflict markers (the text does not parse; the
// records near each hunk are named), or the `$conflicts` section the deploystate merge driver
// leaves for `deploystate merge-resolve` (each conflicting record or key is named).
import { CONFLICTS_KEY, readConflicts } from '@deploystate/backend-json';
import { finding, type Finding } from '@deploystate/core';

const RECORD_LINE = /^ {4}("(?:[^"\\]|\\.)*"): \{\s*$/;

/** One MERGE_CONFLICT finding per hunk of git markers, naming the records it touches; none when there are no markers. */
export function markerFindings(text: string, file: string): Finding[] {
  const lines = text.split('\n');
  const out: Finding[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^<{7}( |$)/.test(lines[i] as string)) continue;
    const names = new Set<string>();
    for (let j = i - 1; j >= 0; j--) {
      const match = RECORD_LINE.exec(lines[j] as string);
      if (match) {
        names.add(JSON.parse(match[1] as string) as string);
        break;
      }
    }
    let end = i + 1;
    for (; end < lines.length && !/^>{7}( |$)/.test(lines[end] as string); end++) {
      const match = RECORD_LINE.exec(lines[end] as string);
      if (match) names.add(JSON.parse(match[1] as string) as string);
    }
    const named = names.size > 0 ? ` around record(s) ${[...names].join(', ')}` : '';
    out.push(
      finding('MERGE_CONFLICT', `git conflict markers (lines ${i + 1}-${end + 1})${named}: a merge was left unfinished`, {
        file,
        pointer: '',
        line: i + 1,
        column: 1,
      }),
    );
    i = end;
  }
  return out;
}

/** One finding per unresolved conflict in the merge driver's `$conflicts` section. */
export function conflictSectionFindings(
  text: string,
  file: string,
  chainId: number | undefined,
  add: (message: string, pointer: string, where: Partial<Finding>) => void,
): void {
  let conflicts;
  try {
    conflicts = readConflicts(text, file);
  } catch {
    add(`"${CONFLICTS_KEY}" is not an object of conflicts`, `/${CONFLICTS_KEY}`, {});
    return;
  }
  for (const c of conflicts) {
    const escaped = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
    const where = c.section === 'records' && chainId !== undefined ? { key: `${chainId}-${c.name}`, chainId, contractName: c.name } : {};
    add(
      `unresolved merge conflict in ${c.section === 'keys' ? `key ${c.name}` : `${c.section}/${c.name}`}: both versions are kept; run deploystate merge-resolve`,
      `/${escaped(CONFLICTS_KEY)}/${escaped(c.section)}/${escaped(c.name)}`,
      where,
    );
  }
}
