// A real pseudo-terminal for tests: the built binary runs in a tmux pane of a fixed size, as an
// operator would run it. The pane's text (capture-pane) and the raw bytes the program wrote
// (pipe-pane) are both available; waits poll for an event (a file, a prompt) with a bound.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN } from './helpers.js';

const run = promisify(execFile);

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

let sessions = 0;

interface PaneOptions {
  cwd: string;
  dir: string;
  columns: number;
  rows?: number;
  env?: Record<string, string>;
}

export class TmuxPane {
  private constructor(
    private readonly socket: string,
    readonly dir: string,
    private readonly exitFile: string,
    private readonly rawFile: string,
  ) {}

  /** Starts `deploystate <args>` in a `columns` x `rows` pane, with `dir` as its working folder (and for its files). */
  static async start(args: string[], options: PaneOptions) {
    return TmuxPane.launch(`${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`, options);
  }

  /** Runs `deploystate` once per argument list, one after the other, in one pane (each run's output follows the last). */
  static async startEach(runs: string[][], options: PaneOptions) {
    const each = runs.map((args) => `${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`).join('; ');
    return TmuxPane.launch(`sh -c ${quote(each)}`, options);
  }

  /** Runs `command` (a program and its arguments, not the binary) in the pane. */
  static async startProgram(command: string[], options: PaneOptions) {
    return TmuxPane.launch(command.map(quote).join(' '), options);
  }

  private static async launch(program: string, options: PaneOptions) {
    const socket = `deploystate-test-${process.pid}-${++sessions}`;
    const exitFile = join(options.dir, `exit-${sessions}`);
    const rawFile = join(options.dir, `raw-${sessions}`);
    const env = Object.entries({ ...options.env }).map(([k, v]) => `${k}=${quote(v)}`);
    // `trap : INT`: Ctrl-C reaches the program; the shell around it survives to record the exit code.
    const command = `trap : INT; cd ${quote(options.cwd)} && env -u INIT_CWD -u NO_COLOR -u FORCE_COLOR ${env.join(' ')} ${program}; echo $? > ${quote(exitFile)}; sleep 600`;
    await run('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', String(options.columns), '-y', String(options.rows ?? 40), 'sh', '-c', command]);
    const pane = new TmuxPane(socket, options.dir, exitFile, rawFile);
    await run('tmux', ['-L', socket, 'pipe-pane', '-o', '-t', 'test', `cat >> ${quote(rawFile)}`]);
    return pane;
  }

  /** The pane's text, wrapped rows joined back into the lines the program wrote (-J), history included. */
  async text(): Promise<string> {
    return (await run('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J', '-S', '-', '-t', 'test'])).stdout;
  }

  /** The pane's rows as the terminal shows them (no joining). */
  async rows(): Promise<string[]> {
    return (await run('tmux', ['-L', this.socket, 'capture-pane', '-p', '-S', '-', '-t', 'test'])).stdout.split('\n');
  }

  /** Everything the program wrote to the terminal, escape sequences included. */
  async raw(): Promise<string> {
    return readFile(this.rawFile, 'utf8').catch(() => '');
  }

  async keys(...keys: string[]): Promise<void> {
    await run('tmux', ['-L', this.socket, 'send-keys', '-t', 'test', ...keys]);
  }

  /** Polls the pane until `pattern` shows (bounded: fails after ~60 s). */
  async waitFor(pattern: RegExp): Promise<string> {
    for (let i = 0; i < 300; i++) {
      const text = await this.text();
      if (pattern.test(text)) return text;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${pattern}; pane:\n${await this.text()}`);
  }

  /** Waits for the program to exit and returns its exit code (bounded). */
  async exitCode(): Promise<number> {
    for (let i = 0; i < 1200; i++) {
      const text = await readFile(this.exitFile, 'utf8').catch(() => '');
      if (text.trim() !== '') return Number(text.trim());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the program did not exit; pane:\n${await this.text()}`);
  }

  async close(): Promise<void> {
    await run('tmux', ['-L', this.socket, 'kill-server']).catch(() => undefined);
  }
}
