// Loaded with `node --import` into a process the bench measures: at exit, writes the process's
// peak resident set size (bytes) to the file DEPLOYSTATE_BENCH_RSS_FILE names. Changes no Node flag.
// On Linux the figure is VmHWM: getrusage's maxRSS survives fork and exec, so a child would report
// the bench's own size whenever that was larger.
import { readFileSync, writeFileSync } from 'node:fs';

function peakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm?.[1]) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux: the kernel's maxRSS below
  }
  return process.resourceUsage().maxRSS * 1024;
}

const target = process.env.DEPLOYSTATE_BENCH_RSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(peakRssBytes())));
