// `deploystate exclude <keys...>`: records keys the migration leaves behind (dev-chain junk that
// `analyze` proposes) in the config's "exclude"; `migrate` honours them, on every clone.
import { readFile } from 'node:fs/promises';
import { compareKeys, ErrorCodes, StateError, tryParseKey } from '@deploystate/core';
import type { MigrationPhase } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { updateConfig } from '../decisions.js';
import { currentRecords } from '../read-only.js';

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const keys = (args.flat() as unknown[]).map(String).filter((k) => k !== '');
  if (keys.length === 0) throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'name at least one record key', { hint: 'deploystate exclude 31337-TestToken' });
  // A record key; or a key LevelDB holds that is no record key, once analyze has listed it as unmigratable.
  const odd = keys.filter((key) => tryParseKey(key) === null);
  if (odd.length > 0) {
    const listed = await unmigratableListed(ctx);
    const unknown = odd.find((key) => !listed.includes(key));
    if (unknown !== undefined)
      throw new StateError(ErrorCodes.INVALID_KEY, `not a record key (expected "<chainId>-<contractName>"), and no analysis lists it: ${JSON.stringify(unknown)}`, {
        key: unknown,
        hint: 'a LevelDB key of another form can be excluded once `deploystate analyze` lists it as unmigratable',
      });
  }
  let added: string[] = [];
  const file = await updateConfig(ctx, (config) => {
    const before = Array.isArray(config.exclude) ? (config.exclude as unknown[]).map(String) : [];
    added = keys.filter((k) => !before.includes(k));
    config.exclude = [...new Set([...before, ...keys])].sort(compareKeys);
  });
  const phase = await currentPhase(ctx);
  // Recorded all the same (a key excluded ahead of a record), but a key no store holds is most often a typo.
  const recordKeys = added.filter((key) => tryParseKey(key) !== null);
  const held = recordKeys.length === 0 ? new Map() : await currentRecords(ctx, recordKeys);
  const notFound = recordKeys.filter((key) => !held.has(key));
  const p = ctx.out.paint;
  ctx.out.result({ file, excluded: keys, added, notFound, ...(phase !== undefined && { phase }) }, () => [
    p.green(`✔ recorded in ${file}: ${added.length > 0 ? `excluded ${added.join(', ')}` : 'already excluded'}`),
    ...(notFound.length > 0
      ? [p.yellow(`neither LevelDB nor the deployments folder holds ${notFound.join(', ')}: check the spelling (\`deploystate analyze\` lists keys)`)]
      : []),
    `commit it, so every clone and CI make the same decision; ${whatExclusionDoes(phase)}`,
  ]);
}

/**
 * What the exclusion does from here: only `migrate` records it for the migration (verify, cutover
 * and rollback read it from there), and `migrate` runs in dual-write alone.
 */
function whatExclusionDoes(phase: MigrationPhase | undefined): string {
  const fromMigrate =
    '`deploystate migrate` does not copy these keys to JSON (a value JSON holds already is kept), and verify, cutover and rollback leave them out from then on';
  switch (phase) {
    case 'dual-write':
      return fromMigrate;
    case 'json-primary':
      return '`deploystate migrate` cannot run in json-primary, so this migration keeps these keys in JSON and still checks them: `deploystate cutover` asks you to acknowledge any findings they have (--acknowledge <key>); the exclusion applies from the copy of a migration started after a rollback';
    case 'json-only':
    case 'rolling-back':
      return `\`deploystate migrate\` cannot run in ${phase}, so this migration keeps these keys (a rollback carries them back to LevelDB); the exclusion applies from the copy of a migration started after a rollback`;
    default:
      return `after \`deploystate dual-write enable\`, ${fromMigrate}`;
  }
}

/** The migration's phase; undefined when its state cannot be read (the exclusion is recorded all the same). */
async function currentPhase(ctx: Context): Promise<MigrationPhase | undefined> {
  const { readState, resolvePaths, stateFiles } = await import('@deploystate/migrator');
  try {
    return (await readState(stateFiles(resolvePaths(ctx.migrationOptions())))).phase;
  } catch {
    return undefined;
  }
}

/** The keys the last analysis listed as unmigratable (none when it has not run or cannot be read). */
async function unmigratableListed(ctx: Context): Promise<string[]> {
  const { resolvePaths, stateFiles } = await import('@deploystate/migrator');
  try {
    const analysis = JSON.parse(await readFile(stateFiles(resolvePaths(ctx.migrationOptions())).analysis, 'utf8')) as { unmigratable?: unknown };
    return Array.isArray(analysis.unmigratable) ? analysis.unmigratable.map(String) : [];
  } catch {
    return [];
  }
}
