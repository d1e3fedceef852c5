// What every command receives: the resolved global options, the config file, the paths (relative
// to where the user ran the command), the output, and the confirmation step for destructive work.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, NetworkRegistry, parseAcknowledgements, projectLockWaitMs, StateError, type Acknowledgement, type NetworkDefinition } from '@deploystate/core';
import { PROJECT_CONFIG_FILE, projectRegistry, readProjectConfig } from '@deploystate/migrator/project-config';
import { fitToTerminal, Output } from './output.js';
import { askYesNo } from './prompt.js';
import { stdoutState } from './stdout-state.js';
import { showWarnings } from './warnings.js';

export interface GlobalOptions {
  leveldb?: string;
  deployments?: string;
  stateDir?: string;
  config?: string;
  json?: boolean;
  yes?: boolean;
  debug?: boolean;
  color?: boolean;
}

/** deploystate.config.json: every field optional; paths relative to the file's folder. */
export interface CliConfig {
  leveldb?: string;
  deployments?: string;
  stateDir?: string;
  exclude: string[];
  /** Findings accepted record by record (file, key, code, record digest). */
  acknowledge: Acknowledgement[];
  rpc?: unknown;
  networks: NetworkDefinition[];
  /** The project's own commands for runbook checks (`project-check <name>`), by check name. */
  projectChecks: Record<string, string>;
  /** How long an open of LevelDB waits for another process's lock, ms (DEPLOYSTATE_LOCK_WAIT_MS wins). */
  lockWaitMs?: number;
  /** The file it came from, when there was one. */
  file?: string;
}

export interface ResolvedPaths {
  leveldb: string;
  deployments: string;
  /** Undefined when neither the option nor the config names one: the migrator's default applies. */
  stateDir: string | undefined;
}

export const DEFAULT_CONFIG_FILE = PROJECT_CONFIG_FILE;

/** Where the user ran the command: through `pnpm --filter cli start`, that is INIT_CWD. */
export function invocationDir(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

export function loadConfig(cwd: string, explicit: string | undefined): CliConfig {
  const file = explicit !== undefined ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (explicit !== undefined) {
      throw new StateError(ErrorCodes.INVALID_CONFIG, `config file ${file} does not exist`, {
        file,
        hint: 'create it with `deploystate init`, or leave out --config',
      });
    }
    return { exclude: [], acknowledge: [], networks: [], projectChecks: {} };
  }
  // Read and checked as deploy scripts read it (the migrator's reading), so both refuse the same file.
  const project = readProjectConfig(cwd, { file });
  const config: CliConfig = {
    exclude: project.exclude,
    acknowledge: project.acknowledge,
    networks: project.networks,
    projectChecks: project.projectChecks,
    rpc: project.rpc,
    file,
  };
  if (project.leveldb !== undefined) config.leveldb = project.leveldb;
  if (project.deployments !== undefined) config.deployments = project.deployments;
  if (project.stateDir !== undefined) config.stateDir = project.stateDir;
  if (project.lockWaitMs !== undefined) config.lockWaitMs = project.lockWaitMs;
  return config;
}

/** Whether a boolean flag is `value`, once or more (cac gives a repeated flag as an array). */
function flagSet(given: unknown, value: boolean): boolean {
  return given === value || (Array.isArray(given) && given.includes(value));
}

export class Context {
  readonly cwd: string;
  readonly config: CliConfig;
  readonly paths: ResolvedPaths;
  readonly out: Output;
  readonly json: boolean;
  readonly yes: boolean;
  /** Set by a command whose check failed without an error (compare found differences, say). */
  exitCode = 0;

  constructor(readonly options: GlobalOptions) {
    this.cwd = invocationDir();
    // A flag given twice (an npm script's own --json plus one passed after --) comes as an array.
    this.json = flagSet(options.json, true);
    this.yes = flagSet(options.yes, true);
    this.out = new Output(this.json, !flagSet(options.color, false));
    showWarnings(this.out.errPaint, this.json);
    this.config = loadConfig(this.cwd, options.config);
    const pick = (flag: string | undefined, fromConfig: string | undefined, fallback: string | undefined): string | undefined =>
      flag !== undefined ? resolve(this.cwd, String(flag)) : (fromConfig ?? fallback);
    this.paths = {
      leveldb: pick(
        typeof options.leveldb === 'string' ? options.leveldb : undefined,
        this.config.leveldb,
        resolve(this.cwd, 'leveldb'),
      ) as string,
      deployments: pick(options.deployments, this.config.deployments, resolve(this.cwd, 'deployments')) as string,
      stateDir: pick(options.stateDir, this.config.stateDir, undefined),
    };
  }

  registry(): NetworkRegistry {
    const registry = new NetworkRegistry();
    for (const network of this.config.networks) registry.register(network);
    return registry;
  }

  /**
   * How long an open of LevelDB waits for another process's lock, for every store the command opens:
   * DEPLOYSTATE_LOCK_WAIT_MS, else the config's `lockWaitMs`; undefined for the migrator's default
   * (about 15 s). A malformed variable is INVALID_ARGUMENT naming it (exit 2).
   */
  lockWaitMs(): number | undefined {
    return projectLockWaitMs(undefined, process.env, this.config.lockWaitMs);
  }

  /** Options for the migrator's Migration.open / createStateStore. */
  migrationOptions(): {
    cwd: string;
    leveldb: string;
    deployments: string;
    stateDir?: string;
    registry: NetworkRegistry;
    acknowledgements: Acknowledgement[];
    lockWaitMs?: number;
  } {
    const lockWaitMs = this.lockWaitMs();
    return {
      cwd: this.cwd,
      acknowledgements: this.config.acknowledge,
      leveldb: this.paths.leveldb,
      deployments: this.paths.deployments,
      ...(this.paths.stateDir !== undefined && { stateDir: this.paths.stateDir }),
      registry: this.registry(),
      ...(lockWaitMs !== undefined && { lockWaitMs }),
    };
  }

  /**
   * What to tell the operator if Ctrl-C stops long work now: the state it leaves and how to resume.
   * Replaces the default note ("stopped before finishing; run it again") for the rest of the run.
   */
  onInterrupt(note: () => string): void {
    stdoutState.interruptNote = note;
  }

  /**
   * Marks the run as a check that did not pass (exit 1) without an error: the `--json` envelope gets
   * `ok: false` with this error beside the payload in `data`.
   */
  fail(code: string, message: string, details?: Record<string, unknown>, hint?: string): void {
    this.exitCode = 1;
    stdoutState.failure = { code, message, ...(hint !== undefined && { hint }), ...(details !== undefined && { data: details }) };
  }

  /**
   * Shows what a destructive step will do and asks. `--yes` skips the question; without a
   * terminal to ask on, the step is refused (INVALID_ARGUMENT, exit 2) rather than assumed; "no" is
   * DECLINED (exit 1) and Ctrl-C CANCELLED (exit 130). Call it before the step's first write.
   */
  async confirm(action: string, plan: string[]): Promise<void> {
    const paint = this.out.errPaint;
    process.stderr.write(`${fitToTerminal(`${paint.bold(action)} will:\n${plan.map((line) => `  - ${line}`).join('\n')}`, process.stderr)}\n`);
    if (this.yes) return;
    if (!process.stdin.isTTY) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${action} needs confirmation and there is no terminal to ask on`, {
        hint: 'pass --yes to confirm from a script',
      });
    }
    await askYesNo(action, process.stdin, process.stderr);
  }
}
