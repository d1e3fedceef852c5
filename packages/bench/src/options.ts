// The bench's command line, parsed by hand: a handful of flags, and errors that name the flag.
import { join, resolve } from 'node:path';
import { SUITE_NAMES, type SuiteName } from './results.js';
import { wrapIndented } from '@deploystate/core';

export interface BenchOptions {
  quick: boolean;
  sizes: number[];
  suites: SuiteName[];
  baseline: string | undefined;
  out: string;
  json: boolean;
  gate: boolean;
  /** Also save the run as `<out>/baseline.json` (what `--baseline` reads back later). */
  saveBaseline: boolean;
  iterations: number;
  warmup: number;
  help: boolean;
  /** Measure a copy of these folders' records (a project's own store) instead of generated data. */
  from: { leveldb?: string; deployments?: string } | undefined;
  /** With `from`: the full sampling instead of the short default. */
  long: boolean;
}

/** Production today (28 records) and 100 records on each of five networks: the gated sizes. */
export const DEFAULT_SIZES = [28, 500, 1000, 10_000];
export const QUICK_SIZES = [28, 200];
export const DEFAULT_ITERATIONS = 200;
export const QUICK_ITERATIONS = 8;
/** A project's own store, by default: enough rounds for stable medians, done in well under a minute. */
export const PROJECT_ITERATIONS = 30;
export const PROJECT_WARMUP = 3;

export class UsageError extends Error {}

function list(flag: string, value: string | undefined): string[] {
  if (value === undefined || value.startsWith('--') || value.trim() === '') throw new UsageError(`${flag} needs a value`);
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a positive integer`);
  return n;
}

export function parseOptions(argv: readonly string[], cwd: string = process.env.INIT_CWD ?? process.cwd()): BenchOptions {
  let quick = false;
  let sizes: number[] | undefined;
  let suites: SuiteName[] | undefined;
  let baseline: string | undefined;
  let out: string | undefined;
  let json = false;
  let gate = false;
  let saveBaseline = false;
  let iterations: number | undefined;
  let warmup: number | undefined;
  let help = false;
  let long = false;
  const from: { leveldb?: string; deployments?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--sizes':
        sizes = list(flag, value()).map((s) => positiveInteger(flag, s.replace(/_/g, '').replace(/k$/i, '000')));
        break;
      case '--suite':
      case '--suites':
        suites = list(flag, value()).map((s) => {
          if (!(SUITE_NAMES as readonly string[]).includes(s))
            throw new UsageError(`${flag}: unknown suite ${JSON.stringify(s)} (known: ${SUITE_NAMES.join(', ')})`);
          return s as SuiteName;
        });
        break;
      case '--baseline':
        // Bare `--baseline`: the one `--save-baseline` wrote into the results folder.
        baseline = inline === undefined && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? '' : resolve(cwd, value());
        break;
      case '--from-leveldb':
        from.leveldb = resolve(cwd, value());
        break;
      case '--from-deployments':
        from.deployments = resolve(cwd, value());
        break;
      case '--long':
        long = true;
        break;
      case '--out':
        out = resolve(cwd, value());
        break;
      case '--json':
        json = true;
        break;
      case '--gate':
        gate = true;
        break;
      case '--save-baseline':
        saveBaseline = true;
        break;
      case '--iterations':
        iterations = positiveInteger(flag, value());
        break;
      case '--warmup':
        warmup = Number(value());
        if (!Number.isInteger(warmup) || warmup < 0) throw new UsageError(`--warmup: must be an integer >= 0`);
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)} (see --help)`);
    }
  }
  const project = from.leveldb !== undefined || from.deployments !== undefined;
  if (project && sizes !== undefined) throw new UsageError('--sizes: a project store is measured at its own size (drop --sizes)');
  if (project && quick) throw new UsageError('--quick: a project store runs short by default (drop --quick; --long for more rounds)');
  if (long && !project) throw new UsageError('--long goes with --from-leveldb or --from-deployments');
  const resultsDir = out ?? resolve(cwd, 'bench-results');
  return {
    quick,
    sizes: [...new Set(sizes ?? (quick ? QUICK_SIZES : DEFAULT_SIZES))].sort((a, b) => a - b),
    suites: suites ?? [...SUITE_NAMES],
    baseline: baseline === '' ? join(resultsDir, 'baseline.json') : baseline,
    out: resultsDir,
    json,
    gate,
    saveBaseline,
    iterations: iterations ?? (quick ? QUICK_ITERATIONS : project && !long ? PROJECT_ITERATIONS : DEFAULT_ITERATIONS),
    warmup: warmup ?? (quick ? 1 : project && !long ? PROJECT_WARMUP : 10),
    help,
    from: project ? from : undefined,
    long,
  };
}

/** The options as [flags, description] rows: usageFor lays them out for the terminal. */
const USAGE_ROWS: ReadonlyArray<readonly [string, string]> = [
  ['--quick', 'small sizes, few iterations: runs in seconds, checks the harness end to end'],
  [
    '--sizes 28,1000,10000',
    `record counts for the backends, codec and dual-write suites (default ${DEFAULT_SIZES.join(',')}; quick ${QUICK_SIZES.join(',')}); add 100000 when you want it; the migration suite uses the sizes >= 10000 (quick: 1000)`,
  ],
  ['--suite a,b', `any of ${SUITE_NAMES.join(', ')} (default all)`],
  [
    '--baseline [FILE]',
    'compare with a saved run (a results JSON); flags anything > 20% worse; without FILE, <out>/baseline.json (what --save-baseline wrote)',
  ],
  ['--save-baseline', 'also save this run as <out>/baseline.json'],
  ['--out DIR', 'where results go (default ./bench-results, relative to where pnpm was run)'],
  ['--json', 'print the run as one JSON document on stdout (progress stays on stderr)'],
  ['--gate', 'exit 1 when a gate FAILs or the baseline comparison finds a regression'],
  ['--iterations N', 'timed runs per point read (costlier operations scale down from it)'],
  ['--warmup N', 'untimed runs before timing'],
  ['--from-leveldb DIR', ''],
  [
    '--from-deployments DIR',
    `measure your own store: DIR (and the next folder) are copied to a temp folder and only the copy is opened; every suite measures its records at their count. Short by default (${PROJECT_ITERATIONS} iterations, 0.5 s per operation)`,
  ],
  ['--long', `with --from-*: the full sampling (${DEFAULT_ITERATIONS} iterations, longer time caps)`],
  ['-h, --help', 'this text'],
];

/** Where the descriptions start; narrower than this plus 30 columns, each goes under its flags. */
const USAGE_COLUMN = 24;

/**
 * The usage, wrapped to `width` columns (a terminal's; the bench also runs as `deploystate bench`,
 * in whatever terminal the operator has): descriptions in a column beside their flags, or under
 * them when that column would be too narrow to read. Only a single word wider than the line stays wider.
 */
export function usageFor(width = 100): string {
  const stacked = width - USAGE_COLUMN < 30;
  const lines = ['Usage: pnpm bench [options]', ''];
  for (const [flags, description] of USAGE_ROWS) {
    const text =
      description === '' ? [] : stacked ? wrapIndented(description, width, ' '.repeat(6)) : wrapIndented(description, width, ' '.repeat(USAGE_COLUMN));
    const name = `  ${flags}`;
    if (stacked || text.length === 0 || name.length + 1 > USAGE_COLUMN) lines.push(name, ...text);
    else lines.push(name.padEnd(USAGE_COLUMN) + (text[0] as string).slice(USAGE_COLUMN), ...text.slice(1));
  }
  return `${lines.join('\n')}\n`;
}

/** The usage as a file or a pipe gets it (100 columns). */
export const USAGE = usageFor();
