// The cac program built from the command table (command-table.ts).
import { cac, type CAC } from 'cac';
import { COMMANDS, type CommandSpec } from './command-table.js';

export { COMMANDS, type CommandSpec };

export type CommandAction = (spec: CommandSpec, args: unknown[], options: Record<string, unknown>) => Promise<void>;

const EXIT_CODE_HELP = [
  '  0    success (also a transition that was already done)',
  '  1    a check failed or could not pass, the stores differ, or you answered "no"',
  '  2    usage error (also a confirmation with no terminal and no --yes)',
  '  3    a store is locked or in use by another process',
  '  4    corrupted data, or a store, file or backup that does not exist',
  '  5    unexpected failure (a bug: please report it)',
  '  6    the machine refused: disk full, permission denied, a write that failed',
  '  130  interrupted (Ctrl-C); the message says what state it left',
].join('\n');

/**
 * The value options as typed (`--limit 0x10` stays "0x10"): cac's parser turns whatever
 * reads as a number into one (0x10, 1e3, 1.0 become 16, 1000, 1), which hides what was typed from
 * the checks that judge it. Read as cac reads them: `--flag value` or `--flag=value`, none after `--`.
 */
function typedValues(options: ReadonlyArray<readonly [string, ...unknown[]]>, argv: readonly string[]): Record<string, string | string[]> {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  const typed: Record<string, string | string[]> = {};
  for (const [flags] of options) {
    // `--flag <value>` and `--flag [value]` (a path, say `--leveldb 2024`, must stay text too).
    const flag = /^(--[\w-]+) [<[]/.exec(flags)?.[1];
    if (flag === undefined) continue;
    const texts = args.flatMap((arg, i) => {
      if (arg.startsWith(`${flag}=`)) return [arg.slice(flag.length + 1)];
      const next = args[i + 1];
      return arg === flag && next !== undefined && !next.startsWith('-') ? [next] : [];
    });
    const key = flag.slice(2).replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
    if (texts.length > 0) typed[key] = texts.length === 1 ? (texts[0] as string) : texts;
  }
  return typed;
}

/** Every command's options. */
const GLOBAL_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['--leveldb <path>', 'LevelDB folder (default: ./leveldb)'],
  ['--deployments <path>', 'Deployments folder (default: ./deployments)'],
  ['--state-dir <path>', 'Migration state, journal, backups and reports (default: ./.deploystate)'],
  ['--config <file>', 'Config file (default: ./deploystate.config.json when present)'],
  ['--json', 'Print exactly one JSON document on stdout, { ok, command, version, data | error } (logs go to stderr)'],
  ['--yes', 'Confirm steps that change tracked files or the read side without asking'],
  ['--debug', 'Show stack traces'],
  ['--no-color', 'No colour, even on a terminal (also NO_COLOR=1; FORCE_COLOR=1 forces it)'],
];

/** Builds the cac program; `action` runs a matched command (loading its module lazily). */
export function buildProgram(version: string, action: CommandAction): CAC {
  const cli = cac('deploystate');
  for (const [flags, description] of GLOBAL_OPTIONS) cli.option(flags, description);
  for (const spec of COMMANDS) {
    const command = cli.command(spec.usage, spec.description);
    for (const [flags, description, config] of spec.options ?? []) command.option(flags, description, config);
    for (const example of spec.examples) command.example(`  $ ${example}`);
    const valued = [...GLOBAL_OPTIONS, ...(spec.options ?? [])];
    command.action((...params: unknown[]) => {
      const options = params.pop() as Record<string, unknown>;
      return action(spec, params, { ...options, ...typedValues(valued, cli.rawArgs) });
    });
  }
  cli.example('  $ deploystate migrate --demo');
  cli.example('  $ deploystate analyze --leveldb ./leveldb');
  cli.example('  $ deploystate status --json');
  cli.help((sections) => [
    // cac prints "(default: true)" for a negated flag, which reads as if colour were off by default.
    ...sections.map((section) => ({ ...section, body: section.body.replace(/(--no-color .*?)\s*\(default: true\)/, '$1') })),
    { title: 'Exit codes', body: EXIT_CODE_HELP },
  ]);
  cli.version(version);
  return cli;
}
