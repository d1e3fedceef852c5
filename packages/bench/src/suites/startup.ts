// CLI start-up: `node <cli>/dist/bin.js --version` against a bare `node -e 0`, interleaved, each
// a fresh process, so the figure is what an operator waits for before the tool does anything.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LIMITS, makeGate } from '../gates.js';
import { measure, runChild } from '../harness.js';
import { emptyOutcome, scaled, type SuiteContext, type SuiteOutcome } from './context.js';

/** The CLI's built entry, found beside this package in the workspace (packages/cli). */
export function cliEntry(packageDir: string): string {
  return join(resolve(packageDir, '..', 'cli'), 'dist', 'bin.js');
}

async function spawnOk(args: string[]): Promise<void> {
  const outcome = await runChild(process.execPath, args, { timeoutMs: 30_000 });
  if (outcome.code !== 0) throw new Error(`node ${args.join(' ')} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 300)}`);
}

export async function startupSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const bin = cliEntry(context.packageDir);
  if (!existsSync(bin)) return emptyOutcome(`skipped: @deploystate/cli not available (not built: ${bin} missing)`);
  // A CLI that cannot print its version is a failure to report, not a time to measure.
  await spawnOk([bin, '--version']);
  context.log('startup: cli --version vs node -e 0');
  const measurements = await measure(
    [
      { name: 'cli --version', run: () => spawnOk([bin, '--version']) },
      { name: 'node -e 0', run: () => spawnOk(['-e', '0']) },
    ],
    { suite: 'startup', operation: 'start', size: 0, itemsPerRun: 1, note: 'a fresh process each run' },
    scaled(context, 10, context.light ? 2 : 5),
  );
  const cli = measurements.find((m) => m.subject === 'cli --version');
  const node = measurements.find((m) => m.subject === 'node -e 0');
  const value = cli && node ? cli.latencyMs.p50 / node.latencyMs.p50 : null;
  return { measurements, memory: [], gates: [makeGate(LIMITS.startup, 'startup', 0, value, 'p50 cli --version / p50 node -e 0')] };
}
