// `deploystate exclude <keys...>`: records keys the migration leaves behind (dev-chain junk that
// `analyze` proposes) in the config's "exclude"; `migrate` honours them, on every clone.
import { compareKeys, ErrorCodes, parseKey, StateError } from '@deploystate/core';
import type { Context } from '../context.js';
import { updateConfig } from '../decisions.js';

export async function run(ctx: Context, args: unknown[]): Promise<void> {
  const keys = (args.flat() as unknown[]).map(String).filter((k) => k !== '');
  if (keys.length === 0) throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'name at least one record key', { hint: 'deploystate exclude 31337-TestToken' });
  for (const key of keys) parseKey(key);
  let added: string[] = [];
  const file = await updateConfig(ctx, (config) => {
    const before = Array.isArray(config.exclude) ? (config.exclude as unknown[]).map(String) : [];
    added = keys.filter((k) => !before.includes(k));
    config.exclude = [...new Set([...before, ...keys])].sort(compareKeys);
  });
  const p = ctx.out.paint;
  ctx.out.result({ file, excluded: keys, added }, () => [
    p.green(`✔ recorded in ${file}: ${added.length > 0 ? `excluded ${added.join(', ')}` : 'already excluded'}`),
    'commit it, so every clone and CI make the same decision; `deploystate migrate` leaves these keys in LevelDB only',
  ]);
}
