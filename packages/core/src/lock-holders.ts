// Who holds a lock on a file, as the kernel knows it: for an error that names the holders of a
// lock (the JSON files' OS advisory locks, LevelDB's LOCK), where no lock file records them.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { processStateLetter } from './errors.js';

/**
 * Linux: the processes of this host that hold a lock on `file` (one of their descriptors on it
 * carries a lock in its fdinfo), with their command names; empty elsewhere or when none can be
 * seen (another user's processes, another pid namespace, another host). Only read for an error.
 */
export function lockHolders(file: string): Array<{ pid: number; command: string }> {
  if (process.platform !== 'linux') return [];
  const holders: Array<{ pid: number; command: string }> = [];
  let target: string;
  let pids: string[];
  try {
    target = realpathSync(file);
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === target && /^lock:/m.test(read(`/proc/${pid}/fdinfo/${fd}`));
      } catch {
        return false;
      }
    });
    if (holds) holders.push({ pid: Number(pid), command: read(`/proc/${pid}/comm`).trim() || '?' });
  }
  return holders;
}


/**
 * Linux: the command line process `pid` runs (its arguments joined by spaces, shortened past
 * `max` characters); undefined elsewhere, or when it cannot be read (gone, another user's).
 */
export function commandLine(pid: number, max = 160): string | undefined {
  if (process.platform !== 'linux') return undefined;
  let args: string;
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  const line = args.split('\0').filter((a) => a !== '').join(' ');
  if (line === '') return undefined;
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** Linux: whether the process is stopped (SIGSTOP, a debugger: state T or t in /proc/<pid>/stat), so it cannot go on or let a lock go until resumed. */
export function isStopped(pid: number): boolean {
  const state = processStateLetter(pid);
  return state === 'T' || state === 't';
}

/**
 * The hint for a lock held by stopped processes among `pids` (SIGSTOP, Ctrl-Z, a debugger): they
 * keep it until resumed, which no wait changes; undefined when none of them is stopped.
 */
export function pausedHoldersHint(pids: readonly number[]): string | undefined {
  const paused = [...new Set(pids)].filter(isStopped);
  if (paused.length === 0) return undefined;
  const one = paused.length === 1;
  return `${paused.map((pid) => `pid ${pid}`).join(', ')} ${one ? 'is' : 'are'} paused (SIGSTOP, Ctrl-Z or a debugger) and keep${one ? 's' : ''} the lock until resumed: resume ${one ? 'it' : 'them'} (kill -CONT ${paused.join(' ')}) or end ${one ? 'it' : 'them'}, then run this again`;
}
