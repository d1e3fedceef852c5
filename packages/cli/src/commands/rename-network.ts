// `deploystate rename-network <chainId> <name>`: the one way a chain's state file changes name.
// Backs the file up in the state folder, renames it, and records the new name in the config.
import { ErrorCodes, networkNameProblem, StateError } from '@deploystate/core';
import { renameChainFile } from '../chain-files.js';
import type { Context } from '../context.js';

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const chainId = Number(args[0]);
  const name = String(args[1] ?? '');
  if (!Number.isSafeInteger(chainId) || chainId < 0) throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${String(args[0])} is not a chainId`);
  // The name is an argument, checked before the plan is shown (no config file is at fault).
  const problem = networkNameProblem(name);
  if (problem !== undefined) throw new StateError(ErrorCodes.INVALID_ARGUMENT, problem, { hint: 'name it with lower case letters, digits, - or _' });
  await ctx.confirm('rename-network', [
    `rename chain ${chainId}'s state file in ${ctx.paths.deployments} to ${name}.json (a backup copy is kept in the state folder)`,
    'record the new name in deploystate.config.json (commit it, with the renamed file)',
    'stop deploy scripts first: one that runs during the rename may write the old name',
  ]);
  const result = await renameChainFile(ctx, chainId, name);
  ctx.out.result(result, () => [
    ctx.out.paint.green(`✔ ${result.resumed ? 'finished the rename stopped earlier:' : 'renamed'} ${result.from} -> ${result.to}`),
    ...(result.backup !== undefined ? [`backup: ${result.backup}`] : []),
  ]);
}
