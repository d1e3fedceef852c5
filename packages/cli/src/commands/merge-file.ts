// `deploystate merge-file %O %A %B %P`: git's merge driver for deployments/<network>.json. Merges
// by record (never by line), writes the result over %A in the store's format and exits 1 when a
// true conflict remains (kept in the file's `$conflicts` section), so git stops. A file that is not
// a state file gets git's own line merge; so does one with a side naming a key twice, and git stops.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { ErrorCodes, isStateError, StateError } from '@deploystate/core';
import type { Context } from '../context.js';

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const [base, ours, theirs, path] = args.map((a) => (a === undefined ? undefined : String(a)));
  if (base === undefined || ours === undefined || theirs === undefined)
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'merge-file expects <base> <ours> <theirs> [path] (git passes %O %A %B %P)');
  const file = path ?? ours;
  const texts = { base: await readFile(base, 'utf8'), ours: await readFile(ours, 'utf8'), theirs: await readFile(theirs, 'utf8') };
  const { isStateFileMerge, mergeStateFiles } = await import('@deploystate/backend-json');
  const registry = ctx.registry();
  if (!isStateFileMerge(texts, { file, registry })) {
    // Not a state file (or a side that does not parse): git's line merge, in place, markers and all.
    const clean = mergeLines(base, ours, theirs, file);
    ctx.exitCode = clean ? 0 : 1;
    ctx.out.result({ file, merge: 'lines', clean }, () =>
      clean ? `${file}: merged line by line (not a state file)` : `${file}: line conflicts (not a state file)`,
    );
    return;
  }
  let result: ReturnType<typeof mergeStateFiles>;
  try {
    result = mergeStateFiles(texts, { file, registry });
  } catch (error) {
    if (!isStateError(error, ErrorCodes.DUPLICATE_KEY)) throw error;
    // A side names a key twice: a merge by record would drop one of its values. The line merge
    // keeps every line of both sides, and the merge stops, clean or not, until the user keeps one.
    const clean = mergeLines(base, ours, theirs, file);
    ctx.exitCode = 1;
    ctx.out.result({ file, merge: 'lines', clean: false, duplicate: error.toJSON() }, () => [
      `CONFLICT ${error.message}`,
      `  merged line by line instead, every value kept${clean ? '' : ' (markers where the sides differ)'}: remove one of the two entries, then git add ${file}`,
    ]);
    return;
  }
  await writeFile(ours, result.text);
  ctx.exitCode = result.conflicts.length > 0 ? 1 : 0;
  const lines = [
    `${file}: merged by record${result.records.fromTheirs.length > 0 ? `; from theirs: ${result.records.fromTheirs.join(', ')}` : ''}${
      result.records.mergedByField.length > 0 ? `; merged by field: ${result.records.mergedByField.join(', ')}` : ''
    }`,
    ...result.conflicts.map(
      (c) => `  CONFLICT ${c.section === 'keys' ? c.name : `${c.section}/${c.name}`}: both versions kept in "$conflicts"`,
    ),
    ...(result.conflicts.length > 0
      ? [`  finish with: deploystate merge-resolve ${file} --pick <name>=ours|theirs, then git add ${file}`]
      : []),
  ];
  ctx.out.result(
    {
      file,
      merge: 'records',
      clean: result.conflicts.length === 0,
      chainId: result.chainId,
      records: result.records,
      conflicts: result.conflicts.map((c) => ({ section: c.section, name: c.name })),
    },
    () => lines,
  );
}

/** git's line merge of the three files, in place over `ours`, markers and all: true when clean. */
function mergeLines(base: string, ours: string, theirs: string, file: string): boolean {
  const merged = spawnSync('git', ['merge-file', '-L', 'ours', '-L', 'base', '-L', 'theirs', ours, base, theirs], { encoding: 'utf8' });
  if (merged.error) throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot run git merge-file: ${merged.error.message}`, { file });
  return merged.status === 0;
}
