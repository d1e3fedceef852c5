// `deploystate project-check <name>`: the runbook names checks that only the user's own project can
// run (compiling contracts, Hardhat, their deploy cycles). This says so plainly instead of pretending.
import type { Context } from '../context.js';

const PROJECT_CHECKS: Readonly<Record<string, string>> = {
  compile: 'compile your contracts with your own toolchain (e.g. `npx hardhat compile`)',
  'deployment-with-json': 'run one deploy script on a test network with the factory store (`createStateStore()` from @deploystate/migrator) in json-primary',
  'json-backend-comprehensive': 'run your deploy, setup and configure cycles on a test network against the JSON backend',
  'integration-existing-tools': 'run your own helper scripts and CI jobs against the deployments/ folder',
  'hardhat-integration': 'run `npx hardhat test` (or your deploy tasks) with the factory store',
  'edge-cases-json-backend': "deploystate's own crash, lock and corruption tests run in its CI; on your data, run `deploystate check` and `deploystate validate`",
  'error-recovery': 'rehearse `deploystate rollback --ready` and `deploystate restore --list`; recovery of your own scripts is yours to test',
  'post-cutover-deployment': 'deploy one contract on a test network in json-only and check it with `deploystate validate`',
  'post-migration-comprehensive': 'run your full deployment test suite; deploystate validates the data with `deploystate validate`',
};

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const name = String(args[0]);
  const what = PROJECT_CHECKS[name] ?? 'run the equivalent check in your own project';
  ctx.out.result({ check: name, ranByDeploystate: false, belongsTo: 'your project', whatToDo: what }, () => [
    ctx.out.paint.yellow(ctx.out.paint.bold(`NOT RUN by deploystate: "${name}" belongs to your own project.`)),
    `what to do: ${what}`,
  ]);
}
