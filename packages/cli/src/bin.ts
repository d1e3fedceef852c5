#!/usr/bin/env node
// The `deploystate` binary. Kept tiny: cac and the command table load at start-up; a command's
// module, the migrator and the stores load only when that command runs.
import { readFileSync } from 'node:fs';
import { buildProgram, type CommandSpec } from './program.js';
import { stdoutState } from './stdout-state.js';

interface CommandModule {
  run(ctx: import('./context.js').Context, args: unknown[], options: Record<string, unknown>): Promise<void>;
}

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
let exitCode = 0;

async function runCommand(spec: CommandSpec, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const { Context } = await import('./context.js');
  const ctx = new Context(options, spec.module === 'restore');
  const command = (await import(`./commands/${spec.module}.js`)) as CommandModule;
  await command.run(ctx, args, options);
  exitCode = ctx.exitCode;
}

function flush(code: number): void {
  // stdout to a pipe may still be draining; exit once it has taken everything.
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.once('drain', () => process.exit(code));
}

async function main(argv: string[]): Promise<void> {
  const cli = buildProgram(version, runCommand);
  const json = argv.includes('--json');
  try {
    cli.parse(argv, { run: false });
    if (cli.options.help || cli.options.version) return flush(0);
    if (!cli.matchedCommand) {
      if (cli.args.length === 0) {
        cli.outputHelp();
        return flush(0);
      }
      const { CACError } = await import('./usage-error.js');
      throw new CACError(`unknown command \`${String(cli.args[0])}\``);
    }
    await cli.runMatchedCommand();
    flush(exitCode);
  } catch (error) {
    const { exitCodeFor, errorDocument, renderFailure } = await import('./failure.js');
    const debug = argv.includes('--debug');
    // cac names a command with its arguments ("dual-write <action>"); hints want the bare name.
    const command = cli.matchedCommand?.name.split(' ')[0] || undefined;
    process.stderr.write(
      `${renderFailure(error, { debug, colour: !argv.includes('--no-color'), ...(command !== undefined && { command }) })}\n`,
    );
    if (json && process.stdout.writableLength === 0 && !stdoutState.documentWritten) {
      const { stringifyLossless } = await import('@deploystate/core');
      process.stdout.write(`${stringifyLossless(errorDocument(error, command), 2)}\n`);
    }
    flush(exitCodeFor(error));
  }
}

void main(process.argv);
