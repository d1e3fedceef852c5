// Whether a record the store wrote left its network file, or was replaced there, by a commit (a
// teammate's delete or update, pulled through git) rather than by a rewrite that lost it. A lost
// write was never committed: git (a merge, a checkout, a stash) or another program replaced the
// file before any commit held the record. So the store's record counts as changed on purpose only
// when the file at HEAD holds for the key exactly what the work tree holds (nothing, or the same
// record) and a commit HEAD descends from held exactly the record the store wrote: HEAD moved past it.
import { execFile } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest } from '@deploystate/core';

/** How many commits that touched the file, newest first, are looked through for the store's record. */
export const HISTORY_DEPTH = 16;
const GIT_TIMEOUT_MS = 5_000;
// A version of the file larger than this is not read (the record counts as not found: the finding stays).
const MAX_VERSION_BYTES = 256 * 1024 * 1024;

/** Per file: the newest commit that touched it when last looked at, and what was found then. */
const looked = new Map<string, { tip: string; verdicts: Map<string, boolean> }>();

/** A key the store wrote that its file no longer holds as written. */
export interface FileNow {
  /** canonicalDigest of the record the store wrote. */
  written: string;
  /** canonicalDigest of the record the work tree's file holds now; undefined when it holds none. */
  now: string | undefined;
}

/**
 * Of `wanted` (by contract name), the names a commit changed: the file at HEAD holds for them
 * exactly what the work tree holds now, and a commit among the last HISTORY_DEPTH that touched the
 * file held exactly the record the store wrote. Outside a repository, without git, or on any
 * failure of git: none (the finding stands, as it would without this).
 */
export async function committedChanges(file: string, chainId: number, wanted: ReadonlyMap<string, FileNow>): Promise<Set<string>> {
  const changed = new Set<string>();
  if (wanted.size === 0) return changed;
  const cwd = dirname(file);
  const path = `./${basename(file)}`;
  const log = await git(cwd, ['log', `-n${HISTORY_DEPTH}`, '--format=%H', '--no-renames', '--raw', '--no-abbrev', 'HEAD', '--', path]);
  if (log === undefined) return changed;
  const { commits, blobs } = parseLog(log);
  const tip = commits[0];
  if (tip === undefined) return changed; // the file was never committed
  let memo = looked.get(file);
  if (memo?.tip !== tip) looked.set(file, (memo = { tip, verdicts: new Map() }));
  const verdictKey = (name: string, state: FileNow): string => `${name}\0${state.written}\0${state.now ?? ''}`;
  const open = new Map<string, FileNow>();
  for (const [name, state] of wanted) {
    const verdict = memo.verdicts.get(verdictKey(name, state));
    if (verdict === true) changed.add(name);
    else if (verdict === undefined) open.set(name, state);
  }
  if (open.size === 0) return changed;
  const atHead = await versionAt(cwd, `HEAD:${path}`, file, chainId);
  if (atHead === undefined) return changed;
  // A key whose file at HEAD holds something else than the work tree was not changed by a commit: the work tree lost it.
  for (const [name, state] of [...open]) {
    if (atHead.get(name) !== state.now) {
      memo.verdicts.set(verdictKey(name, state), false);
      open.delete(name);
    }
  }
  for (const blob of blobs) {
    if (open.size === 0) break;
    const version = await versionAt(cwd, blob, file, chainId);
    if (version === undefined) continue;
    for (const [name, state] of [...open]) {
      if (version.get(name) !== state.written) continue;
      memo.verdicts.set(verdictKey(name, state), true);
      changed.add(name);
      open.delete(name);
    }
  }
  for (const [name, state] of open) memo.verdicts.set(verdictKey(name, state), false);
  return changed;
}

/** The commits of a `git log --raw` listing, newest first, and every version of the file they name (new, then old), each once. */
function parseLog(text: string): { commits: string[]; blobs: string[] } {
  const commits: string[] = [];
  const blobs: string[] = [];
  const zero = /^0+$/;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]{40,64}$/.test(line)) commits.push(line);
    else if (line.startsWith(':')) {
      // :<mode> <mode> <old blob> <new blob> <status>\t<path>
      const [, , oldBlob, newBlob] = line.split('\t')[0]?.split(' ') ?? [];
      for (const blob of [newBlob, oldBlob]) if (blob !== undefined && !zero.test(blob) && !blobs.includes(blob)) blobs.push(blob);
    }
  }
  return { commits, blobs };
}

/**
 * Each record's digest in one version of the file (`<rev>:<path>` or a blob): an empty map when the
 * revision has no such file; undefined when it cannot be read or parsed (not counted either way).
 */
async function versionAt(cwd: string, object: string, file: string, chainId: number): Promise<Map<string, string> | undefined> {
  const id = object.includes(':') ? await git(cwd, ['rev-parse', '--verify', '--quiet', object], true) : object;
  if (id === undefined) return undefined;
  if (id === '') return new Map();
  const text = await git(cwd, ['cat-file', 'blob', id.trim()]);
  if (text === undefined) return undefined;
  try {
    const digests = new Map<string, string>();
    for (const [name, record] of parseStateFile(text, file, chainId).records) digests.set(name, canonicalDigest(record));
    return digests;
  } catch {
    return undefined;
  }
}

/**
 * git's output, or undefined when it failed (no git, no repository, a timeout). `quietMiss`: an exit
 * of 1 with nothing printed (rev-parse --verify --quiet of a path the revision lacks) is ''.
 * Read-only commands only, and without git's optional locks: the work tree's `git status` stays as it was.
 */
function git(cwd: string, args: string[], quietMiss = false): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: MAX_VERSION_BYTES, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } },
      (error, stdout) => {
        if (!error) resolve(stdout);
        else if (quietMiss && error.code === 1 && stdout === '') resolve('');
        else resolve(undefined);
      },
    );
  });
}
