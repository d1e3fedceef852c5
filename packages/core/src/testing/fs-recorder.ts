// A recording shim over node:fs for tests that must see the order of durable-write calls: each
// fsync/fdatasync is recorded with the path of its descriptor when it is called and when it
// completes, each rename when it happens. Completions are held back a little, so a caller that
// does not await a sync returns before the sync is recorded and the order shows it. Its own subpath
// (`@deploystate/core/testing/fs-recorder`) with no runtime import, so a `vi.mock('node:fs')`
// factory can load it without loading node:fs.
import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';

export type FsEvent =
  | { kind: 'sync'; path: string; call: string }
  /** An fsync/fdatasync called (its `sync` event comes when it completes): a sync covers only what came before this. */
  | { kind: 'sync-start'; path: string; call: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'mark'; label: string };

export interface FsRecorder {
  events: FsEvent[];
  /** Adds a labelled event (e.g. "put returned") to the same timeline. */
  mark(label: string): void;
  /**
   * Paths whose syncs complete this many milliseconds later than the others: a caller that starts
   * such a sync early and does not await it before its next step shows in the order.
   */
  slowSyncs: Map<string, number>;
}

export const recorder: FsRecorder = {
  events: [],
  mark(label) {
    this.events.push({ kind: 'mark', label });
  },
  slowSyncs: new Map(),
};

const HOLD_MS = 15;
const held = (path?: string): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, HOLD_MS + (path === undefined ? 0 : (recorder.slowSyncs.get(path) ?? 0))));
const pathOf = new Map<number, string>();
const describeFd = (fd: number): string => pathOf.get(fd) ?? `fd ${fd}`;

type Callback = (error: NodeJS.ErrnoException | null) => void;

export function recordingFs(fs: typeof Fs): typeof Fs {
  const syncCallback =
    (name: 'fsync' | 'fdatasync') =>
    (fd: number, callback: Callback): void => {
      recorder.events.push({ kind: 'sync-start', path: describeFd(fd), call: name });
      fs[name](fd, (error) => {
        void held(describeFd(fd)).then(() => {
          if (!error) recorder.events.push({ kind: 'sync', path: describeFd(fd), call: name });
          callback(error);
        });
      });
    };
  const shim = {
    ...fs,
    openSync: (path: Fs.PathLike, ...rest: unknown[]): number => {
      const fd = (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
      pathOf.set(fd, String(path));
      return fd;
    },
    fsync: syncCallback('fsync'),
    fdatasync: syncCallback('fdatasync'),
    fsyncSync: (fd: number): void => {
      fs.fsyncSync(fd);
      recorder.events.push({ kind: 'sync', path: describeFd(fd), call: 'fsyncSync' });
    },
    fdatasyncSync: (fd: number): void => {
      fs.fdatasyncSync(fd);
      recorder.events.push({ kind: 'sync', path: describeFd(fd), call: 'fdatasyncSync' });
    },
    renameSync: (from: Fs.PathLike, to: Fs.PathLike): void => {
      fs.renameSync(from, to);
      recorder.events.push({ kind: 'rename', from: String(from), to: String(to) });
    },
    rename: (from: Fs.PathLike, to: Fs.PathLike, callback: Callback): void =>
      fs.rename(from, to, (error) => {
        if (!error) recorder.events.push({ kind: 'rename', from: String(from), to: String(to) });
        callback(error);
      }),
  };
  return { ...shim, default: shim } as unknown as typeof Fs;
}

export function recordingFsPromises(fsp: typeof FsPromises): typeof FsPromises {
  const shim = {
    ...fsp,
    open: async (path: Fs.PathLike, ...rest: unknown[]): Promise<FsPromises.FileHandle> => {
      const handle = await (fsp.open as (...args: unknown[]) => Promise<FsPromises.FileHandle>)(path, ...rest);
      for (const name of ['sync', 'datasync'] as const) {
        const original = handle[name].bind(handle);
        handle[name] = async () => {
          await original();
          await held(String(path));
          recorder.events.push({ kind: 'sync', path: String(path), call: `FileHandle.${name}` });
        };
      }
      return handle;
    },
    rename: async (from: Fs.PathLike, to: Fs.PathLike): Promise<void> => {
      await fsp.rename(from, to);
      recorder.events.push({ kind: 'rename', from: String(from), to: String(to) });
    },
  };
  return { ...shim, default: shim } as unknown as typeof FsPromises;
}

/**
 * Checks one durable replacement of `target` in the timeline: the temp file renamed over it was
 * synced before the rename, the folder was synced after it, and `returned` (a mark) comes after
 * both. Returns what it found, for a readable failure.
 */
export function durableReplacement(
  events: readonly FsEvent[],
  target: string,
  folder: string,
  returned: string,
): {
  renamed: boolean;
  fileSyncedBeforeRename: boolean;
  folderSyncedAfterRename: boolean;
  returnedAfterBoth: boolean;
} {
  const rename = events.findIndex((e) => e.kind === 'rename' && e.to === target);
  const temp = rename >= 0 ? (events[rename] as { from: string }).from : undefined;
  const fileSync = events.findIndex((e, i) => i < rename && e.kind === 'sync' && e.path === temp);
  const folderSync = events.findIndex((e, i) => i > rename && e.kind === 'sync' && e.path === folder);
  const mark = events.findIndex((e) => e.kind === 'mark' && e.label === returned);
  return {
    renamed: rename >= 0,
    fileSyncedBeforeRename: fileSync >= 0,
    folderSyncedAfterRename: folderSync >= 0,
    returnedAfterBoth: fileSync >= 0 && folderSync >= 0 && mark > folderSync && mark > fileSync,
  };
}
