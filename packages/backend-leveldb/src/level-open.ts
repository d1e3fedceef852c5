// Opening LevelDB for a store: the pre-open checks of its folder, then waiting out (or asking for) another process's lock.
import { join } from 'node:path';
import { beforeLazyLoad, ErrorCodes, StateError, lockHolders, noteWait, noteWaiting, sleep, WAITING_NOTICE_MS } from '@deploystate/core';
import type { Level } from 'level';
import { checkDataFiles, corrupted, incomplete, inspectFolder, type TornTail } from './level-files.js';
import { isLockedError, lockedError, mapLevelError } from './level-errors.js';
import { heldHereError, openHeld, wantFolder } from './process-holds.js';
import type { Handover } from './handover.js';
import { backoff, lockWaitBudgetMs, type LockWait } from './leveldb-options.js';
import { swapNotFinished, waitedForSwap } from './restore-swap.js';

export type Db = Level<string, string>;

/** While a request for the database is posted, the lock is tried at least this often. */
const HANDOVER_POLL_MS = 20;
/** A store about to reopen lets a waiting store go first for at most this long. */
const HANDOVER_COURTESY_MS = 150;

/** What opening needs from the store. */
export interface LevelOpen {
  path: string;
  create: boolean;
  lockWait: LockWait;
  reuseVerifiedFiles: boolean;
  /** Only a sharing store (one that idle-closes) has one: it hands over and asks for turns. */
  handover: Handover | undefined;
  /** Told, once LevelDB is open, the torn log tails the pre-open check accepted. */
  noteTornTails: (tails: readonly TornTail[]) => void;
  /** How this store hands LevelDB over once open, when another store of this process asks for it. */
  onWanted?: () => void;
}

/**
 * A LevelDB package loaded when first needed rather than with this one: loading `level` (and its
 * native binding) took about 15 ms of every process that imports the store, and a deploy script in
 * json-only never opens LevelDB. A package that cannot load is BACKEND_UNAVAILABLE, as the open's
 * other failures to reach LevelDB are.
 */
export async function loadLevelPackage<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    beforeLazyLoad();
    return await load();
  } catch (error) {
    throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `cannot load LevelDB (the ${name} package): ${(error as Error).message}`, {
      cause: error,
      data: { package: name },
      hint: 'reinstall the dependencies on this machine (classic-level ships prebuilt binaries for common platforms)',
    });
  }
}

/** `level`, on the first open (or legacy write). */
export function levelModule(): Promise<typeof import('level')> {
  return loadLevelPackage('level', () => import('level'));
}

/**
 * Loads LevelDB's package now, for a process that will need it but opens stores on first use: a
 * binding that cannot load then fails its start (BACKEND_UNAVAILABLE), not its first write.
 */
export async function loadLevelDb(): Promise<void> {
  await levelModule();
}

/** Opens LevelDB, never creating over existing files, waiting out another process's lock. */
export async function openLevel(open: LevelOpen): Promise<Db> {
  const handover = open.handover;
  const started = performance.now();
  const waited = { yes: false };
  if (handover) {
    // Another store asked for the database and this one just handed it over: let it in first.
    const until = Date.now() + HANDOVER_COURTESY_MS;
    while (handover.pending() && Date.now() < until) {
      waited.yes = true;
      await sleep(5);
    }
  }
  try {
    return await openLevelWaiting(open, waited);
  } finally {
    handover?.withdraw();
    if (waited.yes) noteWait('leveldb', started, open.path);
  }
}

async function openLevelWaiting(open: LevelOpen, waited: { yes: boolean }): Promise<Db> {
  const path = open.path;
  const { attempts } = open.lockWait;
  const begun = Date.now();
  const deadline = begun + lockWaitBudgetMs(open.lockWait);
  let announced = false;
  let lastSuspicion: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const state = await inspectFolder(path);
    let tornTails: TornTail[] = [];
    let createIfMissing = false;
    if (state.kind === 'missing' || state.kind === 'empty') {
      // Between a restore's two renames (its marker beside the folder, level-files.ts) the folder
      // is missing for a moment, or holds only the LOCK and LOG of an open that raced the first
      // rename (the restore clears them): waited for as a lock is, never created afresh (an empty
      // store in the copy's place) nor reported missing meanwhile.
      if (await waitedForSwap(path, open.lockWait, attempt, deadline)) {
        waited.yes = true;
        continue;
      }
      const message = state.kind === 'missing' ? `no LevelDB store at ${path}` : `${path} holds no LevelDB store (no CURRENT file)`;
      const unfinished = swapNotFinished(path, message);
      if (unfinished !== undefined) throw unfinished;
      if (!open.create) {
        throw new StateError(ErrorCodes.STORE_NOT_FOUND, message, {
          file: path,
          hint: 'check the path (the default is ./leveldb); reading never creates a store, only writing commands do',
        });
      }
      const foreign = state.kind === 'empty' ? state.entries.filter((name) => !['LOCK', 'LOG', 'LOG.old'].includes(name)) : [];
      if (foreign.length > 0) {
        throw new StateError(
          ErrorCodes.INVALID_ARGUMENT,
          `${path} is not empty and holds no LevelDB store (found ${foreign.slice(0, 3).join(', ')}); refusing to create a store among other files`,
          { file: path },
        );
      }
      createIfMissing = true;
    } else if (state.kind === 'headless') {
      throw corrupted(path, 'CURRENT is missing while table, log or MANIFEST files are present (opening would discard them)');
    } else {
      const check = await checkDataFiles(path, state.entries, { reuse: open.reuseVerifiedFiles });
      // Noted only once LevelDB opens: while another process holds the lock, a torn tail may
      // be its append in progress rather than a crash.
      tornTails = check.tornTails;
      const { suspicious, absent } = check;
      if (suspicious.length > 0 || absent.length > 0) {
        // A writer in another process can show the same picture for a moment; damage stays put.
        // Files that are only absent (a commit left them out) are no damage: said as such, no repair.
        const seen = [...suspicious, ...absent.map((name) => `${name} named by CURRENT or the MANIFEST is missing`)].join('; ');
        if (seen === lastSuspicion || attempt >= attempts) throw suspicious.length > 0 ? corrupted(path, seen) : incomplete(path, absent);
        lastSuspicion = seen;
        await sleep(backoff(open.lockWait, attempt));
        continue;
      }
    }
    const { Level } = await levelModule();
    try {
      // Another store of this process has it open: waited for like another process (an open
      // attempt here would drop that store's lock, process-holds.ts).
      const db = await openHeld(
        path,
        () => new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing, errorIfExists: false }),
        open.onWanted,
      );
      if (db === undefined) throw HELD_HERE;
      open.noteTornTails(tornTails);
      return db;
    } catch (error) {
      if (error !== HELD_HERE && !isLockedError(error)) {
        const failure = mapLevelError(error, path);
        // The folder was there when looked at, and a restore renamed it aside before LevelDB opened
        // it: the swap is waited for as above (the loop's next look sees it, and ends the wait).
        if (failure.code === ErrorCodes.STORE_NOT_FOUND && (await waitedForSwap(path, open.lockWait, attempt, deadline))) {
          waited.yes = true;
          continue;
        }
        throw failure;
      }
      waited.yes = true;
      // A person watching the command is told why it is quiet, and for whom it waits.
      if (!announced && error !== HELD_HERE && Date.now() - begun >= WAITING_NOTICE_MS) {
        announced = true;
        noteWaiting('leveldb', path, () => lockHolders(join(path, 'LOCK')).filter((h) => h.pid !== process.pid), Math.max(0, deadline - begun));
      }
      if (error === HELD_HERE) {
        // Another store of this process: asked directly, and woken when it lets go.
        if (Date.now() >= deadline) throw heldHereError(path);
        await wantFolder(path, Math.min(HANDOVER_POLL_MS, Math.max(1, deadline - Date.now())));
        continue;
      }
      const handover = open.handover;
      if (!handover) {
        // The whole schedule's length, not its count of tries: each pause is jittered down to half
        // its length, so the tries alone ended after 50-100% of the wait asked for (a 300 ms wait
        // gave up after 0.2 s).
        if (Date.now() >= deadline) throw lockedError(path, attempt, error, Date.now() - begun);
        await sleep(Math.min(backoff(open.lockWait, attempt), Math.max(1, deadline - Date.now())));
        continue;
      }
      // A sharing holder releases as soon as its operations in flight end: ask, and look often
      // (within the same total wait as the backoff schedule), so the turn is not missed.
      if (Date.now() >= deadline) throw lockedError(path, attempt, error, Date.now() - begun);
      handover.request();
      await sleep(Math.min(HANDOVER_POLL_MS, backoff(open.lockWait, attempt), Math.max(1, deadline - Date.now())));
    }
  }
}

/** The failed open's stand-in when this process holds the folder already (nothing was opened). */
const HELD_HERE = new Error('held by another store of this process');
