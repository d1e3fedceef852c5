#!/usr/bin/env node
// `pnpm bench`: parses the options, runs the suites, prints for people (or one JSON document with
// --json), saves the results, and exits 1 on a FAIL only when --gate asks for it.
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathsRemovedOnInterrupt, runInterruptCleanups, STOPPING_SIGNALS } from '@deploystate/core/interrupt-cleanup';
import { runFails } from './gates.js';
import { benchStopped, stopBench } from './harness.js';
import { parseOptions, usageFor, UsageError } from './options.js';
import { ProjectStoreError } from './project.js';
import { consoleReport } from './report.js';
import { runBench, saveRun } from './run.js';
import { hanging, progressLines } from './summary.js';

/** The columns a stream's terminal has, at most 100 (the width of the bench's own lines); 100 for a file or a pipe. */
const columnsOf = (stream: NodeJS.WriteStream): number => Math.min(100, stream.isTTY && stream.columns > 0 ? stream.columns : 100);

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      const width = columnsOf(process.stderr);
      process.stderr.write(`${progressLines(error.message, width).join('\n')}\n\n${usageFor(width)}`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(usageFor(columnsOf(process.stdout)));
    return 0;
  }
  // Progress lines fit the terminal: 100 columns, or fewer when it is narrower.
  const width = columnsOf(process.stderr);
  const log = (line: string): void => void process.stderr.write(`${progressLines(line, width).join('\n')}\n`);
  // Before any suite runs: a comparison with nothing saved is a mistake to say now, not after minutes.
  if (options.baseline !== undefined && !existsSync(options.baseline)) {
    log(`--baseline: ${options.baseline} does not exist; save one first with --save-baseline (npm run generate:performance-baseline)`);
    return 2;
  }
  const distDir = dirname(fileURLToPath(import.meta.url));
  let outcome;
  try {
    outcome = await runBench(options, { workerPath: join(distDir, 'memory-worker.js'), packageDir: dirname(distDir), log });
  } catch (error) {
    if (!(error instanceof ProjectStoreError)) throw error;
    log(error.message);
    return 2;
  }
  const { run, failedSuites } = outcome;
  // Stopped by a signal while the last suite finished: nothing is saved (the handler exits shortly).
  if (benchStopped()) return new Promise<number>(() => undefined);
  const saved = await saveRun(run, options.out, options.saveBaseline);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } else {
    process.stdout.write(`${consoleReport(run, columnsOf(process.stdout))}\n`);
    // One file a line, as before; the first after `saved` when the terminal has room for both.
    const files = [saved.markdown, ...(saved.baseline ? [saved.baseline] : [])].map((file) => `      ${file}`);
    process.stdout.write(`\n${[...hanging(`saved ${saved.json}`, columnsOf(process.stdout), '', '      '), ...files].join('\n')}\n`);
  }
  if (failedSuites > 0) return 1;
  if (options.gate && runFails(run)) return 1;
  return 0;
}

/** Looks in a row that find none of the removed folders made again before a stopped bench exits, and the most time it waits for them. */
const INTERRUPT_QUIET_LOOKS = 5;
const INTERRUPT_SETTLE_MAX_MS = 2_000;

// Ctrl-C, SIGTERM or SIGHUP: the copies of the store and the stores the suites made in the temp
// folder go, and the child processes stop, before the bench exits (130, 143, 129).
for (const [signal, code] of Object.entries(STOPPING_SIGNALS)) {
  process.on(signal, () => {
    stopBench();
    const removed = runInterruptCleanups();
    process.stderr.write(`\nbench: stopped (${signal}); its temp folders and child processes cleaned up (${removed}), nothing saved\n`);
    // A store opening on the thread pool as the signal came may make its folder again after the
    // removal (LevelDB creates a missing folder first thing), as late as a loaded machine's thread
    // pool gets to it, and a store still writing makes files in it while it is removed: one look
    // 50 ms later left one behind in CI. The folders are looked at every 20 ms until five looks in
    // a row find none of them (at most 2 s), then the bench exits.
    const until = Date.now() + INTERRUPT_SETTLE_MAX_MS;
    let quiet = 0;
    const look = (): void => {
      // What was started since (a child process, a folder a suite made as the signal came) goes too.
      const later = runInterruptCleanups();
      const back = pathsRemovedOnInterrupt().filter((path) => existsSync(path));
      for (const path of back) {
        try {
          rmSync(path, { recursive: true, force: true });
        } catch {
          // Still written into (ENOTEMPTY: a file made during the removal, which once ended the
          // bench with an uncaught error and exit code 1): the next look takes it again.
        }
      }
      quiet = back.length > 0 || later > 0 ? 0 : quiet + 1;
      if (quiet >= INTERRUPT_QUIET_LOOKS || Date.now() >= until) process.exit(code);
      else setTimeout(look, 20);
    };
    setTimeout(look, 20);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
