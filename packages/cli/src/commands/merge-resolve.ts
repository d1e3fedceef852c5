// `deploystate merge-resolve [file]`: finishes a merge the merge driver left with conflicts. Lists
// each conflicting record or key with both versions; `--pick <name>=ours|theirs|base` (repeatable)
// or `--all <side>` takes one whole version per conflict and writes the file in the store's format.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { diffRecords, ErrorCodes, gitRebasing, StateError, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import type { Context } from '../context.js';

type Side = 'base' | 'ours' | 'theirs';
const SIDES: readonly Side[] = ['base', 'ours', 'theirs'];

function sideOf(value: string, flag: string): Side {
  if (!(SIDES as readonly string[]).includes(value))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${flag}: expected ours, theirs or base, got ${JSON.stringify(value)}`);
  return value as Side;
}

function parsePicks(option: unknown): Map<string, Side> {
  const picks = new Map<string, Side>();
  for (const raw of (Array.isArray(option) ? option : option === undefined ? [] : [option]).map(String)) {
    const at = raw.lastIndexOf('=');
    if (at <= 0) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--pick ${raw}: expected <name>=ours|theirs|base`);
    picks.set(raw.slice(0, at), sideOf(raw.slice(at + 1), `--pick ${raw}`));
  }
  return picks;
}

const GIT_MARKER = /^(<{7}|>{7})( |$)/m;

/** Files of the deployments folder that hold a conflict section or git's line markers. */
async function conflictedFiles(dir: string): Promise<string[]> {
  const { readStateFileBytes } = await import('@deploystate/backend-json');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const text = (await readStateFileBytes(join(dir, name)).catch(() => undefined))?.toString('utf8') ?? '';
    if (text.includes('"$conflicts"') || GIT_MARKER.test(text)) out.push(join(dir, name));
  }
  return out;
}

/** Both versions, for a person: a record's differing fields, else each side's value. */
function describe(conflict: { section: string; name: string; base?: unknown; ours?: unknown; theirs?: unknown }): string[] {
  const title = conflict.section === 'keys' ? conflict.name : `${conflict.section}/${conflict.name}`;
  const { ours, theirs } = conflict;
  if (conflict.section === 'records' && ours !== undefined && theirs !== undefined) {
    const fields = diffRecords(ours as DeploymentRecord, theirs as DeploymentRecord);
    return [
      // The base lacks the record: both sides added it, neither changed one.
      `  ${title}: ${conflict.base === undefined ? 'added' : 'changed'} on both sides`,
      ...fields.map(
        (f) => `    ${f.field}: ours ${stringifyLossless(f.left) ?? '(absent)'} | theirs ${stringifyLossless(f.right) ?? '(absent)'}`,
      ),
    ];
  }
  const show = (v: unknown): string => (v === undefined ? '(absent)' : stringifyLossless(v));
  return [`  ${title}:`, `    ours:   ${show(ours)}`, `    theirs: ${show(theirs)}`, `    base:   ${show(conflict.base)}`];
}

type Conflict = { section: string; name: string; base?: unknown; ours?: unknown; theirs?: unknown };

/** A rebase replays your commits onto the upstream branch, so git's sides are the other way round. */
const REBASE_SIDES = '  git is rebasing (git pull --rebase): ours is the upstream branch, theirs is your own commit';

/** With --chain: how each version of each conflicting record fares against its chain (ok, warn, error). */
async function chainVerdicts(
  ctx: Context,
  options: Record<string, unknown>,
  conflicts: readonly Conflict[],
): Promise<Map<Conflict, Partial<Record<Side, string>>>> {
  const out = new Map<Conflict, Partial<Record<Side, string>>>();
  const records = conflicts.filter((c) => c.section === 'records');
  if (records.length === 0) return out;
  const { chainOptions } = await import('./verify-chain.js');
  const { verifyChain } = await import('@deploystate/migrator');
  const check = await chainOptions(ctx, options);
  for (const conflict of records) {
    const verdicts: Partial<Record<Side, string>> = {};
    for (const side of ['ours', 'theirs'] as const) {
      const version = conflict[side];
      if (version === undefined) continue;
      const report = await verifyChain([version as DeploymentRecord], check);
      const result = report.records[0];
      const failed = result?.checks.filter((c) => c.status === 'error').map((c) => c.name) ?? [];
      verdicts[side] = `${result?.status ?? 'not-checked'}${failed.length > 0 ? ` (${failed.join(', ')})` : ''}`;
    }
    out.set(conflict, verdicts);
  }
  return out;
}

type BackendJson = typeof import('@deploystate/backend-json');
type FileRead =
  { markers: true } | { markers: false; conflicts: Conflict[]; result: ReturnType<BackendJson['resolveConflicts']> | undefined };

/**
 * Reads the file and, with `decide`, writes its resolution: read, resolved and written under the
 * lock the JSON store writes the file under, so a resolve or a write running at the same time is
 * never lost (the second one starts from the file the first left). Listing only reads.
 */
async function resolveFile(
  file: string,
  decide: Omit<Parameters<BackendJson['resolveConflicts']>[1], 'file'> | undefined,
): Promise<FileRead> {
  const { readConflicts, readStateFileBytes, resolveConflicts, withFileLock } = await import('@deploystate/backend-json');
  const step = async (): Promise<FileRead> => {
    // Never through a link (NOT_A_FILE), and written back by rename: a link there is never written through.
    const bytes = await readStateFileBytes(file);
    if (bytes === undefined) throw new StateError(ErrorCodes.STORE_NOT_FOUND, `cannot read ${file}: no such file`, { file });
    const text = bytes.toString('utf8');
    if (GIT_MARKER.test(text)) return { markers: true };
    const conflicts = readConflicts(text, file);
    const result = decide && conflicts.length > 0 ? resolveConflicts(text, { file, ...decide }) : undefined;
    if (result && result.resolved.length > 0) await writeFileDurable(file, result.text);
    return { markers: false, conflicts, result };
  };
  return decide ? withFileLock(file, step) : step();
}

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const picks = parsePicks(options.pick);
  const all = options.all === undefined ? undefined : sideOf(String(options.all), '--all');
  const files = args[0] !== undefined ? [join(ctx.cwd, String(args[0]))] : await conflictedFiles(ctx.paths.deployments);
  const registry = ctx.registry();
  const rebasing = gitRebasing(ctx.paths.deployments);
  const report: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  let open = 0;
  for (const file of files) {
    const shown = relative(ctx.cwd, file) || file;
    const decide = picks.size > 0 || all !== undefined;
    const read = await resolveFile(file, decide ? { registry, picks, ...(all !== undefined && { all }) } : undefined);
    if (read.markers) {
      // A line merge ran instead of the driver: redo this file's merge with it.
      open++;
      report.push({ file: shown, markers: true, resolved: [], open: [] });
      lines.push(`${shown}: git line-conflict markers (merged without the deploystate driver)`);
      lines.push(`  redo it by record: git checkout --merge -- ${shown} (with the driver configured; see deploystate init)`);
      continue;
    }
    const { conflicts, result } = read;
    if (conflicts.length === 0) {
      report.push({ file: shown, resolved: [], open: [] });
      lines.push(`${shown}: no conflicts`);
      continue;
    }
    const left = result ? result.open : conflicts;
    open += left.length;
    const onChain = options.chain === true ? await chainVerdicts(ctx, options, left) : new Map<Conflict, Partial<Record<Side, string>>>();
    report.push({
      file: shown,
      resolved: (result?.resolved ?? []).map((c) => ({ section: c.section, name: c.name, took: c.took })),
      open: left.map((c) => ({
        section: c.section,
        name: c.name,
        ...('base' in c && { base: c.base }),
        ours: c.ours,
        theirs: c.theirs,
        ...(onChain.has(c) && { chain: onChain.get(c) }),
      })),
    });
    for (const c of result?.resolved ?? [])
      lines.push(`${shown}: ${c.section === 'keys' ? c.name : `${c.section}/${c.name}`}: took ${c.took}`);
    if (left.length > 0) {
      lines.push(`${shown}: ${left.length} conflict(s) to resolve`);
      for (const c of left) {
        lines.push(...describe(c));
        const verdicts = onChain.get(c);
        if (verdicts) lines.push(`    on chain: ours ${verdicts.ours ?? '(absent)'} | theirs ${verdicts.theirs ?? '(absent)'}`);
      }
      lines.push(`  pick one whole version per conflict: deploystate merge-resolve ${shown} --pick <name>=ours|theirs`);
      if (rebasing) lines.push(REBASE_SIDES);
    } else if (result) lines.push(`${shown}: resolved; next: git add ${shown}`);
  }
  if (files.length === 0) lines.push(`no conflicted files in ${ctx.paths.deployments}`);
  ctx.exitCode = open > 0 ? 1 : 0;
  ctx.out.result({ files: report, open }, () => lines);
}
