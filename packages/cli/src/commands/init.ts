// `deploystate init`: writes deploystate.config.json (when absent) with the paths it is given,
// creates the state folder and initialises the migration state; `--scripts` adds the runbook's npm
// scripts to the user's package.json, never replacing a script the project already has. Whatever
// changes a tracked file is shown and asked for once, before anything is written.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { ErrorCodes, gitIndexLock, keepingFileStyle, StateError, stringifyLossless } from '@deploystate/core';
import { parseConfigText } from '@deploystate/migrator/project-config';
import { recordChainFiles } from '../chain-files.js';
import { DEFAULT_CONFIG_FILE, type Context } from '../context.js';
import { stateDirOf, withMigration } from '../migration.js';

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

interface ScriptsChange {
  file: string;
  text: string;
  pkg: Record<string, unknown>;
  scripts: Record<string, unknown>;
  plan: ScriptPlan;
}

/** Reads package.json and plans the scripts to add; writes nothing. */
function planPackageScripts(ctx: Context): ScriptsChange {
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
    throw new StateError(ErrorCodes.CORRUPTED, `${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); nothing was written`, {
      file,
      cause: error,
      hint: 'fix package.json (npm reads it too), then run init --scripts again',
    });
  }
  const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
  return { file, text, pkg, scripts, plan: planScripts(scripts, runbookScripts()) };
}

function showScripts(ctx: Context, change: ScriptsChange): void {
  const p = ctx.out.errPaint;
  const diff = [
    ...change.plan.add.map(([name, command]) => p.green(`+   ${JSON.stringify(name)}: ${JSON.stringify(command)}`)),
    ...change.plan.kept.map((k) =>
      p.yellow(`    ${JSON.stringify(k.name)}: ${JSON.stringify(k.theirs)}   (kept yours; ours would be ${JSON.stringify(k.ours)})`),
    ),
  ];
  if (diff.length > 0) ctx.out.info(`${change.file}\n${diff.join('\n')}`);
}

async function writeScripts(change: ScriptsChange): Promise<void> {
  const pkg = { ...change.pkg, scripts: { ...change.scripts, ...Object.fromEntries(change.plan.add) } };
  // package.json's indent, line ends and last line end stay, as npm keeps them.
  await writeFileDurable(change.file, keepingFileStyle(change.text, `${JSON.stringify(pkg, null, 2)}\n`));
}

/** A path as the config records it: relative to the config file's folder, `./` first. */
function configPath(configDir: string, path: string): string {
  const rel = relative(configDir, path).split(sep).join('/');
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? rel : `./${rel}`;
}

/** The config to write: the existing one (kept as it is) with the paths given on the command line. */
function plannedConfig(ctx: Context, configFile: string): { text: string; changed: string[] } | undefined {
  const dir = dirname(configFile);
  const given: Array<[key: string, value: string | undefined]> = [
    ['leveldb', ctx.options.leveldb],
    ['deployments', ctx.options.deployments],
    ['stateDir', ctx.options.stateDir],
  ];
  if (!existsSync(configFile)) {
    const config: Record<string, unknown> = {
      leveldb: './leveldb',
      deployments: './deployments',
      stateDir: './.deploystate',
      exclude: [],
      networks: [],
      projectChecks: {},
    };
    for (const [key, value] of given) if (value !== undefined) config[key] = configPath(dir, resolve(ctx.cwd, value));
    return { text: `${JSON.stringify(config, null, 2)}\n`, changed: Object.keys(config) };
  }
  const text = readFileSync(configFile, 'utf8');
  const config = parseConfigText(text, configFile);
  const changed: string[] = [];
  for (const [key, value] of given) {
    if (value === undefined) continue;
    const recorded = configPath(dir, resolve(ctx.cwd, value));
    const current = typeof config[key] === 'string' ? configPath(dir, resolve(dir, config[key] as string)) : undefined;
    if (current !== recorded) {
      config[key] = recorded;
      changed.push(key);
    }
  }
  if (changed.length === 0) return undefined;
  // The file's indent, line ends and byte-order mark stay, so git shows only the paths recorded.
  return { text: keepingFileStyle(text, `${stringifyLossless(config, 2)}\n`), changed };
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const p = ctx.out.paint;
  const lines: string[] = [];
  const configFile = ctx.config.file ?? resolve(ctx.cwd, DEFAULT_CONFIG_FILE);
  const existed = existsSync(configFile);
  const config = plannedConfig(ctx, configFile);
  const scripts = options.scripts === true ? planPackageScripts(ctx) : undefined;
  const stateDir = stateDirOf(ctx);
  // Everything init will change is known now: ask once, before the first write.
  if (scripts !== undefined) showScripts(ctx, scripts);
  const changesTracked = (existed && config !== undefined) || (scripts !== undefined && scripts.plan.add.length > 0);
  if (changesTracked) {
    await ctx.confirm('init', [
      ...(config === undefined ? [] : [`${existed ? 'record' : 'write'} ${config.changed.join(', ')} in ${configFile}`]),
      ...(scripts !== undefined && scripts.plan.add.length > 0
        ? [
            `add ${scripts.plan.add.length} runbook scripts to ${scripts.file}`,
            ...(scripts.plan.kept.length > 0 ? [`keep ${scripts.plan.kept.length} scripts you already have`] : []),
          ]
        : []),
      `create the state folder ${stateDir} and its .gitignore`,
      'add the merge-driver line for the deployments folder to .gitattributes, when missing',
      'record the file name of each chain that has a state file in the config',
    ]);
  }
  if (config !== undefined) {
    await writeFileDurable(configFile, config.text);
    lines.push(p.green(`✔ ${existed ? `recorded ${config.changed.join(', ')} in` : 'wrote'} ${configFile}`));
  } else lines.push(`config ${configFile} exists; left as it is`);
  // The state folder's .gitignore: the phase file is committed, evidence, journal, backups and locks are not.
  const { ensureStateGitignore } = await import('@deploystate/migrator');
  await mkdir(stateDir, { recursive: true });
  lines.push(p.green(`✔ state folder ${stateDir}`));
  if (await ensureStateGitignore(stateDir)) lines.push(p.green(`✔ wrote ${join(stateDir, '.gitignore')} (commit phase.json; the rest stays local)`));
  let phase: string | null = null;
  if (existsSync(ctx.paths.leveldb)) {
    phase = await withMigration(ctx, async (migration) => {
      if (await migration.initShared()) lines.push(p.green(`✔ wrote ${join(stateDir, 'phase.json')} (the phase every clone follows: commit it)`));
      return (await migration.status()).phase;
    });
    lines.push(p.green(`✔ migration state ready: phase ${phase}`));
    // [teams] Every LevelDB open makes new files and rewrites CURRENT: a commit that leaves the new
    // files out (`git commit -a`) gives clones a LevelDB that does not open (STORE_INCOMPLETE).
    if (gitIndexLock(ctx.paths.leveldb) !== undefined) {
      const folder = relative(ctx.cwd, ctx.paths.leveldb) || '.';
      lines.push(
        `  if you commit ${folder}: stage it whole each time, \`git add -A -- ${folder}\` (LevelDB makes new files on every open, which \`git commit -a\` leaves out); \`deploystate status\` names any that git lacks`,
      );
    }
  } else {
    lines.push(
      p.yellow(`no LevelDB at ${ctx.paths.leveldb} yet; pass --leveldb <path> to record where it is, or try \`deploystate demo\``),
    );
  }
  const { ensureMergeAttributes, mergeDriverConfigured, MERGE_DRIVER_CONFIG } = await import('../gitattributes.js');
  const [attributes, configured] = await Promise.all([ensureMergeAttributes(ctx.cwd, ctx.paths.deployments), mergeDriverConfigured(ctx.cwd)]);
  if (attributes.status === 'outside') lines.push(p.yellow(`${ctx.paths.deployments} is outside this folder: no .gitattributes entry`));
  else lines.push(p.green(`✔ .gitattributes: ${attributes.line} (${attributes.status === 'added' ? 'added' : 'already there'})`));
  // One command a line, quoted: a terminal too narrow for one breaks it with a continuation, never mid-command.
  if (configured) lines.push(p.green('✔ this clone merges network files by record (git config merge.deploystate.driver)'));
  else lines.push('  merge by record in each clone, once:', ...MERGE_DRIVER_CONFIG.map((command) => `    \`${command}\``));
  // State files already there keep their names: recorded once, in the config.
  const recorded = await recordChainFiles(ctx);
  if (recorded.length > 0) lines.push(p.green(`✔ recorded the file names of ${recorded.length} chain(s) in the config`));
  let scriptsResult: Record<string, unknown> | null = null;
  if (scripts !== undefined) {
    if (scripts.plan.add.length > 0) await writeScripts(scripts);
    scriptsResult = {
      file: scripts.file,
      added: scripts.plan.add.map(([name]) => name),
      unchanged: scripts.plan.same,
      kept: scripts.plan.kept,
    };
    lines.push(
      p.green(
        `✔ package.json: ${scripts.plan.add.length} scripts added, ${scripts.plan.same.length} already there, ${scripts.plan.kept.length} of yours kept`,
      ),
    );
  }
  ctx.out.result(
    {
      config: { file: configFile, written: config !== undefined, recorded: config?.changed ?? [] },
      stateDir,
      phase,
      paths: { leveldb: ctx.paths.leveldb, deployments: ctx.paths.deployments },
      scripts: scriptsResult,
      gitattributes: { ...attributes, gitConfig: MERGE_DRIVER_CONFIG, configured },
    },
    () => lines,
  );
}
