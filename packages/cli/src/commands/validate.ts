// `deploystate validate`: the validator's schema and cross-file checks on deployments/*.json
// (`--staged`: as git's index holds them, for a pre-commit hook).
import { ErrorCodes, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { validatorInputs } from '../validator-inputs.js';

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  // `human` is deploystate-validate's name for `text`: either name works in either tool.
  const given = options.format === undefined ? (ctx.json ? 'json' : 'text') : String(options.format);
  const format = given === 'human' ? 'text' : given;
  if (!['text', 'json', 'github'].includes(format))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--format ${given}: expected text, json or github (human is text)`);
  const { validateDeployments, validateStaged, formatHuman, formatGithub, formatJson, exitCodeFor } = await import('@deploystate/validator');
  const validateOptions = { registry: ctx.registry(), ...(await validatorInputs(ctx)) };
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
