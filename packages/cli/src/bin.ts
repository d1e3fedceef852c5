#!/usr/bin/env node
// The `deploystate` binary. Kept tiny: cac and the command table load at start-up; a command's
// module, the migrator and the stores load only when that command runs. Every run ends here: with
// --json, this file writes the one envelope (envelope.ts) for the command's result or its failure.
import { readFileSync } from 'node:fs';
import { runInterruptCleanups, STOPPING_SIGNALS } from '@deploystate/core/interrupt-cleanup';
import { buildProgram, type CommandSpec } from './program.js';
import { dropTerminalStreams, guardStdStreams, markStdStreamArgs, readerGone, releaseHungUpTerminal, stdStreamArgsFor } from './std-streams.js';
import { stdoutState } from './stdout-state.js';
import type { Envelope } from './envelope.js';

interface CommandModule {
  run(ctx: import('./context.js').Context, args: unknown[], options: Record<string, unknown>): Promise<void>;
}

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
let exitCode = 0;
/** The command being run, as the envelope names it (null before one is matched). */
let commandName: string | null = null;
/** Set once the run's own outcome is being written: a signal after that writes no second one (onInterrupt). */
let outcomeStarted = false;

async function runCommand(spec: CommandSpec, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const { Context } = await import('./context.js');
  await stdStreamArgsFor(spec.module, args, options);
  const ctx = new Context(options);
  const command = (await import(`./commands/${spec.module}.js`)) as CommandModule;
  await command.run(ctx, args, options);
  exitCode = ctx.exitCode;
}

function flush(code: number): void {
  const exit = (): never => process.exit(code);
  // stdout to a pipe may still be draining; exit once it has taken everything, or its reader is gone.
  if (process.stdout.writableLength === 0 || readerGone(process.stdout)) exit();
  process.stdout.once('drain', exit);
  process.stdout.once('error', exit);
}

async function writeEnvelope(envelope: Envelope): Promise<void> {
  const { stringifyLossless } = await import('@deploystate/core');
  const warnings = stdoutState.warnings.length > 0 ? { warnings: stdoutState.warnings } : {};
  process.stdout.write(`${stringifyLossless({ ...envelope, ...warnings }, 2)}\n`);
}

async function writeFailure(error: unknown, json: boolean, debug: boolean, colour: boolean): Promise<number> {
  const { exitCodeFor, envelopeError, renderFailure } = await import('./failure.js');
  const command = commandName ?? undefined;
  const { fitToTerminal } = await import('./output.js');
  process.stderr.write(`${fitToTerminal(renderFailure(error, { debug, colour, ...(command !== undefined && { command }) }), process.stderr)}\n`);
  if (json) {
    const { failureEnvelope } = await import('./envelope.js');
    await writeEnvelope(failureEnvelope(commandName, version, envelopeError(error, command), stdoutState.hasPayload ? stdoutState.payload : undefined));
  }
  return exitCodeFor(error);
}

/** cac's help, laid out for the terminal; with --json it goes to stderr and stdout gets the envelope. */
async function printHelp(cli: ReturnType<typeof buildProgram>, json: boolean): Promise<void> {
  let text = '';
  const info = console.info;
  console.info = (...args: unknown[]) => void (text += `${args.map(String).join(' ')}\n`);
  try {
    cli.outputHelp();
  } finally {
    console.info = info;
  }
  const stream = json ? process.stderr : process.stdout;
  const { layoutHelp } = await import('./help-layout.js');
  stream.write(layoutHelp(text, stream.isTTY ? stream.columns : undefined));
  if (json) {
    const { successEnvelope } = await import('./envelope.js');
    await writeEnvelope(successEnvelope(commandName, version, null));
  }
}

/**
 * Ctrl-C (or SIGTERM, SIGHUP) during long work: remove what the work was holding (temp files, a
 * snapshot, a drill's copy) and stop the processes it started, say what state it left and how to
 * resume, then exit 130 (143, 129). A signal once the outcome is being written (a slow reader still
 * taking the --json document) adds nothing: the run exits with its own code once stdout has taken
 * the outcome, or with the signal's if that has not happened 2 s later (the document is cut short).
 */
function onInterrupt(json: boolean, debug: boolean, colour: boolean): void {
  let interrupted = false;
  // What the work holds once a signal came (temp files, a snapshot, a drill's copy, child processes)
  // goes as the process exits, however it exits: not at the signal, as the work runs on until the
  // exit and would make again what was removed under it (a folder an open store recreates).
  process.once('exit', () => {
    if (stdoutState.interrupted) runInterruptCleanups();
    releaseHungUpTerminal();
  });
  for (const [signal, code] of Object.entries(STOPPING_SIGNALS)) {
    process.on(signal, () => {
      if (interrupted) process.exit(code);
      interrupted = true;
      stdoutState.interrupted = true;
      // Nothing more to a terminal that hung up: each write would fail, and the exit must not wait on it.
      if (signal === 'SIGHUP') dropTerminalStreams();
      // A reader that stopped reading never drains stdout: exit anyway, soon.
      setTimeout(() => process.exit(code), 2_000);
      if (outcomeStarted) return;
      void (async () => {
        if (process.stderr.isTTY) process.stderr.write('\n');
        const note =
          stdoutState.interruptNote?.() ??
          'stopped before it finished; every file is replaced whole (temp file, then rename), so none is half-written: run the command again';
        try {
          const { OutcomeError } = await import('./outcome.js');
          const error = new OutcomeError('CANCELLED', `${commandName ?? 'deploystate'} interrupted (${signal === 'SIGINT' ? 'Ctrl-C' : signal}): ${note}`);
          await writeFailure(error, json, debug, colour);
        } finally {
          // Whatever the message met (a closed stderr), the exit happens.
          flush(code);
        }
      })().catch(() => undefined);
    });
  }
}

async function main(argv: string[]): Promise<void> {
  const cli = buildProgram(version, runCommand);
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const colour = !argv.includes('--no-color');
  guardStdStreams();
  onInterrupt(json, debug, colour);
  try {
    // With --json the version is an envelope, not cac's text line; help is laid out here (printHelp).
    if (json) cli.showVersionOnExit = false;
    cli.showHelpOnExit = false;
    cli.parse(markStdStreamArgs(argv), { run: false });
    commandName = cli.matchedCommand?.name.split(' ')[0] || null;
    if (cli.options.help) {
      await printHelp(cli, json);
      return flush(0);
    }
    if (cli.options.version) {
      if (json) {
        const { successEnvelope } = await import('./envelope.js');
        await writeEnvelope(successEnvelope(null, version, { version }));
      }
      return flush(0);
    }
    if (!cli.matchedCommand) {
      const { CACError } = await import('./usage-error.js');
      if (cli.args.length === 0) {
        // A script asked for a document: no command is a usage error, not help text on stdout.
        if (json) throw new CACError('no command given: `deploystate --help` lists them');
        await printHelp(cli, json);
        return flush(0);
      }
      throw new CACError(`unknown command \`${String(cli.args[0])}\``);
    }
    await cli.runMatchedCommand();
    // Stopped by a signal meanwhile: its handler writes the one outcome and exits.
    if (stdoutState.interrupted) return;
    outcomeStarted = true;
    if (json) {
      const { successEnvelope, failureEnvelope } = await import('./envelope.js');
      const data = stdoutState.hasPayload ? stdoutState.payload : null;
      if (exitCode === 0) await writeEnvelope(successEnvelope(commandName, version, data));
      else {
        const { hintOf } = await import('@deploystate/core');
        const failure = stdoutState.failure ?? { code: 'CHECK_FAILED', message: `${commandName ?? 'the command'}: the check did not pass` };
        const hint = failure.hint ?? hintOf(failure.code, commandName ?? undefined);
        await writeEnvelope(
          failureEnvelope(commandName, version, {
            code: failure.code,
            message: failure.message,
            ...(hint !== undefined && { hint }),
            ...(failure.data !== undefined && { details: failure.data }),
          }, data),
        );
      }
    }
    flush(exitCode);
  } catch (error) {
    // A failure the signal's cleanup caused (a snapshot removed under a read) is not the outcome.
    if (stdoutState.interrupted) return;
    outcomeStarted = true;
    flush(await writeFailure(error, json, debug, colour));
  }
}

void main(process.argv);
