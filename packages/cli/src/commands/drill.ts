// `deploystate drill <scenario>`: runbook checks that deploystate runs on the user's own data,
// safely: each scenario works on a temp copy of the deployments folder (and a LevelDB snapshot
// where it needs one), reports PASS/FAIL per check, removes the copy and never touches the
// originals. Exit 1 when any check fails.
import { resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { validatorInputs } from '../validator-inputs.js';
import { DrillChecks, type CheckStatus, type DrillCheck } from '../drill/checks.js';
import type { Scenario } from '../drill/scenario.js';
import { createWorkspace, removeWorkspace, type Workspace } from '../drill/workspace.js';
import { commandLockWait, namedAsOriginals, withOriginals } from '../read-only.js';

interface ScenarioSpec {
  /** What the scenario proves, for the report and --help. */
  summary: string;
  needsLevelDb: boolean;
  /**
   * Whether the scenario damages its copy on purpose (a finding may then be about the damage): its
   * findings name the copy's files. The others name the originals they come from.
   */
  damagesCopy: boolean;
  load(): Promise<Scenario>;
}

export const SCENARIOS: Readonly<Record<string, ScenarioSpec>> = {
  'json-backend': {
    summary:
      'deploy, upgrade, list/query and remove a test record per network through the factory store in json-only; every user record reads back unchanged; legacy sections follow',
    needsLevelDb: true,
    damagesCopy: false,
    load: async () => (await import('../drill/json-backend.js')).jsonBackendDrill,
  },
  'cross-network': {
    summary:
      'the validator over the copy, queries across chains, contract names spelled the same on every chain, per-chain counts against --expected',
    needsLevelDb: false,
    damagesCopy: false,
    load: async () => (await import('../drill/cross-network.js')).crossNetworkDrill,
  },
  'edge-cases': {
    summary:
      'truncated, garbage and future-version files are refused with their codes and left byte for byte; read-only files; restore from backup',
    needsLevelDb: false,
    damagesCopy: true,
    load: async () => (await import('../drill/edge-cases.js')).edgeCasesDrill,
  },
  'error-recovery': {
    summary:
      "writers SIGKILLed mid-write: the file always parses and holds every acknowledged write; temp files cleaned; a dead holder's lock recovered",
    needsLevelDb: false,
    damagesCopy: true,
    load: async () => (await import('../drill/error-recovery.js')).errorRecoveryDrill,
  },
};

/** The drill's texts naming the user's files, not the copy's (namedAsOriginals). */
function namingOriginals(workspace: Workspace, sources: { deployments: string; leveldb: string }): (text: string) => string {
  const pairs: Array<[string, string]> = [[workspace.deployments, sources.deployments]];
  if (workspace.leveldb !== undefined) pairs.push([workspace.leveldb, sources.leveldb]);
  return namedAsOriginals(pairs);
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', warn: 'WARN' };

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const scenario = String(args[0]);
  const spec = SCENARIOS[scenario];
  if (!spec) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `unknown drill scenario "${scenario}"`, {
      hint: `one of: ${Object.keys(SCENARIOS).join(', ')}`,
    });
  }
  const expected = options.expected === undefined ? undefined : resolve(ctx.cwd, String(options.expected));
  const sources = { deployments: ctx.paths.deployments, leveldb: ctx.paths.leveldb };
  const keep = options.keep === true;
  const workspace = await createWorkspace(sources, { leveldb: spec.needsLevelDb, keep, ...(spec.needsLevelDb && { lockWait: await commandLockWait(ctx) }) });
  const checks = new DrillChecks();
  const names = spec.damagesCopy ? (text: string) => text : namingOriginals(workspace, sources);
  ctx.out.info(`drill ${scenario}: working on a copy in ${workspace.root}${workspace.leveldb ? ' (with a LevelDB snapshot)' : ''}`);
  try {
    const body = await spec.load();
    // The validator's pass judges the files as `validate` does: the same acknowledgements and journal.
    const validator = await validatorInputs(ctx);
    await body(
      {
        workspace,
        registry: ctx.registry(),
        networks: ctx.config.networks,
        ...validator,
        ...(expected !== undefined && { expected }),
        note: (line) => ctx.out.info(line),
      },
      checks,
    );
  } catch (error) {
    throw withOriginals(error, names);
  } finally {
    if (!keep) await removeWorkspace(workspace);
  }
  if (!checks.ok) ctx.exitCode = 1;
  const list = checks.list.map((check) => ({ ...check, detail: names(check.detail) }));
  const counts = (status: CheckStatus): number => checks.list.filter((c) => c.status === status).length;
  const p = ctx.out.paint;
  const paint = (check: DrillCheck): string => {
    const label = LABEL[check.status];
    if (check.status === 'pass') return p.green(label);
    if (check.status === 'fail') return p.red(p.bold(label));
    return p.yellow(label);
  };
  ctx.out.result(
    {
      scenario,
      ok: checks.ok,
      sources,
      copy: { path: workspace.root, kept: keep },
      checks: list,
      summary: { pass: counts('pass'), fail: counts('fail'), skip: counts('skip'), warn: counts('warn') },
    },
    () => [
      p.bold(`drill ${scenario}`) + p.dim(` on a copy of ${sources.deployments}${spec.needsLevelDb ? ` and ${sources.leveldb}` : ''}`),
      ...list.map((check) => `${paint(check)}  ${check.name}\n      ${p.dim(check.detail)}`),
      '',
      `${counts('pass')} passed, ${counts('fail')} failed, ${counts('skip')} skipped, ${counts('warn')} ${counts('warn') === 1 ? 'warning' : 'warnings'}; ${keep ? `the copy is kept at ${workspace.root}` : 'the copy was removed'}; the originals were only read`,
      checks.ok ? p.green(p.bold(`✔ drill ${scenario} passed`)) : p.red(p.bold(`✘ drill ${scenario} failed`)),
    ],
  );
}
