// `deploystate acknowledge <key> <code>`: accepts one finding on one record as it is now, recorded
// in the config's "acknowledge" with the state file, the key, the code and the record's digest: a
// new or changed record raises the finding again. Cut-over, validate, the drills and the
// pre-commit check honour it.
import { acknowledge, describeAcknowledgement, ErrorCodes, FindingCodes, parseKey, StateError, type FindingCode } from '@deploystate/core';
import type { Context } from '../context.js';
import { updateConfig } from '../decisions.js';
import { currentRecords } from '../read-only.js';

export async function run(ctx: Context, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [key, code] = args.map(String);
  if (key === undefined || code === undefined) throw new StateError(ErrorCodes.INVALID_ARGUMENT, 'usage: deploystate acknowledge <key> <code>');
  parseKey(key);
  if (!(code in FindingCodes))
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${code} is not a finding code`, { hint: 'copy the code from `deploystate analyze` or `deploystate validate`' });
  const record = (await currentRecords(ctx, [key])).get(key);
  if (!record)
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `no record ${key} in ${ctx.paths.deployments} or ${ctx.paths.leveldb}`, {
      key,
      hint: 'copy the key from the finding in `deploystate analyze` or `deploystate validate` (<chainId>-<contractName>)',
    });
  const { chainId } = parseKey(key);
  const file = ctx.registry().fileName(chainId);
  const ack = acknowledge({ key, code: code as FindingCode }, file, record, options.note === undefined ? undefined : String(options.note));
  const configFile = await updateConfig(ctx, (config) => {
    const list = Array.isArray(config.acknowledge) ? (config.acknowledge as Array<Record<string, unknown>>) : [];
    // One entry per file, key and code: acknowledging again after a change replaces the digest.
    const kept = list.filter((a) => !(a.file === ack.file && a.key === ack.key && a.code === ack.code));
    config.acknowledge = [...kept, ack];
  });
  const p = ctx.out.paint;
  ctx.out.result({ file: configFile, acknowledgement: ack }, () => [
    p.green(`✔ recorded in ${configFile}: ${describeAcknowledgement(ack)}`),
    'commit it; a new or changed record raises the finding again',
  ]);
}
