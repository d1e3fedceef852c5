// Whether the process behind a pid is the one that wrote a line at a given time: a pid alone may
// name another process once the first one dies (pids wrap; a container starts at low pids).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isProcessAlive, procStatFields, statFieldsAfterName } from './errors.js';

/** The computed start time is as coarse as the boot time (whole seconds) and the tick (10 ms). */
const START_SLACK_MS = 1_000;

let clock: { bootMs: number; msPerTick: number } | null | undefined;

/** Field 22 of a /proc/<pid>/stat: when the process started, in ticks since boot. */
function startTicks(stat: string): number {
  return Number(statFieldsAfterName(stat)[19]);
}

// The rate /proc counts start times in (USER_HZ): 100 on every architecture Linux runs on today.
const USER_HZ = 100;

/**
 * Whether /proc counts this machine's process start times 100 times a second, read off this
 * process: its start time in ticks (/proc/self/stat) over its age since boot in seconds
 * (/proc/uptime less its own uptime). USER_HZ when they agree within 5%; undefined when they do
 * not (too soon after boot to tell, another rate, or an uptime a container virtualizes): getconf
 * answers then. Only 100 is ever inferred: a guess at another rate could misjudge live writers.
 */
export function tickRateFromProc(stat: string, uptime: string, ownUptimeSeconds: number): number | undefined {
  const ticks = startTicks(stat);
  const startedSeconds = Number(uptime.split(' ')[0]) - ownUptimeSeconds;
  // Node starts its clock a few milliseconds after exec: within a second of boot they weigh too much to tell.
  if (!Number.isFinite(ticks) || !(startedSeconds >= 1)) return undefined;
  return Math.abs(ticks / startedSeconds - USER_HZ) <= USER_HZ * 0.05 ? USER_HZ : undefined;
}

/** The tick rate without starting a process (a deploy script's put may be what asks), else getconf's. */
function tickRate(): number {
  const fromProc = tickRateFromProc(readFileSync('/proc/self/stat', 'utf8'), readFileSync('/proc/uptime', 'utf8'), process.uptime());
  return fromProc ?? Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
}

/** Boot time and tick length, read once (undefined elsewhere than Linux or without /proc). */
function kernelClock(): { bootMs: number; msPerTick: number } | undefined {
  if (clock !== undefined) return clock ?? undefined;
  clock = null;
  if (process.platform !== 'linux') return undefined;
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    const ticks = tickRate();
    if (btime !== undefined && Number.isInteger(ticks) && ticks > 0) clock = { bootMs: Number(btime) * 1000, msPerTick: 1000 / ticks };
  } catch {
    // No /proc or no getconf: the pid alone answers (a wrong tick rate would misjudge live writers).
  }
  return clock ?? undefined;
}

/** When the process started (ms since the epoch), from /proc/<pid>/stat field 22; undefined where that cannot be read. */
export function processStartTime(pid: number): number | undefined {
  const kernel = kernelClock();
  if (kernel === undefined) return undefined;
  const starttime = Number(procStatFields(pid)?.[19]);
  return Number.isFinite(starttime) ? kernel.bootMs + starttime * kernel.msPerTick : undefined;
}

/**
 * Whether the process `pid` is alive and was already running at `since` (an ISO time or ms since the
 * epoch, when it wrote a line naming itself): one started later only reuses the pid of a process
 * now gone. Where start times cannot be read (macOS, Windows, no /proc) the pid alone answers.
 */
export function isProcessAliveSince(pid: number, since: string | number): boolean {
  if (!isProcessAlive(pid)) return false;
  const sinceMs = typeof since === 'number' ? since : Date.parse(since);
  const started = processStartTime(pid);
  return started === undefined || Number.isNaN(sinceMs) || started <= sinceMs + START_SLACK_MS;
}
