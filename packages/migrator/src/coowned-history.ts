// Whether a record the store wrote left its network file, or was replaced there, by a commit (a
// teammate's delete or update, pulled through git) rather than by a rewrite that lost it. A lost
// write was never committed: git (a merge, a checkout, a stash) or another program replaced the
// file before any commit held the record. So the store's record counts as changed on purpose only
// when the file at HEAD holds for the key exactly what the work tree holds (nothing, or the same
// record) and a commit HEAD descends from held exactly the record the store wrote: HEAD moved past it.
// git runs twice per look at most: one `git log`, and one `git cat-file --batch` for the versions.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest } from '@deploystate/core';
import { READ_ONLY_GIT_ENV, readOnlyGit, type ReadOnlyGitOptions } from './read-only-git.js';

/** How many commits that touched the file, newest first, are looked through for the store's record. */
export const HISTORY_DEPTH = 16;
// A version of the file larger than this is not read (the record counts as not found: the finding stays).
const MAX_VERSION_BYTES = 256 * 1024 * 1024;
const GIT_OPTIONS: ReadOnlyGitOptions = { timeoutMs: 5_000, maxBytes: MAX_VERSION_BYTES };
/** A `git cat-file --batch` header is one short line; more than this without a newline is not one. */
const MAX_HEADER_BYTES = 64 * 1024;

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
  return heldInHistory(file, chainId, wanted, ['HEAD'], looked);
}

/**
 * Of `wanted`, the names whose written record a commit of another branch, tag or remote branch holds
 * (one HEAD does not descend from: a write committed on a feature branch, then `git checkout main`),
 * while the file at HEAD holds for them what the work tree holds: the record is on that branch, not
 * lost. A commit only the reflog or a stash still reaches (a `git reset --hard` past it) is not
 * looked at: that write counts as lost. Same bounds as committedChanges.
 */
export async function heldOnOtherBranches(file: string, chainId: number, wanted: ReadonlyMap<string, FileNow>): Promise<Set<string>> {
  // Not remembered: the answer depends on HEAD as well as on the branches, and is asked only while a
  // checkout lacks a record the store wrote (two git processes a look).
  return heldInHistory(file, chainId, wanted, ['--branches', '--tags', '--remotes', '--not', 'HEAD'], new Map());
}

async function heldInHistory(
  file: string,
  chainId: number,
  wanted: ReadonlyMap<string, FileNow>,
  revisions: string[],
  memos: Map<string, { tip: string; verdicts: Map<string, boolean> }>,
): Promise<Set<string>> {
  const changed = new Set<string>();
  if (wanted.size === 0) return changed;
  const cwd = dirname(file);
  const path = `./${basename(file)}`;
  const log = await readOnlyGit(
    cwd,
    ['log', `-n${HISTORY_DEPTH}`, '--format=%H', '--no-renames', '--raw', '--no-abbrev', ...revisions, '--', path],
    GIT_OPTIONS,
  );
  if (log === undefined) return changed;
  const { commits, blobs } = parseLog(log);
  const tip = commits[0];
  if (tip === undefined) return changed; // no such commit touched the file
  let memo = memos.get(file);
  if (memo?.tip !== tip) memos.set(file, (memo = { tip, verdicts: new Map() }));
  const verdictKey = (name: string, state: FileNow): string => `${name}\0${state.written}\0${state.now ?? ''}`;
  const open = new Map<string, FileNow>();
  for (const [name, state] of wanted) {
    const verdict = memo.verdicts.get(verdictKey(name, state));
    if (verdict === true) changed.add(name);
    else if (verdict === undefined) open.set(name, state);
  }
  if (open.size === 0) return changed;
  const objects = new CatFileBatch(cwd);
  try {
    const atHead = await versionAt(objects, `HEAD:${path}`, file, chainId);
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
      const version = await versionAt(objects, blob, file, chainId);
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
  } finally {
    await objects.close();
  }
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
 * Each record's digest in one version of the file (`HEAD:<path>` or a blob): an empty map when HEAD
 * has no such file; undefined when it cannot be read or parsed (not counted either way).
 */
async function versionAt(objects: CatFileBatch, object: string, file: string, chainId: number): Promise<Map<string, string> | undefined> {
  const atHead = object.includes(':');
  // A name cat-file cannot take on its one-line input (a newline in the file's name) is resolved by rev-parse.
  const name =
    atHead && object.includes('\n')
      ? await readOnlyGit(dirname(file), ['rev-parse', '--verify', '--quiet', object], { ...GIT_OPTIONS, quietMiss: true })
      : object;
  if (name === '') return new Map();
  const content = name === undefined ? undefined : await objects.read(name.trim());
  if (content === null) return atHead ? new Map() : undefined;
  if (content === undefined) return undefined;
  try {
    const digests = new Map<string, string>();
    for (const [key, record] of parseStateFile(content.toString('utf8'), file, chainId).records) digests.set(key, canonicalDigest(record));
    return digests;
  } catch {
    return undefined;
  }
}

/**
 * One `git cat-file --batch` process that reads objects one at a time, so a look that found every
 * key stops without reading older versions. Each read is bounded (GIT_OPTIONS.timeoutMs; after a timeout or
 * any failure of git every read answers undefined); a blob larger than MAX_VERSION_BYTES is skipped
 * unread, never held.
 */
class CatFileBatch {
  private child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  private readonly exited: Promise<void>;
  private failed = false;
  /** The header line read so far, and the object being read (its bytes still to come, kept or skipped). */
  private header: Buffer[] = [];
  private headerBytes = 0;
  private body: { left: number; parts: Buffer[] | undefined } | undefined;
  private answer: ((content: Buffer | null | undefined) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(cwd: string) {
    let exited!: () => void;
    this.exited = new Promise((resolve) => (exited = resolve));
    try {
      this.child = spawn('git', ['cat-file', '--batch'], { cwd, env: READ_ONLY_GIT_ENV(), stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      this.failed = true;
      exited();
      return;
    }
    this.child.on('error', () => {
      this.fail();
      exited();
    });
    this.child.on('close', () => {
      this.fail();
      exited();
    });
    this.child.stdin.on('error', () => this.fail());
    this.child.stdout.on('data', (chunk: Buffer) => this.take(chunk));
  }

  /** The object's bytes; null when git says it is missing; undefined when it cannot be read (not a blob, too large, git failed). */
  read(object: string): Promise<Buffer | null | undefined> {
    const child = this.child;
    if (this.failed || child === undefined || object.includes('\n')) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.answer = resolve;
      this.timer = setTimeout(() => this.fail(), GIT_OPTIONS.timeoutMs);
      child.stdin.write(`${object}\n`);
    });
  }

  /** Ends the process (its input closed; killed if it does not exit within GIT_OPTIONS.timeoutMs) and waits for it. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.stdin.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), GIT_OPTIONS.timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(kill);
      this.failed = true;
    }
  }

  private settle(content: Buffer | null | undefined): void {
    clearTimeout(this.timer);
    const answer = this.answer;
    this.answer = undefined;
    answer?.(content);
  }

  private fail(): void {
    if (!this.failed) {
      this.failed = true;
      this.child?.kill('SIGKILL');
    }
    this.settle(undefined);
  }

  /** Output, as it comes: `<id> <type> <size>\n<bytes>\n` per object, or `<name> missing\n`. */
  private take(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && !this.failed) {
      if (this.body !== undefined) {
        const part = data.subarray(0, this.body.left);
        this.body.parts?.push(part);
        this.body.left -= part.length;
        data = data.subarray(part.length);
        if (this.body.left === 0) {
          const parts = this.body.parts;
          this.body = undefined;
          // The object's bytes, without the newline that ends them.
          this.settle(parts === undefined ? undefined : Buffer.concat(parts).subarray(0, -1));
        }
        continue;
      }
      const end = data.indexOf(0x0a);
      if (end < 0) {
        this.header.push(data);
        this.headerBytes += data.length;
        if (this.headerBytes > MAX_HEADER_BYTES) this.fail();
        return;
      }
      const line = Buffer.concat([...this.header, data.subarray(0, end)]).toString('utf8');
      this.header = [];
      this.headerBytes = 0;
      data = data.subarray(end + 1);
      const found = /^[0-9a-f]+ (\S+) (\d+)$/.exec(line);
      if (found === null) {
        this.settle(line.endsWith(' missing') ? null : undefined);
        continue;
      }
      const size = Number(found[2]);
      this.body = { left: size + 1, parts: found[1] === 'blob' && size <= MAX_VERSION_BYTES ? [] : undefined };
    }
  }
}
