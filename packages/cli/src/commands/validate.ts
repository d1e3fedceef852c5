// `deploystate validate`: the validator's schema and cross-file checks on deployments/*.json
// (`--staged`: as git's index holds them, for a pre-commit hook).
import { ErrorCodes, StateError } from '@deploystate/core';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { stateDirOf } from '../migration.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const format = options.format === undefined ? (ctx.json ? 'json' : 'text') : String(options.format);
  if (!['text', 'json', 'github'].includes(format))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--format ${format}: expected text, json or github`);
  const { validateDeployments, validateStaged, formatHuman, formatGithub, formatJson, exitCodeFor } = await import('@deploystate/validator');
  // [coowned] The journal tells a record the store wrote and lost (error) from a legacy listing (warning).
  const journal = join(stateDirOf(ctx), 'journal.ndjson');
  // The cut-over's acknowledgements by code or key, as the records they accepted were then.
  const { cutoverAcknowledgements, readState, resolvePaths, stateFiles } = await import('@deploystate/migrator');
  // A state that cannot be read takes nothing away from the files' own check (status names it).
  const state = await readState(stateFiles(resolvePaths(ctx.migrationOptions()))).catch(() => null);
  const acknowledgements = [...ctx.config.acknowledge, ...(state ? cutoverAcknowledgements(state, ctx.registry()) : [])];
  const validateOptions = { registry: ctx.registry(), acknowledgements, journal };
  // --staged: every state file as git's index holds it (a pre-commit hook judges what is committed).
  const result =
    options.staged === true
      ? await validateStaged(ctx.paths.deployments, validateOptions)
      : await validateDeployments(ctx.paths.deployments, validateOptions);
  if (exitCodeFor(result) !== 0)
    ctx.fail('CHECK_FAILED', `${result.summary.errors} error finding(s) in ${ctx.paths.deployments}`, {
      // The ones that fail the check, as counted in the message (acknowledged ones are notices).
      findings: result.findings
        .filter((f) => f.severity === 'error' && f.acknowledged !== true)
        .map((f) => ({ code: f.code, ...(f.key !== undefined && { key: f.key }), ...(f.file !== undefined && { file: f.file }) })),
    });
  // The text format ends with "--verbose lists them" when it hides info findings: honour it here.
  const verbose = options.verbose === true;
  if (format === 'github') {
    ctx.out.say(formatGithub(result, { root: ctx.cwd, verbose }).trimEnd());
    return;
  }
  if (format === 'json' && !ctx.json) {
    ctx.out.say(formatJson(result).trimEnd());
    return;
  }
  const { table } = await import('../output.js');
  const fitted = (header: string[], rows: string[][]): string => table(header, rows, ctx.out.paint);
  ctx.out.result(result, () => formatHuman(result, { color: ctx.out.colour, verbose, table: fitted, root: ctx.cwd }).trimEnd());
}
