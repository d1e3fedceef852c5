// A write whose lock file cannot be made (a read-only or immutable locks folder) is refused naming
// the network file it was for, the one its user knows; before, the error named only the lock file.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rec, refusingEntries, storePerTest } from './helpers.js';

const setup = storePerTest();

describe('a lock file that cannot be made', () => {
  it('refuses the put naming the network file, with the lock file in the message, and writes nothing', async () => {
    const { dir, store } = await setup();
    await store.put(rec(56, 'Kept'));
    const locks = join(dir, '.deploystate', 'locks');
    await mkdir(locks, { recursive: true });
    const error = await refusingEntries(locks, () => store.put(rec(97, 'Refused')).then(() => undefined, (e: unknown) => e));
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED', file: join(dir, 'bsctestnet.json'), message: expect.stringContaining(join(locks, 'bsctestnet.json.lock')) });
    expect(await store.get(97, 'Refused')).toBeNull();
    expect(await store.get(56, 'Kept')).not.toBeNull();
  });
});
