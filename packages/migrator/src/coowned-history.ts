// Whether a record the store wrote left its network file by a commit (a teammate's delete, pulled
// through git) rather than by a rewrite that lost it. A lost write was never committed: git (a
// merge, a checkout, a stash) or another program replaced the file before any commit held the
// record. So the store's record counts as deleted on purpose only when the file at HEAD lacks the
// key and a commit HEAD descends from held exactly the record the store wrote: HEAD moved past it.
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

/**
 * Of `wanted` (contract name -> digest of the record the store wrote; names the file lacks now),
 * the names a commit removed: the file at HEAD lacks them, and a commit among the last
 * HISTORY_DEPTH that touched the file held exactly that record. Outside a repository, without
 * git, or on any failure of git: none (the finding stands, as it would without this).
 */
export async function committedRemovals(file: string, chainId: number, wanted: ReadonlyMap<string, string>): Promise<Set<string>> {
  const removed = new Set<string>();
  if (wanted.size === 0) return removed;
  const cwd = dirname(file);
  const path = `./${basename(file)}`;
  const log = await git(cwd, ['log', `-n${HISTORY_DEPTH}`, '--format=%H', '--no-renames', '--raw', '--no-abbrev', 'HEAD', '--', path]);
  if (log === undefined) return removed;
  const { commits, blobs } = parseLog(log);
  const tip = commits[0];
  if (tip === undefined) return removed; // the file was never committed
  let memo = looked.get(file);
  if (memo?.tip !== tip) looked.set(file, (memo = { tip, verdicts: new Map() }));
  const open = new Map<string, string>();
  for (const [name, digest] of wanted) {
    const verdict = memo.verdicts.get(`${name}\0${digest}`);
    if (verdict === true) removed.add(name);
    else if (verdict === undefined) open.set(name, digest);
  }
  if (open.size === 0) return removed;
  const atHead = await versionAt(cwd, `HEAD:${path}`, file, chainId);
  if (atHead === undefined) return removed;
  // A key HEAD's file holds was not removed by a commit: the work tree lost it.
  for (const name of [...open.keys()]) {
    if (atHead.has(name)) {
      memo.verdicts.set(`${name}\0${open.get(name)}`, false);
      open.delete(name);
    }
  }
  for (const blob of blobs) {
    if (open.size === 0) break;
    const version = await versionAt(cwd, blob, file, chainId);
    if (version === undefined) continue;
    for (const [name, digest] of [...open]) {
      if (version.get(name) !== digest) continue;
      memo.verdicts.set(`${name}\0${digest}`, true);
      removed.add(name);
      open.delete(name);
    }
  }
  for (const [name, digest] of open) memo.verdicts.set(`${name}\0${digest}`, false);
  return removed;
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
