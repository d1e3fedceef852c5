// Loaded with `node --import` into a process the bench measures: at exit, writes the process's
// peak resident set size (bytes) to the file DEPLOYSTATE_BENCH_RSS_FILE names. Changes no Node flag.
import { writeFileSync } from 'node:fs';

const target = process.env.DEPLOYSTATE_BENCH_RSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS * 1024)));
