// `deploystate init`: writes deploystate.config.json (when absent) and initialises the migration
// state; `--scripts` adds the runbook's npm scripts to the user's package.json, showing the change
// and asking first, never replacing a script the project already has.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import { recordChainFiles } from '../chain-files.js';
import { DEFAULT_CONFIG_FILE, type Context } from '../context.js';
import { withMigration } from '../migration.js';

export function runbookScripts(): Record<string, string> {
  return JSON.parse(readFileSync(new URL('../../runbook-scripts.json', import.meta.url), 'utf8')) as Record<string, string>;
}

export interface ScriptPlan {
  add: Array<[string, string]>;
  same: string[];
  /** The project already has a different script under this name: kept, reported. */
  kept: Array<{ name: string; theirs: string; ours: string }>;
}

export function planScripts(existing: Record<string, unknown>, wanted: Record<string, string>): ScriptPlan {
  const plan: ScriptPlan = { add: [], same: [], kept: [] };
  for (const [name, command] of Object.entries(wanted)) {
    const theirs = existing[name];
    if (theirs === undefined) plan.add.push([name, command]);
    else if (theirs === command) plan.same.push(name);
    else plan.kept.push({ name, theirs: String(theirs), ours: command });
  }
  return plan;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.deploystate-${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

async function addScripts(ctx: Context): Promise<Record<string, unknown>> {
  const file = resolve(ctx.cwd, 'package.json');
  if (!existsSync(file))
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no package.json in ${ctx.cwd}`, {
      file,
      hint: 'run `npm init -y` first, or run init --scripts in your project root',
    });
  const text = readFileSync(file, 'utf8');
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new StateError(ErrorCodes.CORRUPTED, `${file} is not valid JSON`, { file, cause: error });
  }
  const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
  const plan = planScripts(scripts, runbookScripts());
  const p = ctx.out.errPaint;
  const diff = [
    ...plan.add.map(([name, command]) => p.green(`+   ${JSON.stringify(name)}: ${JSON.stringify(command)}`)),
    ...plan.kept.map((k) =>
      p.yellow(`    ${JSON.stringify(k.name)}: ${JSON.stringify(k.theirs)}   (kept yours; ours would be ${JSON.stringify(k.ours)})`),
    ),
  ];
  if (plan.add.length === 0) {
    ctx.out.info(diff.join('\n'));
    return { file, added: [], unchanged: plan.same, kept: plan.kept };
  }
  ctx.out.info(`${file}\n${diff.join('\n')}`);
  await ctx.confirm('init --scripts', [
    `add ${plan.add.length} runbook scripts to ${file}`,
    ...(plan.kept.length > 0 ? [`keep ${plan.kept.length} scripts you already have`] : []),
  ]);
  pkg.scripts = { ...scripts, ...Object.fromEntries(plan.add) };
  const indent = /^\{\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
  await writeAtomically(file, `${JSON.stringify(pkg, null, indent)}${text.endsWith('\n') ? '\n' : ''}`);
  return { file, added: plan.add.map(([name]) => name), unchanged: plan.same, kept: plan.kept };
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const p = ctx.out.paint;
  const lines: string[] = [];
  const configFile = ctx.config.file ?? resolve(ctx.cwd, DEFAULT_CONFIG_FILE);
  let configWritten = false;
  if (!existsSync(configFile)) {
    const config = { leveldb: './leveldb', deployments: './deployments', stateDir: './.deploystate', exclude: [], networks: [] };
    await writeAtomically(configFile, `${JSON.stringify(config, null, 2)}\n`);
    configWritten = true;
    lines.push(p.green(`✔ wrote ${configFile}`));
  } else lines.push(`config ${configFile} exists; left as it is`);
  // The state folder's .gitignore: the phase file is committed, evidence, journal, backups and locks are not.
  const { ensureStateGitignore, resolvePaths } = await import('@deploystate/migrator');
  const stateDir = resolvePaths(ctx.migrationOptions()).stateDir;
  await mkdir(stateDir, { recursive: true });
  if (await ensureStateGitignore(stateDir)) lines.push(p.green(`✔ wrote ${join(stateDir, '.gitignore')} (commit phase.json; the rest stays local)`));
  let phase: string | null = null;
  if (existsSync(ctx.paths.leveldb)) {
    phase = await withMigration(ctx, async (migration) => {
      if (await migration.initShared()) lines.push(p.green(`✔ wrote ${join(stateDir, 'phase.json')} (the phase every clone follows: commit it)`));
      return (await migration.status()).phase;
    });
    lines.push(p.green(`✔ migration state ready: phase ${phase}`));
  } else {
    lines.push(p.yellow(`no LevelDB at ${ctx.paths.leveldb} yet; set "leveldb" in ${configFile}, or try \`deploystate demo\``));
  }
  const { ensureMergeAttributes, MERGE_DRIVER_CONFIG } = await import('../gitattributes.js');
  const attributes = await ensureMergeAttributes(ctx.cwd, ctx.paths.deployments);
  if (attributes.status === 'outside') lines.push(p.yellow(`${ctx.paths.deployments} is outside this folder: no .gitattributes entry`));
  else lines.push(p.green(`✔ .gitattributes: ${attributes.line} (${attributes.status === 'added' ? 'added' : 'already there'})`));
  lines.push(`  merge by record in each clone, once: ${MERGE_DRIVER_CONFIG.join(' && ')}`);
  // State files already there keep their names: recorded once, in the config.
  const recorded = await recordChainFiles(ctx);
  if (recorded.length > 0) lines.push(p.green(`✔ recorded the file names of ${recorded.length} chain(s) in the config`));
  const scripts = options.scripts === true ? await addScripts(ctx) : null;
  if (scripts)
    lines.push(
      p.green(
        `✔ package.json: ${(scripts.added as string[]).length} scripts added, ${(scripts.unchanged as string[]).length} already there, ${(scripts.kept as unknown[]).length} of yours kept`,
      ),
    );
  ctx.out.result(
    {
      config: { file: configFile, written: configWritten },
      phase,
      scripts,
      gitattributes: { ...attributes, gitConfig: MERGE_DRIVER_CONFIG },
    },
    () => lines,
  );
}
