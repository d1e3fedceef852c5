// `deploystate project-check <name>`: the runbook names checks that only the user's own project can
// run (compiling contracts, Hardhat, their deploy cycles). This says so plainly instead of pretending.
import type { Context } from '../context.js';

const PROJECT_CHECKS: Readonly<Record<string, string>> = {
  compile: 'compile your contracts with your own toolchain (e.g. `npx hardhat compile`)',
  'integration-existing-tools': 'run your own helper scripts and CI jobs against the deployments/ folder',
  'hardhat-integration':
    'run `npx hardhat test` (or your deploy tasks) with the factory store (`createStateStore()` from @deploystate/migrator)',
  'post-migration-comprehensive':
    'run your full deployment test suite; deploystate validates the data with `deploystate validate` and drills the JSON backend with `deploystate drill json-backend`',
};

/** Names older scripts used for checks that deploystate now runs itself, on a copy of the data. */
const NOW_DRILLS: Readonly<Record<string, string>> = {
  'deployment-with-json': 'json-backend',
  'json-backend-comprehensive': 'json-backend',
  'post-cutover-deployment': 'json-backend',
  'edge-cases-json-backend': 'edge-cases',
  'error-recovery': 'error-recovery',
};

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const name = String(args[0]);
  const drill = NOW_DRILLS[name];
  if (drill !== undefined) {
    ctx.out.result({ check: name, ranByDeploystate: false, runWith: `deploystate drill ${drill}` }, () => [
      ctx.out.paint.yellow(
        `"${name}" is now run by deploystate on a copy of your data: \`deploystate drill ${drill}\` (this command ran nothing).`,
      ),
    ]);
    return;
  }
  const what = PROJECT_CHECKS[name] ?? 'run the equivalent check in your own project';
  ctx.out.result({ check: name, ranByDeploystate: false, belongsTo: 'your project', whatToDo: what }, () => [
    ctx.out.paint.yellow(ctx.out.paint.bold(`NOT RUN by deploystate: "${name}" belongs to your own project.`)),
    `what to do: ${what}`,
  ]);
}
